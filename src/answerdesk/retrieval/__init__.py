"""Query side of the knowledge base: vector and keyword indexes, fusion, retriever."""
