"""EventHub: one reader of the event log per work order being watched, fanned out to its streams.

A hundred browsers on one work order cost one query per wake-up, not a hundred. Each watched
work order (and the all-events stream) gets a channel: a task that waits on the feed's ticket
(or a short poll, for appends by other processes on SQLite), reads what is new and hands it to
every subscriber. A subscriber first catches up from the database by itself, then takes the
channel's events; one that falls too far behind drops them and catches up again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator

import structlog
from sqlalchemy.exc import SQLAlchemyError

from shipyard.service.events import EventFeed
from shipyard.store.doorbell import wait
from shipyard.store.records import EventRecord

POLL_S = 1.0  # how soon a channel finds events the doorbell did not ring for
GAP_WAIT_S = 2.0  # how long the all-events channel waits for a lower id that may still commit
PAGE = 500
MAX_PENDING = 5_000  # events held for one subscriber before it must catch up from the database

log = structlog.get_logger()


class _Subscriber:
    def __init__(self) -> None:
        self.pending: list[EventRecord] = []
        self.behind = True  # catch up from the database before taking pending events
        self.ready = asyncio.Event()

    def offer(self, batch: list[EventRecord]) -> None:
        if self.behind:
            return
        if len(self.pending) + len(batch) > MAX_PENDING:
            self.pending, self.behind = [], True
        else:
            self.pending.extend(batch)
        self.ready.set()


class _Channel:
    """Reads one work order's new events (key) or everyone's (key None) for its subscribers.

    A work order's appends commit in id order (the store locks its row), so its channel takes
    every row it sees. Across work orders PostgreSQL may commit a lower id after a higher one, so
    the all-events channel stops at a gap and passes it only after GAP_WAIT_S (a gap that stays
    is an id whose insert rolled back).
    """

    def __init__(self, feed: EventFeed, key: str | None) -> None:
        self.feed, self.key = feed, key
        self.cursor = 0
        self.subscribers: set[_Subscriber] = set()
        self.started = asyncio.Event()
        self._gap_since: float | None = None
        self.task = asyncio.create_task(self.run())

    async def run(self) -> None:
        self.cursor = await self.feed.latest_id(self.key)
        self.started.set()
        while True:
            ticket = self.feed.ticket(self.key)
            try:
                rows = await self.feed.after(self.cursor, self.key, limit=PAGE)
            except (SQLAlchemyError, OSError) as exc:  # the database restarting: keep trying
                log.warning("event_channel_read_failed", error=type(exc).__name__, retry_in_s=POLL_S)
                await asyncio.sleep(POLL_S)
                continue
            batch = rows if self.key is not None else self._contiguous(rows)
            if batch:
                self.cursor = batch[-1].id
                for subscriber in self.subscribers:
                    subscriber.offer(batch)
                if len(batch) == PAGE:
                    continue
            await wait(ticket, POLL_S)

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


class EventHub:
    """Live event streams for one process; channels start with their first subscriber and stop
    with their last, together with the feed's listener."""

    def __init__(self, feed: EventFeed) -> None:
        self.feed = feed
        self._channels: dict[str | None, _Channel] = {}
        self._listener: asyncio.Task[None] | None = None
        self.closed = False

    async def has_ended(self, work_order_id: str) -> bool:
        """Whether the work order is in a terminal status (its stream has nothing more to wait for)."""
        return await self.feed.has_ended(work_order_id)

    def close(self) -> None:
        """End every stream (the server is stopping; browsers reconnect when it is back)."""
        self.closed = True
        for channel in self._channels.values():
            for subscriber in channel.subscribers:
                subscriber.ready.set()

    async def follow(
        self, after_id: int | None, work_order_id: str | None = None, idle_s: float = POLL_S
    ) -> AsyncGenerator[list[EventRecord]]:
        """Batches of events after `after_id` (None: from now on), in id order; an empty batch
        after `idle_s` without any, so the caller can send a heartbeat or stop."""
        subscriber = _Subscriber()
        channel = await self._join(work_order_id, subscriber)
        try:
            cursor = channel.cursor if after_id is None else after_id
            while not self.closed:
                if subscriber.behind:
                    subscriber.behind, subscriber.pending = False, []
                    upto = channel.cursor  # what the channel has passed; newer rows come from it
                    while rows := await self.feed.after(cursor, work_order_id, upto=upto, limit=PAGE):
                        cursor = rows[-1].id
                        yield rows
                    continue
                batch = [e for e in subscriber.pending if e.id > cursor]
                subscriber.pending = []
                if batch:
                    cursor = batch[-1].id
                    yield batch
                    continue
                subscriber.ready.clear()
                await wait(subscriber.ready, idle_s)
                if not subscriber.ready.is_set():
                    yield []
        finally:
            await self._leave(work_order_id, subscriber)

    async def _join(self, key: str | None, subscriber: _Subscriber) -> _Channel:
        channel = self._channels.get(key)
        if channel is None:
            channel = self._channels[key] = _Channel(self.feed, key)
            if self._listener is None:
                self._listener = asyncio.create_task(self.feed.listen())
        channel.subscribers.add(subscriber)
        started = asyncio.ensure_future(channel.started.wait())
        await asyncio.wait({started, channel.task}, return_when=asyncio.FIRST_COMPLETED)
        if not channel.started.is_set():  # the channel's first query failed
            started.cancel()
            await self._leave(key, subscriber)
            channel.task.result()
        return channel

    async def _leave(self, key: str | None, subscriber: _Subscriber) -> None:
        channel = self._channels.get(key)
        if channel is None:
            return
        channel.subscribers.discard(subscriber)
        if channel.subscribers:
            return
        del self._channels[key]
        self.feed.forget(key)
        tasks = [channel.task]
        if not self._channels and self._listener is not None:
            tasks.append(self._listener)
            self._listener = None
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
