"""What every part of the Store shares: the engine, its sessions, and small row helpers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shipyard.store.doorbell import Doorbell
from shipyard.store.engine import WRITE_OPTION, create_read_engine, is_sqlite
from shipyard.store.tables import Base

_Row = TypeVar("_Row", bound=Base)


class StoreBase:
    """An engine with a read session and a write session (BEGIN IMMEDIATE on SQLite)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # On SQLite, reads run on the loop's own thread (a thread hop per call cost more than the
        # read); on PostgreSQL, without BEGIN.
        self.read_engine = create_read_engine(engine)
        self._read = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self._write = async_sessionmaker(
            engine, expire_on_commit=False, execution_options={WRITE_OPTION: True}
        )
        # SQLite has one writer at a time, and a writer that finds the lock taken sleeps and polls
        # (busy_timeout), so under a burst some wait seconds. Writers of this process queue here
        # instead, first come first served; another process's lock is waited for on a thread
        # (store/inline_sqlite.py).
        self._write_turn = asyncio.Lock() if is_sqlite(engine.url) else contextlib.nullcontext()
        self.doorbell = Doorbell()  # rung after each append (store.py), woken for each delivery stored

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncSession]:
        async with self._write_turn, self._write() as session, session.begin():
            yield session


def columns(table: type[Base], *fixed: str) -> frozenset[str]:
    """The columns of `table` a caller may set: all but `fixed`."""
    return frozenset(c.key for c in table.__table__.columns) - set(fixed)


async def stored(session: AsyncSession, row: _Row) -> _Row:
    """The row as the database now holds it (column types may have cleaned what was set)."""
    await session.flush()
    await session.refresh(row)
    return row


async def count(session: AsyncSession, query: Select[Any]) -> int:
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    return int(total or 0)
