"""The read model: projects, work orders, steps, events and local pull requests in SQLite or
PostgreSQL.

Temporal is the source of truth for execution; activities write here so the API, CLI and
dashboard can list, filter and tail. `Store.open(url)` migrates the database to head first. Work
orders and steps come back as the domain's `WorkOrder` and `Step`; `WorkOrderChange` and
`StepChange` are what is written to them.
`vault` encrypts project secrets at rest. Imports only `domain`.
"""

from shipyard.store.migrate import current_revision, head_revision, upgrade
from shipyard.store.records import EventRecord, NewEvent, ProjectRecord, PullRequestRecord
from shipyard.store.store import Store

__all__ = [
    "EventRecord",
    "NewEvent",
    "ProjectRecord",
    "PullRequestRecord",
    "Store",
    "current_revision",
    "head_revision",
    "upgrade",
]
