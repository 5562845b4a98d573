"""The HTTP API: FastAPI app, routers, auth and error mapping."""
