"""The `actions` step: its work runs in the repository's own GitHub Actions (seed 002 §5, §9).

A `repository_dispatch` goes out with `{runId, nodeId, repo, branch, params, dispatch_id}`; the
workflows `shipyard actions init` writes report back to `POST /api/runs/:runId/status` with that
`dispatch_id`, and the reports are kept on the dispatch's row. The step waits, reading that row,
for the report that ends the work (SUCCEEDED, FAILED or CANCELLED) or for its timeout.

The dispatch id is the idempotency key: the same for every attempt of one run of the work order
(a worker lost mid-wait finds its dispatch sent and waits on), a new one when the work order is
retried (the work is asked for again).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from shipyard.domain.errors import ForgeError, InvalidInput
from shipyard.domain.events import EventSink
from shipyard.domain.models import StepStatus
from shipyard.domain.work_orders import WorkOrder
from shipyard.engine.steps import StepRun, failed, template_context
from shipyard.engine.types import RunStepInput, StepOutput
from shipyard.forge.base import Forge
from shipyard.store.records import DispatchRecord
from shipyard.store.store import Store
from shipyard.store.tables import utc_now
from shipyard.workflows.templating import render

POLL_S = 1.0  # how often a waiting step reads its dispatch's reports
_KEYS = uuid.UUID("6f1d2c1e-5b7a-4c0e-9a52-3c1f0e7b8d21")  # the namespace of the steps' dispatch ids


def dispatch_id(inp: RunStepInput, workflow_run_id: str) -> str:
    """The step's idempotency key in this run of its work order's workflow."""
    return str(uuid.uuid5(_KEYS, f"{inp.work_order_id}/{inp.row_id}/{workflow_run_id}"))


def run_id_of(wo: WorkOrder) -> str:
    """The `runId` the dispatch carries: the idea run a work order belongs to, else the work order."""
    trigger = wo.trigger or {}
    run = trigger.get("run")
    return run if trigger.get("source") == "idea" and isinstance(run, str) else wo.id


async def send_once(
    store: Store,
    forge: Forge,
    event_type: str,
    payload: dict[str, Any],
    key: str,
    wo: WorkOrder | None,
    events: EventSink | None,
) -> tuple[DispatchRecord, bool]:
    """Send the dispatch unless one with id `key` was sent before; (its record, whether it was).
    One that failed to send is sent again. `events` hears of a dispatch sent for a work order."""
    payload = {**payload, "dispatch_id": key}
    forge.check_dispatch(event_type, payload)
    owner = wo.id if wo else None
    record, seen = await store.begin_dispatch(key, forge.repository, event_type, payload, owner)
    if seen and record.status == "sent":
        return record, True
    try:
        await forge.dispatch(event_type, payload)
    except ForgeError as err:
        await store.finish_dispatch(key, err.message)
        raise
    record = await store.finish_dispatch(key, None)
    if events is not None:
        data = {"dispatch_id": key, "repository": forge.repository, "event_type": event_type}
        await events.emit("github.dispatched", data)
    return record, False


async def run_in_actions(
    inp: RunStepInput, wo: WorkOrder, forge: Forge, store: Store, events: EventSink, workflow_run_id: str
) -> StepRun:
    """Dispatch the step's work (once) and wait for the report that ends it."""
    spec = inp.step.actions
    assert spec is not None
    if wo.forge != "github":
        raise InvalidInput(
            f"step '{inp.step.id}' runs in GitHub Actions: its work order needs the github forge,"
            f" not '{wo.forge}'"
        )
    context = template_context(inp)
    event_type = render(spec.event_type, context).strip()
    params = {k: render(v, context) if isinstance(v, str) else v for k, v in spec.params.items()}
    payload = {
        "runId": run_id_of(wo), "nodeId": render(spec.node_id, context).strip(), "repo": forge.repository,
        "branch": inp.handle.branch, "params": params, "work_order_id": wo.id,
    }  # fmt: skip
    key = dispatch_id(inp, workflow_run_id)
    record, _ = await send_once(store, forge, event_type, payload, key, wo, events)
    deadline = record.created_at + timedelta(seconds=inp.step_timeout_s)  # across attempts
    while (report := record.final_report) is None:
        if utc_now() >= deadline:
            return failed(
                f"GitHub Actions did not report the end of {event_type} (dispatch {key}) "
                f"within {inp.step_timeout_s:g} s",
                retryable=False, error_type="timeout",
            )  # fmt: skip
        await asyncio.sleep(POLL_S)
        record = await store.get_dispatch(key)
    state = report.get("state")
    data = {"dispatch_id": key, "event_type": event_type, **report}
    said = f"{event_type}: {report.get('phase') or 'work'} {state}"
    if state == "SUCCEEDED":
        return StepRun(StepOutput(status=StepStatus.COMPLETED, output=said, output_data=data))
    return failed(f"GitHub Actions reported {said} (dispatch {key})", retryable=False, output_data=data)
