"""Webhook deliveries processed durably, where work runs: the receiver stores a delivery and starts
a `WebhookDelivery` workflow whose id is the delivery's, then answers; a worker's activity does the
processing (matching sources, fetching, starting work orders, replying) through `Intake`.

A delivery whose processing was cut short (a worker killed mid-way) is taken up again by
Temporal's retry; the work orders it starts have ids derived from the delivery, so none starts twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from datetime import timedelta

import structlog
from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from shipyard.domain.errors import ShipyardError
from shipyard.store.records import DeliverySummary

with workflow.unsafe.imports_passed_through():
    from shipyard.service.intake import Intake
    from shipyard.service.work_orders import WorkOrderService

log = structlog.get_logger()
PROCESS_TIMEOUT = timedelta(minutes=15)
LOST_WORKER_ATTEMPTS = 5


class ProcessDeliveryInput(BaseModel):
    """A stored delivery to act on: its row id only (a payload may be 25 MB: it stays in the store)."""

    delivery_id: int
    heartbeat_timeout_s: float


def workflow_id(delivery: DeliverySummary) -> str:
    """One per stored delivery, and unlike its row id unique beyond this database (Shipyards and
    test runs may share a Temporal namespace): the row id, then a digest of where it came from,
    its own id and when it was stored."""
    origin = "\x00".join(
        (delivery.source, delivery.hook_id, delivery.delivery_id, delivery.received_at.isoformat())
    )
    return f"delivery-{delivery.id}-{hashlib.sha256(origin.encode()).hexdigest()[:12]}"


async def start_processing(service: WorkOrderService, delivery: DeliverySummary) -> bool:
    """Start processing a stored delivery; False when it cannot start now (no engine here, or
    Temporal unreachable): it stays `received` and is taken up when a server starts."""
    if service.client is None:
        return False
    heartbeat_timeout_s = service.settings.heartbeat_timeout_s
    inp = ProcessDeliveryInput(delivery_id=delivery.id, heartbeat_timeout_s=heartbeat_timeout_s)
    try:
        await service.client.start_workflow(
            DeliveryWorkflow.run,
            inp,
            id=workflow_id(delivery),
            task_queue=service.settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        pass  # another server (or an earlier start) has it
    except RPCError as err:
        log.warning("webhook_processing_not_started", delivery=delivery.delivery_id, error=str(err))
        return False
    return True


async def resume_received(service: WorkOrderService) -> int:
    """Start processing deliveries stored but never started (the server stopped in between); how
    many were started. One whose processing had started is Temporal's to finish."""
    pending = await service.store.list_deliveries(status="received", limit=500)
    started = 0
    for delivery in reversed(pending):  # oldest first
        started += await start_processing(service, delivery)
    return started


@workflow.defn(name="WebhookDelivery")
class DeliveryWorkflow:
    """One activity, retried when the worker running it is lost."""

    @workflow.run
    async def run(self, inp: ProcessDeliveryInput) -> None:
        await workflow.execute_activity(
            "process_delivery",
            inp,
            start_to_close_timeout=PROCESS_TIMEOUT,
            heartbeat_timeout=timedelta(seconds=inp.heartbeat_timeout_s),
            retry_policy=RetryPolicy(maximum_attempts=LOST_WORKER_ATTEMPTS),
        )


class DeliveryActivities:
    """The activity that acts on a delivery, with the service it starts work orders through."""

    def __init__(self, service: WorkOrderService) -> None:
        self.service = service

    @activity.defn(name="process_delivery")
    async def process(self, inp: ProcessDeliveryInput) -> None:
        """Act on the delivery and record the outcome on it. Failures are recorded, not raised:
        a retry is for a lost worker, not for a delivery that cannot be acted on."""
        store = self.service.store
        delivery = await store.claim_delivery(inp.delivery_id)
        if delivery is None:
            return  # finished before this attempt (the worker was lost after recording it)
        beat = asyncio.create_task(_heartbeat(inp.heartbeat_timeout_s / 3))
        try:
            status, result = await Intake(self.service).handle(delivery)
        except ShipyardError as err:  # GitHub refused a call, say: the message says why
            status, result = "failed", {"error": err.message}
        except Exception as err:
            log.exception("webhook_processing_failed", delivery=delivery.delivery_id)
            status, result = "failed", {"error": type(err).__name__}
        finally:
            beat.cancel()
        await store.finish_delivery(delivery.id, status, result)


async def _heartbeat(every_s: float) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        while True:
            activity.heartbeat()
            await asyncio.sleep(every_s)
