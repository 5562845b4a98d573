"""The application layer: what every front door (API, dashboard, CLI) and every product calls.

- `work_orders`: create, read and steer work orders (`WorkOrderService`);
- `intake`: webhook deliveries → work orders, ChatOps replies;
- `projects`: projects and their trigger sources;
- `dispatch`: outbound `repository_dispatch`.

It talks to the core: the engine (a Temporal client), forges, triggers, the store, workflows.
"""
