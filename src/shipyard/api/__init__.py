"""The HTTP API: FastAPI app, routers, auth and error mapping. Thin: a route validates, calls the
application layer (`service/`) and shapes the answer."""
