"""The application layer: what every front door (API, dashboard, CLI) and every product calls.

- `work_orders`: create, read and steer work orders (`WorkOrderService`; its reads in `reads`);
- `events`: the event log as live streams follow it (`EventFeed`);
- `intake`: webhook deliveries (stored, listed, processed) → work orders, ChatOps replies;
- `projects`: projects, their trigger sources and secrets (`ProjectService`);
- `deliveries`: their processing where workers run, durably (claimed from the store under a lease);
- `dispatch`: outbound `repository_dispatch`;
- `schedules`, `schedule_sync`, `firings`: `on: schedule` sources on Temporal Schedules (listed,
  paused, fired now; kept in step with the sources; each firing → a work order).

It talks to the core: the engine (a Temporal client), forges, triggers, the store, workflows.
"""
