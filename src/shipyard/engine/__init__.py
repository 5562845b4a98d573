"""The engine, Temporal only: one workflow that interprets a definition, its activities and
steps, the worker, the embedded Temporal dev server and gc."""
