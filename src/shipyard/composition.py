"""The composition root: what the layers above the engine add to a worker. The engine knows
nothing of them; the front doors that start a worker (`serve`, `worker`, an embedded `run`) pass
`worker_parts` to `open_engine`. Products add their workflows and activities here."""

from __future__ import annotations

from temporalio.client import Client

from shipyard.config import Settings
from shipyard.engine.worker import WorkerParts
from shipyard.service.deliveries import DeliveryActivities, DeliveryWorkflow
from shipyard.service.firings import ScheduleActivities, ScheduledWorkOrderWorkflow
from shipyard.service.work_orders import WorkOrderService
from shipyard.store.store import Store


def worker_parts(settings: Settings, store: Store, client: Client) -> WorkerParts:
    """Webhook processing (service/deliveries.py) and schedules' firings (service/firings.py)."""
    service = WorkOrderService(settings, store, client)
    firings = ScheduleActivities(service)
    return WorkerParts(
        workflows=[DeliveryWorkflow, ScheduledWorkOrderWorkflow],
        activities=[DeliveryActivities(service).process, firings.start_work_order, firings.work_order_ended],
    )
