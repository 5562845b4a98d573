"""EventFeed: the event log as live streams follow it (the API's event hub and the dashboard)."""

from __future__ import annotations

import asyncio

from shipyard.store.records import EventRecord
from shipyard.store.store import Store


class EventFeed:
    """New events after a cursor, a ticket the store rings when one is appended, and whether a
    work order has ended; one work order's events (key) or everyone's (key None)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def latest_id(self, key: str | None) -> int:
        """The highest event id so far (0 when there is none)."""
        return await self._store.latest_event_id(key)

    async def after(
        self, after_id: int, key: str | None, *, upto: int | None = None, limit: int
    ) -> list[EventRecord]:
        """Events with ids above `after_id` (and at most `upto`), oldest first."""
        return await self._store.tail_events(after_id, work_order_id=key, upto=upto, limit=limit)

    def ticket(self, key: str | None) -> asyncio.Event:
        """Set when the next event is appended; take it before reading, then wait on it."""
        return self._store.doorbell.ticket(key)

    def forget(self, key: str | None) -> None:
        """Drop the ticket of a key nobody follows any more."""
        self._store.doorbell.forget(key)

    async def listen(self) -> None:
        """Ring tickets for events other processes append (PostgreSQL); runs until cancelled."""
        await self._store.listen()

    async def has_ended(self, work_order_id: str) -> bool:
        """Whether the work order is in a terminal status."""
        return (await self._store.get_work_order(work_order_id)).status.is_terminal
