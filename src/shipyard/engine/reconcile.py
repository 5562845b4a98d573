"""Work orders the store still shows unfinished although their workflow ended: the store could not
be written when it ended (a full disk, say). Each is given the end its workflow reached, with the
real cause, as soon as the store can be written; gc's sweep calls this before reclaiming sandboxes."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from shipyard.domain.errors import Conflict
from shipyard.domain.models import WorkOrderStatus
from shipyard.domain.work_orders import WorkOrder, WorkOrderChange
from shipyard.engine.types import WorkOrderOutcome
from shipyard.engine.workflows import UNRECORDED_END
from shipyard.store.records import NewEvent
from shipyard.store.store import Store

log = structlog.get_logger()
UNFINISHED = (WorkOrderStatus.PENDING, WorkOrderStatus.RUNNING, WorkOrderStatus.PAUSED)
EVERY_S = 60.0  # how soon an end the store missed is recorded (gc's own interval when shorter)
_PAGE = 500


@dataclass
class Ending:
    status: WorkOrderStatus
    error: str | None


async def reconcile(store: Store, client: Client, dry_run: bool = False) -> list[str]:
    """Record how each unfinished work order's ended workflow ended; the ids so marked."""
    marked: list[str] = []
    for status in UNFINISHED:
        work_orders, _ = await store.list_work_orders(status=status, limit=_PAGE)
        for wo in work_orders:
            ending = await workflow_ending(client, wo.id)
            if ending is None:
                continue
            marked.append(wo.id)
            if not dry_run:
                await _record(store, wo, ending)
    return marked


async def workflow_ending(client: Client, work_order_id: str) -> Ending | None:
    """How the work order's workflow ended, from Temporal; None while it runs, when Temporal does
    not know it (gc's sandbox pass judges those), or ended in a way gc already reports (terminated)."""
    handle = client.get_workflow_handle(work_order_id, result_type=WorkOrderOutcome)
    try:
        described = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    if described.status == WorkflowExecutionStatus.COMPLETED:
        outcome: WorkOrderOutcome = await handle.result()
        return Ending(outcome.status, outcome.error)
    if described.status == WorkflowExecutionStatus.CANCELED:
        return Ending(WorkOrderStatus.CANCELLED, "cancelled")
    if described.status != WorkflowExecutionStatus.FAILED:
        return None
    try:
        await handle.result()
    except WorkflowFailureError as err:
        return failed_ending(err.cause)
    return None


def failed_ending(cause: BaseException) -> Ending:
    """A failed workflow's end: the one it meant to record (workflows.unrecorded_end), else its failure."""
    if isinstance(cause, ApplicationError) and cause.type == UNRECORDED_END and len(cause.details) >= 3:
        status, error, why = (str(d) if d is not None else None for d in cause.details[:3])
        if status == WorkOrderStatus.CANCELLED.value:
            return Ending(WorkOrderStatus.CANCELLED, error)
        if status == WorkOrderStatus.FAILED.value and error:
            return Ending(WorkOrderStatus.FAILED, error)
        return Ending(WorkOrderStatus.FAILED, f"the work order's end could not be recorded: {why}")
    message = cause.message if isinstance(cause, ApplicationError) else str(cause)
    return Ending(WorkOrderStatus.FAILED, message)


async def _record(store: Store, wo: WorkOrder, ending: Ending) -> None:
    change = WorkOrderChange(
        status=ending.status, error_message=ending.error, execution_completed_at=datetime.now(UTC)
    )
    if (await store.get_work_order(wo.id)).status.is_terminal:
        return  # its finish got through meanwhile
    level = "error" if ending.status == WorkOrderStatus.FAILED else "warning"
    said = NewEvent(f"workflow.{ending.status.value}", {"error": ending.error, "recorded_by": "gc"}, level)
    with contextlib.suppress(Conflict):  # it finished meanwhile
        await store.update_work_order_saying(wo.id, change, said)
        log.warning("work_order_reconciled", work_order_id=wo.id, status=ending.status.value)


async def reconcile_forever(store: Store, client: Client, interval_s: float) -> None:
    """Reconcile every `interval_s` until cancelled; failures (a store still full) are logged, not raised."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await reconcile(store, client)
        except Exception as err:  # the next round tries again
            log.warning("reconcile_failed", error=f"{type(err).__name__}: {err}")
