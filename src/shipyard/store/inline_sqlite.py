"""SQLite on the event loop's own thread.

aiosqlite runs each connection in a thread of its own and hands every call over to it and back:
a one-row read is five such round trips, each waking a thread and the loop, and cost a request
~0.8 ms of CPU where SQLite itself takes tens of microseconds on a file in the page cache
(bench/results/README.md). These are connections with aiosqlite's async interface, as SQLAlchemy's
`sqlite+aiosqlite` dialect drives it, whose calls run `sqlite3` right away on the caller's thread.

Reads (`connect_reader`, `PRAGMA query_only`): in WAL mode a reader never waits for a writer, so a
read holds the loop only for the query itself. Writes (`connect_writer`): a writer waits only for
another writer, and this process's writers take turns before they begin (`StoreBase._writing`),
so a statement meets a held lock only when another process (a worker, `shipyard gc`) holds it.
Each statement runs at once without waiting (`busy_timeout` 0); one that finds the lock held runs
again on a thread, waiting for it there, so the loop never sleeps in SQLite's busy handler.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


class InlineCursor:
    """An aiosqlite-shaped cursor over a `sqlite3.Cursor`."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        self._cursor.execute(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> Sequence[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """An aiosqlite-shaped connection over a `sqlite3.Connection` used on the caller's thread."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection: sqlite3.Connection | None = connection  # aiosqlite's name: SQLAlchemy reads it

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")  # aiosqlite's words, which SQLAlchemy knows
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor())

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, name: str, num_params: int, func: Callable[..., Any], **kw: Any) -> None:
        self._conn.create_function(name, num_params, func, **kw)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close at once (SQLAlchemy's terminate)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class WriterCursor(InlineCursor):
    """A cursor whose statement, when another process holds the write lock, waits for it on a thread."""

    def __init__(self, cursor: sqlite3.Cursor, wait_ms: int) -> None:
        super().__init__(cursor)
        self._wait_ms = wait_ms

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        await self._run(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Any) -> InlineCursor:
        await self._run(self._cursor.executemany, sql, parameters)
        return self

    async def _run(self, statement: Callable[[str, Any], object], sql: str, parameters: Any) -> None:
        try:
            statement(sql, parameters)
        except sqlite3.OperationalError as err:
            if err.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                raise
            await asyncio.to_thread(self._waiting, statement, sql, parameters)

    def _waiting(self, statement: Callable[[str, Any], object], sql: str, parameters: Any) -> None:
        connection = self._cursor.connection
        connection.execute(f"PRAGMA busy_timeout={self._wait_ms}")
        try:
            statement(sql, parameters)
        finally:
            connection.execute("PRAGMA busy_timeout=0")


class WriterConnection(InlineConnection):
    """An inline connection whose statements wait for another process's write lock on a thread."""

    def __init__(self, connection: sqlite3.Connection, wait_ms: int) -> None:
        super().__init__(connection)
        self._wait_ms = wait_ms

    def cursor(self) -> WriterCursor:
        return WriterCursor(self._conn.cursor(), self._wait_ms)


async def connect_writer(path: Path, wait_ms: int) -> WriterConnection:
    """A connection to the SQLite file at `path` for writes, switched to WAL mode (persistent once
    done). A statement waits up to `wait_ms` for another process's write lock, off the loop."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        connection.execute("PRAGMA busy_timeout=0")
        writer = WriterConnection(connection, wait_ms)
        await _switch_to_wal(writer, wait_ms)
    except BaseException:
        connection.close()
        raise
    return writer


async def _switch_to_wal(writer: WriterConnection, wait_ms: int) -> None:
    # Switching a new file to WAL fails at once ("locked"), without waiting for a busy timeout,
    # while another connection (maybe in another process) is switching it too.
    deadline = asyncio.get_running_loop().time() + wait_ms / 1000
    while True:
        try:
            await writer.cursor().execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(0.02)


async def connect_reader(path: Path, busy_timeout_ms: int) -> InlineConnection:
    """A read-only connection to the SQLite file at `path` (already in WAL mode: the writers'
    connections switch it). Pooled connections move between the threads of test loops and
    `asyncio.run`s; SQLite's own locking (serialized mode) keeps that safe."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    connection.execute("PRAGMA query_only=ON")
    return InlineConnection(connection)
