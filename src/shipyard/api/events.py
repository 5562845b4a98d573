"""Server-sent events: a work order's events, or everyone's, live, resumable by event id."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from shipyard.api.deps import ServiceDep, WorkOrderDep
from shipyard.domain.errors import InvalidInput
from shipyard.store.records import EventRecord
from shipyard.store.store import Store

router = APIRouter(prefix="/api", tags=["events"])

TERMINAL_EVENTS = frozenset({"workflow.completed", "workflow.failed", "workflow.cancelled"})
POLL_S = 1.0  # how soon events written by other processes are found
GAP_WAIT_S = 2.0  # how long the global stream waits for a lower id that may still commit


def frame(event: EventRecord) -> str:
    return f"id: {event.id}\nevent: {event.type}\ndata: {event.model_dump_json()}\n\n"


class Tail:
    """Follows the event log after a cursor.

    A work order's own appends commit in id order (the store locks its row), so its stream can
    take every row it sees. Across work orders, PostgreSQL may commit a lower id after a higher
    one; the global stream therefore stops at a gap and passes it only after GAP_WAIT_S (a gap
    that stays is an id whose insert rolled back).
    """

    def __init__(self, store: Store, after_id: int, work_order_id: str | None = None) -> None:
        self.store, self.cursor, self.work_order_id = store, after_id, work_order_id
        self._gap_since: float | None = None

    async def next_batch(self) -> list[EventRecord]:
        rows = await self.store.tail_events(self.cursor, work_order_id=self.work_order_id)
        batch = rows if self.work_order_id is not None else self._contiguous(rows)
        if batch:
            self.cursor = batch[-1].id
        return batch

    def _contiguous(self, rows: list[EventRecord]) -> list[EventRecord]:
        taken: list[EventRecord] = []
        expected = self.cursor + 1
        for row in rows:
            if row.id != expected:
                self._gap_since = self._gap_since or time.monotonic()
                if time.monotonic() - self._gap_since < GAP_WAIT_S:
                    break
            self._gap_since = None
            taken.append(row)
            expected = row.id + 1
        return taken


async def stream(tail: Tail, heartbeat_s: float, closes_on_terminal: bool) -> AsyncIterator[str]:
    """Frames as events arrive, a `: ping` comment when idle, the end after a terminal event."""
    last_sent = time.monotonic()
    idle_after_end = 0
    while True:
        batch = await tail.next_batch()
        for event in batch:
            yield frame(event)
            if closes_on_terminal and event.type in TERMINAL_EVENTS:
                return
        now = time.monotonic()
        if batch:
            last_sent, idle_after_end = now, 0
            continue
        if closes_on_terminal and tail.work_order_id and await _finished(tail.store, tail.work_order_id):
            idle_after_end += 1  # its terminal event was before the cursor (a resumed client)
            if idle_after_end > 1:
                return
        if now - last_sent >= heartbeat_s:
            yield ": ping\n\n"
            last_sent = now
        await tail.store.wait_for_events(min(POLL_S, heartbeat_s))


async def _finished(store: Store, work_order_id: str) -> bool:
    return (await store.get_work_order(work_order_id)).status.is_terminal


def resume_point(after: int | None, last_event_id: str | None) -> int | None:
    """`?after=` wins over the `Last-Event-ID` header; both name the last event the client has."""
    if after is not None:
        return after
    if last_event_id is None or not last_event_id.strip():
        return None
    try:
        return int(last_event_id)
    except ValueError:
        raise InvalidInput(f"Last-Event-ID must be an event id (an integer), got '{last_event_id}'") from None


def sse_response(body: AsyncIterator[str]) -> StreamingResponse:
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)


AfterQuery = Annotated[int | None, Query(ge=0, description="Resume after this event id.")]
LastEventId = Annotated[str | None, Header(alias="Last-Event-ID")]


@router.get("/agent-work-orders/{work_order_id}/events")
async def work_order_events(
    wo: WorkOrderDep, service: ServiceDep, after: AfterQuery = None, last_event_id: LastEventId = None
) -> StreamingResponse:
    """The work order's events from the start (or after the id given); ends after its last one."""
    tail = Tail(service.store, resume_point(after, last_event_id) or 0, wo.id)
    return sse_response(stream(tail, service.settings.sse_heartbeat_s, closes_on_terminal=True))


@router.get("/events")
async def all_events(
    service: ServiceDep, after: AfterQuery = None, last_event_id: LastEventId = None
) -> StreamingResponse:
    """Every work order's events as they happen (after the id given, else from now on)."""
    start = resume_point(after, last_event_id)
    tail = Tail(service.store, start if start is not None else await service.store.latest_event_id())
    return sse_response(stream(tail, service.settings.sse_heartbeat_s, closes_on_terminal=False))
