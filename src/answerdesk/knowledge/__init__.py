"""Knowledge base: turning uploaded documents into searchable chunks."""
