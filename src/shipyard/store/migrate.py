"""Alembic migrations run programmatically, from inside a running event loop if need be.

The migration runs on an async connection through `run_sync`, so Alembic's env never calls
`asyncio.run`. Two processes may start at once: on SQLite the upgrade holds the write lock
(BEGIN IMMEDIATE, waited for on a thread), on PostgreSQL an advisory lock; either way
the second one finds the database at head and does nothing.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.environment import NameFilterParentNames, NameFilterType
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from shipyard.store.engine import WRITE_OPTION, async_url, create_engine, is_sqlite, sqlite_path

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# pg_advisory_xact_lock key shared by every Shipyard process migrating one database ("SHIPYARD").
_PG_LOCK_KEY = 0x5348495059415244


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolates `%`, which URL-encoded passwords contain.
        config.set_main_option("sqlalchemy.url", async_url(url).render_as_string(False).replace("%", "%%"))
    return config


def in_models(name: str | None, type_: NameFilterType, _parents: NameFilterParentNames) -> bool:
    """Whether autogenerate compares `name` with the models: not the search index of migration
    0011 (an FTS5 table and its shadow tables on SQLite, pg_trgm indexes on PostgreSQL), which
    no model describes."""
    if type_ == "table":
        return not (name or "").startswith("work_order_search")
    return type_ != "index" or not (name or "").endswith("_trgm")


def head_revision() -> str | None:
    """The newest revision the packaged migrations know."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision`; a no-op when it is there already."""
    await _migrate(url, command.upgrade, revision)


async def downgrade(url: str, revision: str) -> None:
    """Take the database at `url` back to `revision`."""
    await _migrate(url, command.downgrade, revision)


async def _migrate(url: str, step: Callable[[Config, str], None], revision: str) -> None:
    engine = create_engine(url, foreign_keys=False)
    try:
        # Alembic keeps the running migration in module globals: one at a time per process.
        async with _alembic_lock(), engine.connect() as conn:
            conn = await conn.execution_options(**{WRITE_OPTION: True})
            async with conn.begin():
                await _lock_for_migration(conn)
                await conn.run_sync(_run_sync, step, revision)
    finally:
        await engine.dispose()


async def current_revision(url: str) -> str | None:
    """The revision the database is at, or None when it was never migrated (or does not exist)."""
    parsed = async_url(url)
    path = sqlite_path(parsed) if is_sqlite(parsed) else None
    if path is not None and not path.exists():
        return None
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_current_sync)
    finally:
        await engine.dispose()


_ALEMBIC_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _alembic_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _ALEMBIC_LOCKS.get(loop)
    if lock is None:
        lock = _ALEMBIC_LOCKS[loop] = asyncio.Lock()
    return lock


async def _lock_for_migration(conn: AsyncConnection) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})


def _run_sync(connection: Connection, step: Callable[[Config, str], None], revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    step(config, revision)


def _current_sync(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()
