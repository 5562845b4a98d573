"""Outbound `repository_dispatch` (seed 002 §9.1): each dispatch carries an idempotency key, a
UUIDv7 `dispatch_id` put in its `client_payload`, and is sent at most once per key."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from shipyard.domain.errors import InvalidInput
from shipyard.domain.ids import new_dispatch_id
from shipyard.domain.models import RequestModel
from shipyard.engine.actions_step import send_once
from shipyard.engine.sink import sink_for
from shipyard.forge.registry import NO_TOKEN, hosted_forge_for
from shipyard.service.work_orders import WorkOrderService
from shipyard.store.records import DispatchRecord


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
