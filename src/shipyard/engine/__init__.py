"""The engine, Temporal only: `WorkOrderWorkflow` interpreting a resolved definition
(`workflows`), its activities (`activities`, `steps`, `publish`: pushes, pull requests and the
issue thread), their payloads (`types`), events (`sink`), budgets (`guard`), the worker and
`open_engine` (`worker`), the embedded Temporal dev server (`devserver`) and `gc`.

It imports the core below it (sandboxes, agents, forge, store, workflows, gitutil, domain), never
the application layer or a product: those add their workflows and activities to a worker through
the composition root (`shipyard/composition.py`)."""
