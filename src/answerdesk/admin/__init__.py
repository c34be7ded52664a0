"""Server-rendered admin panel (Jinja2 + htmx) calling the same services as the API."""
