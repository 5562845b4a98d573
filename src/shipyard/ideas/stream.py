"""`GET /api/runs/:runId/stream` (seed 002 §6.3): a run's events as Server-Sent Events, live and
resumable by event id, ending after the run's last one.

The work orders' streams wait on the EventHub's doorbell; a run's events are not rung on it (they
are another table, appended by the run's activities), so this stream polls the store every
POLL_S. One small query per open stream and half-second is cheap next to what a run does (agents
working for minutes), and it finds events appended by any process, worker processes included.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from sqlalchemy.exc import SQLAlchemyError

from shipyard.api.deps import ServiceDep
from shipyard.api.events import AfterQuery, HubDep, LastEventId, resume_point, sse_response
from shipyard.api.hub import EventHub
from shipyard.domain.ideas import RunState
from shipyard.ideas.models import TimelineEntry
from shipyard.ideas.routes import RunId
from shipyard.store.records import RunEventRecord
from shipyard.store.store import Store

POLL_S = 0.5  # how soon an open stream finds a new event
PAGE = 1000

# A `run.state` event is named, on the stream, by seed 002's event for the state it moved to.
STATE_EVENTS = {
    RunState.SPEC_WRITING: "workflow.started",
    RunState.DONE: "workflow.completed",
    RunState.FAILED: "workflow.failed",
    RunState.CANCELLED: "workflow.cancelled",
}

router = APIRouter(prefix="/api", tags=["ideas"])
log = structlog.get_logger()


class RunFeed:
    """What the stream reads of a run: its events after an id, and whether it has ended."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def require(self, run_id: str) -> None:
        """NotFound (a 404) for a run there is none of."""
        await self.store.get_run(run_id)

    async def after(self, run_id: str, after_id: int) -> list[RunEventRecord]:
        return await self.store.list_run_events(run_id, after_id=after_id, limit=PAGE)

    async def has_ended(self, run_id: str) -> bool:
        return (await self.store.get_run(run_id)).state.is_terminal


async def get_feed(service: ServiceDep) -> RunFeed:
    return RunFeed(service.store)


FeedDep = Annotated[RunFeed, Depends(get_feed)]


def state_of(event: RunEventRecord) -> RunState | None:
    """The state a `run.state` event moved the run to (None for other events)."""
    if event.type != "run.state":
        return None
    try:
        return RunState(event.data.get("state") or event.phase)
    except ValueError:
        return None


def event_name(event: RunEventRecord) -> str:
    """The frame's `event:`: seed 002's name for a start or an end, else the stored type."""
    state = state_of(event)
    return STATE_EVENTS.get(state, event.type) if state is not None else event.type


def run_frame(event: RunEventRecord) -> str:
    """The event as the run's timeline shows it (`GET /api/runs/:runId`), named for the stream."""
    data = TimelineEntry.of(event).model_dump_json(by_alias=True)
    return f"id: {event.id}\nevent: {event_name(event)}\ndata: {data}\n\n"


def until_end(batch: list[RunEventRecord]) -> tuple[list[RunEventRecord], bool]:
    """The batch up to and including the run's terminal event, and whether there was one."""
    for n, event in enumerate(batch):
        state = state_of(event)
        if state is not None and state.is_terminal:
            return batch[: n + 1], True
    return batch, False


async def poll(feed: RunFeed, run_id: str, after_id: int) -> tuple[list[RunEventRecord], bool]:
    """The run's events after `after_id`; when there are none, whether the run has ended."""
    try:
        batch = await feed.after(run_id, after_id)
        return batch, not batch and await feed.has_ended(run_id)
    except (SQLAlchemyError, OSError) as exc:  # the database restarting: keep trying
        log.warning("run_stream_read_failed", run_id=run_id, error=type(exc).__name__)
        return [], False


async def run_stream(
    feed: RunFeed, hub: EventHub, run_id: str, after_id: int, heartbeat_s: float, poll_s: float = POLL_S
) -> AsyncIterator[str]:
    """Frames as the run's events are appended, a `: ping` comment when idle for `heartbeat_s`;
    ends after the run's terminal event, or when the server stops (`hub.closed`)."""
    last_sent, ended_polls = time.monotonic(), 0
    while not hub.closed:
        batch, ended = await poll(feed, run_id, after_id)
        if batch:
            shown, last = until_end(batch)
            yield "".join(run_frame(event) for event in shown)
            if last:
                return
            after_id, last_sent, ended_polls = batch[-1].id, time.monotonic(), 0
            if len(batch) == PAGE:
                continue
        elif ended:
            # Its terminal event was before `after_id` (a resumed client) or never written; one
            # more poll first, since the run's state is set just before that event is appended.
            ended_polls += 1
            if ended_polls > 1:
                return
        if time.monotonic() - last_sent >= heartbeat_s:
            yield ": ping\n\n"
            last_sent = time.monotonic()
        await asyncio.sleep(min(poll_s, heartbeat_s))


@router.get("/runs/{run_id}/stream")
async def stream_run(
    run_id: RunId,
    feed: FeedDep,
    hub: HubDep,
    service: ServiceDep,
    after: AfterQuery = None,
    last_event_id: LastEventId = None,
) -> StreamingResponse:
    """The run's events from the start (or after the id given, by `?after=` or `Last-Event-ID`)
    as they happen; the stream ends after the run's last event."""
    await feed.require(run_id)
    start = resume_point(after, last_event_id) or 0
    heartbeat_s = service.settings.sse_heartbeat_s
    return sse_response(run_stream(feed, hub, run_id, start, heartbeat_s))
