"""Database URLs and engines: async drivers, SQLite pragmas and write locking."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shipyard.domain.errors import InvalidInput
from shipyard.domain.jsontext import READ_DEPTH, cut_deep, nested_deeper, readable
from shipyard.store.inline_sqlite import connect_reader, connect_writer

# A connection carrying this execution option opens its transactions with BEGIN IMMEDIATE on
# SQLite, so a read-then-write transaction holds the write lock from its first statement.
WRITE_OPTION = "shipyard_write"

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}

_BUSY_TIMEOUT_MS = 10_000
# A read waits for a lock only in rare moments (WAL recovery after a crash), and waits on the
# loop's thread: briefly, then it fails.
_READ_BUSY_TIMEOUT_MS = 1_000
# Connections per process, SQLite or PostgreSQL: a worker's 8 activity slots and the API's readers.
# Fixed: more callers at once wait for one. With overflow, each burst opened connections that were
# closed again as they came back (on PostgreSQL a login and codec set-up each: 50 API clients read
# at 600 requests/s with it, 850-920 without).
_POOL_SIZE = 10
# A pooled PostgreSQL connection idle this long is pinged before it is used again (the database
# may have restarted meanwhile); one in use more recently is trusted, and the rare one that died
# since fails its statement and has the pool replace every connection. SQLAlchemy's pool_pre_ping
# pinged at every checkout, three round trips (BEGIN, a ping, ROLLBACK) before each transaction.
_PING_AFTER_IDLE_S = 5.0
_SQLITE_PRAGMAS = (
    f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
)


def async_url(url: str) -> URL:
    """`url` with its async driver: plain `sqlite://` and `postgresql://` URLs are mapped."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise InvalidInput(f"invalid database URL: {exc}") from None
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver is None:
        raise InvalidInput(f"unsupported database driver '{parsed.drivername}': use sqlite or postgresql")
    return parsed.set(drivername=driver)


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL, or None for an in-memory database."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def create_engine(url: str, *, foreign_keys: bool = True) -> AsyncEngine:
    """An engine for `url`; for SQLite the parent directory is created and pragmas set.
    `foreign_keys=False` is for migrations: SQLite alters a table by copying it and dropping the
    old one, and that drop must not cascade to the rows that refer to it."""
    parsed = async_url(url)
    if not is_sqlite(parsed):
        engine = create_async_engine(
            parsed, json_deserializer=read_json, pool_size=_POOL_SIZE, max_overflow=0
        )
        event.listen(engine.sync_engine, "checkin", _note_idle)
        event.listen(engine.sync_engine, "checkout", _ping_if_idle)
        return engine
    path = sqlite_path(parsed)
    pragmas: tuple[str, ...] = _SQLITE_PRAGMAS if foreign_keys else _SQLITE_PRAGMAS[:-1]
    if path is None:
        engine = create_async_engine(parsed, json_deserializer=read_json)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = _sqlite_file_engine(parsed, partial(connect_writer, path, _BUSY_TIMEOUT_MS))
        # Its writer waits for another process's write lock itself, off the loop.
        pragmas = tuple(p for p in pragmas if not p.startswith("PRAGMA busy_timeout"))
    event.listen(engine.sync_engine, "connect", partial(_on_sqlite_connect, pragmas))
    event.listen(engine.sync_engine, "begin", _on_sqlite_begin)
    return engine


def create_read_engine(engine: AsyncEngine) -> AsyncEngine:
    """The engine reads take. For a SQLite file, its own, whose connections run on the caller's
    thread (store/inline_sqlite.py). For PostgreSQL, `engine`'s pool with each statement in a
    transaction of its own (autocommit): a read is one round trip instead of three (BEGIN, the
    query, ROLLBACK), and sees what it would have under READ COMMITTED, a snapshot per statement."""
    if not is_sqlite(engine.url):
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    path = sqlite_path(engine.url)
    if path is None:
        return engine
    return _sqlite_file_engine(engine.url, partial(connect_reader, path, _READ_BUSY_TIMEOUT_MS))


def _note_idle(dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Ping a connection that sat idle past _PING_AFTER_IDLE_S; one that does not answer is
    replaced (the pool checks out another on DisconnectionError)."""
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < _PING_AFTER_IDLE_S:
        return
    try:
        dbapi_connection.ping()
    except Exception as err:
        raise exc.DisconnectionError(f"an idle connection did not answer: {type(err).__name__}") from err


def _sqlite_file_engine(url: URL, creator: Callable[[], Awaitable[Any]]) -> AsyncEngine:
    # A fixed pool: under a burst, an overflow connection (a thread, a file opened, pragmas set)
    # was made and thrown away per request, which made 20 concurrent reads 3 times slower than
    # one after another; waiting for one of ten costs less. No rollback when a connection goes
    # back: closing its session ended any transaction.
    return create_async_engine(
        url, async_creator=creator, json_deserializer=read_json,
        pool_size=_POOL_SIZE, max_overflow=0, pool_reset_on_return=None,
    )  # fmt: skip


# An escaped surrogate (a pair, or a lone one only a row stored before the checks can hold).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def read_json(text: str) -> Any:
    """A JSON column's value; one that could break a reader (a lone surrogate, deep nesting) is
    read as `domain.jsontext` makes it. Most values skip both passes: the text-level cut costs
    five times the parse, so it runs only on a value that is really nested too deep (a webhook
    payload has hundreds of brackets, a few levels deep)."""
    try:
        value = json.loads(text)
        # Counted first: most values have fewer brackets in all than the depth that matters.
        too_deep = text.count("[") + text.count("{") > READ_DEPTH and nested_deeper(value, READ_DEPTH)
    except RecursionError:  # deeper than the parser goes
        too_deep = True
    if too_deep:
        value = json.loads(cut_deep(text))
    return readable(value) if _SURROGATE_ESCAPE.search(text) else value


def _on_sqlite_connect(pragmas: tuple[str, ...], dbapi_connection: Any, _record: Any) -> None:
    # The driver's own implicit BEGIN is switched off; _on_sqlite_begin emits ours instead. (A
    # file's connections are made so: SQLAlchemy's setter would hand the change to aiosqlite's thread.)
    if dbapi_connection.isolation_level is not None:
        dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in pragmas:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    # A write takes the write lock at once. A read runs each statement in SQLite's own implicit
    # transaction: no BEGIN and COMMIT to send.
    if connection.get_execution_options().get(WRITE_OPTION, False):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
