"""On SQLite the store reads and writes on the loop's own thread (store/inline_sqlite.py): reads
through connections that cannot write, which a write in progress in another process does not hold
up; a write that finds another process holding the lock waits for it on a thread, the loop going on."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from shipyard.domain.work_orders import WorkOrder
from shipyard.store import Store

Make = Callable[..., Any]


@pytest.fixture
def backend() -> str:
    """SQLite only: PostgreSQL's driver is async already, and its reads and writes share one engine."""
    return "sqlite"


@pytest.fixture
def sqlite_store(store: Store) -> Store:
    assert store.read_engine is not store.engine
    return store


@contextlib.contextmanager
def threads_running_statements(store: Store, engine: AsyncEngine | None = None) -> Iterator[set[int]]:
    seen: set[int] = set()

    def record(*_: Any) -> None:
        seen.add(threading.get_ident())

    watched = (engine or store.read_engine).sync_engine
    event.listen(watched, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(watched, "before_cursor_execute", record)


async def test_reads_run_on_the_callers_thread_and_see_what_was_just_written(
    sqlite_store: Store, make_work_order: Make
) -> None:
    made: WorkOrder = await make_work_order()
    with threads_running_statements(sqlite_store) as threads:
        got = await sqlite_store.get_work_order(made.id)
        listed, total = await sqlite_store.list_work_orders()
    assert got.id == made.id and [w.id for w in listed] == [made.id] and total == 1
    assert threads == {threading.get_ident()}


@contextlib.contextmanager
def write_lock_held_elsewhere(db: Path) -> Iterator[sqlite3.Connection]:
    """The file's write lock, held by a connection of its own (as a busy worker process would hold
    it) until the block ends, then rolled back."""
    other = sqlite3.connect(db, isolation_level=None, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield other
    finally:
        other.execute("ROLLBACK")
        other.close()


async def test_a_read_connection_cannot_write(sqlite_store: Store) -> None:
    async with sqlite_store.read_engine.connect() as conn:
        with pytest.raises(OperationalError, match="readonly database"):
            await conn.execute(text("DELETE FROM work_order"))


async def test_a_write_held_open_by_another_process_does_not_hold_a_read_up(
    sqlite_store: Store, make_work_order: Make, tmp_path: Path
) -> None:
    made: WorkOrder = await make_work_order()
    with write_lock_held_elsewhere(tmp_path / "shipyard.db") as other:
        other.execute("DELETE FROM work_order")  # not committed: readers still see the row
        got = await sqlite_store.get_work_order(made.id)  # a blocked read would fail after 1 s: locked
        assert got.id == made.id


async def test_writes_run_on_the_callers_thread(sqlite_store: Store, make_work_order: Make) -> None:
    made: WorkOrder = await make_work_order()
    with threads_running_statements(sqlite_store, sqlite_store.engine) as seen:
        await sqlite_store.append_event(made.id, "log", {"line": "x"})
    assert seen == {threading.get_ident()}


async def test_a_write_waits_for_another_processs_lock_off_the_loop(
    sqlite_store: Store, make_work_order: Make, tmp_path: Path
) -> None:
    made: WorkOrder = await make_work_order()
    with write_lock_held_elsewhere(tmp_path / "shipyard.db"):
        append = asyncio.create_task(sqlite_store.append_event(made.id, "log", {"line": "waited"}))
        for _ in range(20):  # the loop goes on meanwhile, the append waiting for the lock
            await asyncio.sleep(0.01)
        assert not append.done()
    appended = await asyncio.wait_for(append, 10)
    events, _ = await sqlite_store.list_events(made.id)
    assert [e.data for e in events] == [{"line": "waited"}]
    assert appended.data == {"line": "waited"}
