"""The event hub: every follower gets every event once and in order, live or catching up."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import pytest

from shipyard.api import hub as hub_module
from shipyard.api.hub import EventHub
from shipyard.domain.work_orders import WorkOrder, WorkOrderCreate
from shipyard.service.events import EventFeed
from shipyard.store import Store
from shipyard.store.engine import create_engine
from shipyard.store.records import EventRecord
from support import PgDatabases

Make = Callable[..., Awaitable[WorkOrder]]


async def collect(
    hub: EventHub, after: int | None, work_order_id: str | None, count: int
) -> list[EventRecord]:
    got: list[EventRecord] = []
    async with contextlib.aclosing(hub.follow(after, work_order_id, idle_s=0.2)) as batches:
        async for batch in batches:
            got.extend(batch)
            if len(got) >= count:
                return got
    raise AssertionError("the stream ended")


async def test_many_followers_get_every_event_once_and_in_order(store: Store, make_work_order: Make) -> None:
    wo, other = await make_work_order(), await make_work_order()
    hub = EventHub(EventFeed(store))
    await store.append_event(wo.id, "log", {"n": -1})  # before anyone follows: found by catching up
    followers = [asyncio.create_task(collect(hub, 0, wo.id, 201)) for _ in range(20)]
    everyone = asyncio.create_task(collect(hub, 0, None, 401))
    for n in range(200):
        await store.append_event(wo.id, "log", {"n": n})
        await store.append_event(other.id, "log", {"n": n})
    async with asyncio.timeout(60):
        results = await asyncio.gather(*followers)
        every = await everyone
    for got in results:
        assert [e.data["n"] for e in got] == list(range(-1, 200))
        assert {e.work_order_id for e in got} == {wo.id}
    ids = [e.id for e in every]
    assert ids == sorted(set(ids)) and len(ids) == 401
    assert not hub._channels, "channels stop with their last follower"


async def test_a_follower_that_falls_behind_catches_up_from_the_store(
    store: Store, make_work_order: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub_module, "MAX_PENDING", 5)
    wo = await make_work_order()
    hub = EventHub(EventFeed(store))
    got: list[int] = []
    first, go = asyncio.Event(), asyncio.Event()

    async def slow_reader() -> None:
        async with contextlib.aclosing(hub.follow(0, wo.id, idle_s=0.2)) as batches:
            async for batch in batches:
                got.extend(e.data["n"] for e in batch)
                first.set()
                await go.wait()  # holds the stream while 50 events pile up
                if len(got) >= 51:
                    return

    reader = asyncio.create_task(slow_reader())
    await store.append_event(wo.id, "log", {"n": 0})
    await asyncio.wait_for(first.wait(), 30)
    for n in range(1, 51):
        await store.append_event(wo.id, "log", {"n": n})
    go.set()
    await asyncio.wait_for(reader, 30)
    assert got == list(range(51))


async def test_following_from_now_skips_the_past(store: Store, make_work_order: Make) -> None:
    wo = await make_work_order()
    await store.append_event(wo.id, "log", {"n": "old"})
    hub = EventHub(EventFeed(store))
    reader = asyncio.create_task(collect(hub, None, None, 1))
    while not hub._channels.get(None) or not hub._channels[None].started.is_set():
        await asyncio.sleep(0.01)
    await store.append_event(wo.id, "log", {"n": "new"})
    assert [e.data["n"] for e in await asyncio.wait_for(reader, 30)] == ["new"]


async def test_postgres_notify_wakes_a_reader_in_another_process(pg_databases: PgDatabases) -> None:
    url = await pg_databases.emptied_shared()
    writer, reader = await Store.open(url), await Store.open(url)  # as two servers would
    listener = asyncio.create_task(reader.listen())
    try:
        wo = await writer.create_work_order(
            WorkOrderCreate(
                id="wo-0000beef",
                repository_url="/r",
                workflow_type="x",
                sandbox_type="git_worktree",
                agent="shell",
            )
        )
        rung, appended = False, 0
        for _ in range(100):  # until the listener has connected
            ticket = reader.doorbell.ticket(wo.id)
            await writer.append_event(wo.id, "log", {})
            appended += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ticket.wait(), 0.2)
                rung = True
                break
        # Only a NOTIFY can ring the reader's doorbell: the writer is another Store.
        assert rung, "no NOTIFY reached the other store's listener"
        hub = EventHub(EventFeed(reader))
        got = await asyncio.wait_for(collect(hub, 0, wo.id, appended), 30)
        assert [e.work_order_id for e in got] == [wo.id] * appended
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        await writer.close()
        await reader.close()


async def test_an_append_by_another_store_on_the_same_database_rings_this_ones_doorbell(
    store: Store, store_url: str, make_work_order: Make
) -> None:
    """As a worker process's appends wake the serving process's streams: PostgreSQL by NOTIFY,
    SQLite by a datagram on the bell socket named after its file. Only the listener rings the
    ticket here: this store appends nothing itself."""
    wo = await make_work_order()
    elsewhere = Store(create_engine(store_url))  # another process's store, in all but the process
    listening = asyncio.create_task(store.listen())
    try:
        ticket = store.doorbell.ticket(wo.id)
        async with asyncio.timeout(30):
            while not ticket.is_set():  # until the listener is up, appends may go unheard
                await elsewhere.append_event(wo.id, "log", {"from": "elsewhere"})
                await asyncio.sleep(0.05)
    finally:
        listening.cancel()
        await elsewhere.close()
