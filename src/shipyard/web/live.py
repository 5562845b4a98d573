"""Live parts of the dashboard over server-sent events, for htmx's SSE extension: log lines as
HTML to append, and `changed` / `commit` / `end` signals that make parts of a page refresh."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from shipyard.api.events import HubDep, sse_response, stream
from shipyard.domain.jsontext import MAX_SQL_INT
from shipyard.store.records import EventRecord
from shipyard.web import views
from shipyard.web.render import Service, templates

router = APIRouter(tags=["dashboard"], include_in_schema=False)


def _frame(name: str, data: str = "", event_id: int | None = None) -> str:
    lines = "".join(f"data: {line}\n" for line in (data.splitlines() or [""]))
    return (f"id: {event_id}\n" if event_id is not None else "") + f"event: {name}\n{lines}\n"


def _log_items(batch: list[EventRecord]) -> str:
    lines = [views.log_line(event) for event in batch]
    return templates.get_template("_log_items.html").render(lines=lines)


def detail_frames(batch: list[EventRecord], ended: bool) -> str:
    """The batch's log lines, then what they changed; `end` after the last event."""
    frames = [_frame("log", _log_items(batch), batch[-1].id)]
    if any(views.is_state_event(event.type) for event in batch):
        frames.append(_frame("changed"))
    if any(event.type in views.COMMIT_EVENTS for event in batch):
        frames.append(_frame("commit"))
    if ended:
        frames.append(_frame("end"))
    return "".join(frames)


def list_frames(batch: list[EventRecord], ended: bool) -> str:
    """`changed` when a work order's status, steps or commits moved (log lines do not count)."""
    changed = [event for event in batch if views.is_state_event(event.type)]
    return _frame("changed", event_id=changed[-1].id) if changed else ""


@router.get("/work-orders/{work_order_id}/live")
async def work_order_live(
    request: Request,
    work_order_id: str,
    service: Service,
    hub: HubDep,
    after: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """A work order's events after `after` (or the reconnecting browser's Last-Event-ID)."""
    wo = await service.get(work_order_id)
    resumed = last_event_id or ""
    # A browser sends back an id we gave it; anything else (digits beyond an event id) is ignored.
    known = resumed.isascii() and resumed.isdigit() and int(resumed) <= MAX_SQL_INT
    start = max(after, int(resumed) if known else 0)
    heartbeat_s = service.settings.sse_heartbeat_s
    return sse_response(stream(hub, start, wo.id, heartbeat_s, render=detail_frames))


@router.get("/live")
async def all_live(service: Service, hub: HubDep) -> StreamingResponse:
    """`changed` whenever any work order moves on, for the list to refresh itself."""
    return sse_response(stream(hub, None, None, service.settings.sse_heartbeat_s, render=list_frames))
