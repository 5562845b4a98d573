"""Outbound `repository_dispatch` (seed 002 §9.1): each dispatch carries an idempotency key, a
UUIDv7 `dispatch_id` put in its `client_payload`, and is sent at most once per key."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from shipyard.config import Settings
from shipyard.domain.errors import InvalidInput, NotFound
from shipyard.domain.ids import new_dispatch_id
from shipyard.domain.models import RequestModel
from shipyard.domain.work_orders import WorkOrder
from shipyard.engine.actions_step import run_id_of, send_once
from shipyard.engine.sink import sink_for
from shipyard.forge.registry import NO_TOKEN, hosted_forge_for
from shipyard.service.work_orders import WorkOrderService
from shipyard.store.records import FINAL_STATES, DispatchRecord
from shipyard.store.store import Store


class DispatchRequest(RequestModel):
    repository: str  # owner/name or a GitHub URL
    event_type: str
    client_payload: dict[str, Any] = Field(default_factory=dict)
    work_order_id: str | None = None  # the work order the dispatch belongs to (gets an event)
    dispatch_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._:-]{1,100}$")  # the idempotency key


async def send_dispatch(service: WorkOrderService, req: DispatchRequest) -> tuple[DispatchRecord, bool]:
    """Send the dispatch unless one with its id was sent before; (the record, whether it was).
    Without a `dispatch_id` a new UUIDv7 is used; a failed one may be sent again with its id."""
    forge = hosted_forge_for(service.settings, req.repository)
    if forge is None:
        raise InvalidInput(f"'{req.repository}' does not name a GitHub repository (owner/name)")
    dispatch_id = req.dispatch_id or new_dispatch_id()
    forge.check_dispatch(req.event_type, {**req.client_payload, "dispatch_id": dispatch_id})
    wo = None if req.work_order_id is None else await service.store.get_work_order(req.work_order_id)
    if await forge.git_token() is None:
        raise InvalidInput(NO_TOKEN)
    events = None if wo is None else sink_for(service.settings, service.store, wo)
    return await send_once(service.store, forge, req.event_type, req.client_payload, dispatch_id, wo, events)


REPORT_STATES = ("QUEUED", "IN_PROGRESS", *FINAL_STATES)  # of an `orchestrator.status` report
ACTIONS_EVENT = "actions.status"  # a report, as the work order whose dispatch it answers hears it


async def hear_report(
    settings: Settings,
    store: Store,
    dispatch_id: str,
    report: dict[str, Any],
    run_id: str | None = None,
    repository: str | None = None,
) -> tuple[WorkOrder | None, bool]:
    """The work order whose `actions` step sent dispatch `dispatch_id` hears `report` (kept on the
    dispatch once per state, an `actions.status` event; the step reads it there); (that work order,
    whether the report was new), (None, False) when no work order sent the dispatch (to
    `repository`, when given: a webhook's). InvalidInput when `run_id` is neither that work order
    nor the idea run it belongs to."""
    try:
        dispatch = await store.get_dispatch(dispatch_id)
    except NotFound:
        return None, False
    elsewhere = repository is not None and repository.lower() != dispatch.repository.lower()
    if dispatch.work_order_id is None or elsewhere:
        return None, False
    wo = await store.get_work_order(dispatch.work_order_id)
    if run_id is not None and run_id not in (wo.id, run_id_of(wo)):
        raise InvalidInput(f"dispatch '{dispatch_id}' was sent by work order {wo.id}, not by '{run_id}'")
    _, new = await store.add_dispatch_report(dispatch_id, report)
    if new:
        await sink_for(settings, store, wo).emit(ACTIONS_EVENT, report)
    return wo, new
