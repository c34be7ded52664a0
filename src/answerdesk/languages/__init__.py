"""Languages: what language a customer or a document writes in, language names, and our texts in each."""
