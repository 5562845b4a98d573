"""The engine: one Temporal workflow that interprets a definition, its activities, the worker,
the client and the embedded Temporal dev server."""
