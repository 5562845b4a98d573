"""On PostgreSQL a read is its statement alone (no BEGIN, no ROLLBACK around it) and a pooled
connection is pinged only after it sat idle: one the server dropped meanwhile is replaced, unseen
by the caller."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event

from shipyard.domain.work_orders import WorkOrderChange
from shipyard.store import Store, engine

Make = Any


@pytest.fixture
def backend() -> str:
    return "postgresql"


@asynccontextmanager
async def transactions_sent(store: Store) -> AsyncIterator[list[str]]:
    """The transaction statements (BEGIN, COMMIT, ROLLBACK) the driver sends meanwhile: asyncpg
    logs those, not the prepared statements that do the work."""
    sent: list[str] = []

    def log(query: Any) -> None:
        sent.append(query.query.split()[0].rstrip(";").upper())

    def watch(dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(log)  # once per connection: a set

    event.listen(store.engine.sync_engine, "checkout", watch)
    try:
        yield sent
        await asyncio.sleep(0.05)  # asyncpg calls its query loggers soon after, not at once
    finally:
        event.remove(store.engine.sync_engine, "checkout", watch)


async def test_a_read_sends_no_transaction_and_a_write_one(store: Store, make_work_order: Make) -> None:
    made = await make_work_order()
    async with transactions_sent(store) as sent:
        assert (await store.get_work_order(made.id)).id == made.id
        await store.update_work_order(made.id, WorkOrderChange(current_phase="reviewing"))
        assert (await store.get_work_order(made.id)).current_phase == "reviewing"  # sees the commit
    assert sent == ["BEGIN", "COMMIT"]


async def test_a_connection_dropped_while_idle_is_replaced_unseen(
    store: Store, make_work_order: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = await make_work_order()  # the pool holds the connection that wrote it
    monkeypatch.setattr(engine, "_PING_AFTER_IDLE_S", 0.0)  # every pooled connection counts as idle
    admin = await asyncpg.connect(store.engine.url.set(drivername="postgresql").render_as_string(False))
    try:  # what a restarted server does to every connection it had
        dropped = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            store.engine.url.database,
        )
    finally:
        await admin.close()
    assert dropped >= 1
    assert (await store.get_work_order(made.id)).id == made.id
    assert (await store.list_work_orders())[1] == 1


async def test_bursts_of_reads_reuse_the_pools_connections(store: Store, make_work_order: Make) -> None:
    """More readers at once than the pool holds wait for a pooled connection, rather than opening
    one each that is closed again as it comes back (each new connection is a login and codec
    set-up: under 50 clients that churn doubled the CPU of a read and its tail)."""
    made = await make_work_order()
    opened: list[object] = []

    def count(dbapi_connection: Any, _record: Any) -> None:
        opened.append(dbapi_connection)

    event.listen(store.engine.sync_engine, "connect", count)
    try:
        for _ in range(3):
            await asyncio.gather(*(store.get_work_order(made.id) for _ in range(40)))
    finally:
        event.remove(store.engine.sync_engine, "connect", count)
    assert len(opened) <= engine._POOL_SIZE
