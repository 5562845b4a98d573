"""The dashboard: server-rendered pages (Jinja2) made live with htmx and its SSE extension, served
by `shipyard serve` at `/`. It reads and acts through the same services as the API; nothing in it
needs Node to build or run."""
