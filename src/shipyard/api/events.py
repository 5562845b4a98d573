"""Server-sent events: a work order's events, or everyone's, live, resumable by event id."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from shipyard.api.deps import ServiceDep, WorkOrderDep
from shipyard.api.hub import POLL_S, EventHub
from shipyard.domain.errors import InvalidInput
from shipyard.domain.jsontext import MAX_SQL_INT
from shipyard.store.records import EventRecord

router = APIRouter(prefix="/api", tags=["events"])

TERMINAL_EVENTS = frozenset({"workflow.completed", "workflow.failed", "workflow.cancelled"})


async def get_hub(request: Request) -> EventHub:
    hub: EventHub = request.app.state.hub
    return hub


HubDep = Annotated[EventHub, Depends(get_hub)]


def frame(event: EventRecord) -> str:
    return f"id: {event.id}\nevent: {event.type}\ndata: {event.model_dump_json()}\n\n"


def json_frames(batch: list[EventRecord], ended: bool) -> str:
    """Each event as a frame named by its type, its JSON the data."""
    return "".join(frame(event) for event in batch)


# Turns a batch of events into SSE frames; `ended` is set on the batch holding the terminal event.
Render = Callable[[list[EventRecord], bool], str]


def _until_end(batch: list[EventRecord]) -> tuple[list[EventRecord], bool]:
    """The batch up to and including a terminal event, and whether there was one."""
    for n, event in enumerate(batch):
        if event.type in TERMINAL_EVENTS:
            return batch[: n + 1], True
    return batch, False


async def stream(
    hub: EventHub,
    after_id: int | None,
    work_order_id: str | None,
    heartbeat_s: float,
    render: Render = json_frames,
) -> AsyncIterator[str]:
    """Frames as events arrive and a `: ping` comment when idle; a work order's stream ends
    after its terminal event."""
    last_sent = time.monotonic()
    idle_after_end = 0
    follow = hub.follow(after_id, work_order_id, idle_s=min(POLL_S, heartbeat_s))
    async with contextlib.aclosing(follow) as batches:
        async for batch in batches:
            shown, ended = _until_end(batch) if work_order_id else (batch, False)
            frames = render(shown, ended) if shown else ""
            if frames:
                yield frames
            if ended:
                return
            now = time.monotonic()
            if frames:
                last_sent, idle_after_end = now, 0
                continue
            if work_order_id and await hub.has_ended(work_order_id):
                idle_after_end += 1  # its terminal event was before the cursor (a resumed client)
                if idle_after_end > 1:
                    return
            if now - last_sent >= heartbeat_s:
                yield ": ping\n\n"
                last_sent = now


def resume_point(after: int | None, last_event_id: str | None) -> int | None:
    """`?after=` wins over the `Last-Event-ID` header; both name the last event the client has."""
    if after is not None:
        return after
    if last_event_id is None or not last_event_id.strip():
        return None
    try:
        event_id = int(last_event_id)
    except ValueError:
        event_id = -1
    if not 0 <= event_id <= MAX_SQL_INT:
        raise InvalidInput(f"Last-Event-ID must be an event id (an integer), got '{last_event_id[:40]}'")
    return event_id


def sse_response(body: AsyncIterator[str]) -> StreamingResponse:
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)


AfterQuery = Annotated[int | None, Query(ge=0, le=MAX_SQL_INT, description="Resume after this event id.")]
LastEventId = Annotated[str | None, Header(alias="Last-Event-ID")]


@router.get("/agent-work-orders/{work_order_id}/events")
async def work_order_events(
    wo: WorkOrderDep,
    service: ServiceDep,
    hub: HubDep,
    after: AfterQuery = None,
    last_event_id: LastEventId = None,
) -> StreamingResponse:
    """The work order's events from the start (or after the id given); ends after its last one."""
    start = resume_point(after, last_event_id) or 0
    return sse_response(stream(hub, start, wo.id, service.settings.sse_heartbeat_s))


@router.get("/events")
async def all_events(
    service: ServiceDep, hub: HubDep, after: AfterQuery = None, last_event_id: LastEventId = None
) -> StreamingResponse:
    """Every work order's events as they happen (after the id given, else from now on)."""
    start = resume_point(after, last_event_id)
    return sse_response(stream(hub, start, None, service.settings.sse_heartbeat_s))
