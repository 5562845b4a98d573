"""Migrations: from empty, idempotent, concurrent, and matching the ORM models."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from shipyard.domain.errors import InvalidInput
from shipyard.domain.work_orders import WorkOrderCreate
from shipyard.store import Store, current_revision, head_revision, upgrade
from shipyard.store.engine import async_url, create_engine
from shipyard.store.migrate import in_models
from shipyard.store.tables import Base

TABLES = {"work_order", "step", "event", "pull_request", "alembic_version"}


def _schema_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": in_models})
    return list(compare_metadata(context, Base.metadata))


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _run_sync(url: str, fn: Any) -> Any:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(fn)
    finally:
        await engine.dispose()


async def test_upgrade_creates_the_schema_of_the_models(fresh_url: str) -> None:
    assert await current_revision(fresh_url) is None

    await upgrade(fresh_url)

    assert head_revision() is not None
    assert await current_revision(fresh_url) == head_revision()
    assert await _run_sync(fresh_url, _table_names) >= TABLES
    assert await _run_sync(fresh_url, _schema_diff) == []


async def test_upgrade_again_keeps_data_and_changes_nothing(fresh_url: str) -> None:
    store = await Store.open(fresh_url)
    await store.create_work_order(
        WorkOrderCreate(
            id="wo-00000001",
            repository_url="/tmp/repo",
            workflow_type="plan",
            sandbox_type="git_worktree",
            agent="shell",
        )
    )
    await store.close()

    await upgrade(fresh_url)
    reopened = await Store.open(fresh_url)

    assert (await reopened.get_work_order("wo-00000001")).agent == "shell"
    assert await current_revision(fresh_url) == head_revision()
    await reopened.close()


async def test_concurrent_upgrades_in_one_event_loop(fresh_url: str) -> None:
    await asyncio.gather(*(upgrade(fresh_url) for _ in range(3)))

    assert await current_revision(fresh_url) == head_revision()
    assert await _run_sync(fresh_url, _schema_diff) == []


async def test_concurrent_upgrades_of_different_databases(fresh_url: str, tmp_path: Path) -> None:
    urls = [fresh_url, *(f"sqlite:///{tmp_path / f'other{n}.db'}" for n in range(3))]

    await asyncio.gather(*(upgrade(url) for url in urls))

    assert [await current_revision(url) for url in urls] == [head_revision()] * len(urls)


_UPGRADE_SCRIPT = "import asyncio, sys; from shipyard.store import upgrade; asyncio.run(upgrade(sys.argv[1]))"


async def test_two_processes_upgrading_at_once_both_succeed(fresh_url: str) -> None:
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", _UPGRADE_SCRIPT, fresh_url, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    results = [await proc.communicate() for proc in procs]

    assert [proc.returncode for proc in procs] == [0, 0], [err.decode() for _, err in results]
    assert await current_revision(fresh_url) == head_revision()


async def test_sqlite_connections_are_set_up_for_several_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'shipyard.db'}"
    store = await Store.open(url)
    async with store.engine.connect() as conn:
        pragmas = {
            name: (await conn.execute(text(f"PRAGMA {name}"))).scalar()
            for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
        }
    await store.close()

    assert (tmp_path / "nested" / "dir" / "shipyard.db").is_file()
    # synchronous: 1 is NORMAL. busy_timeout 0: a writer waits for another process's lock on a
    # thread, not in SQLite's busy handler on the loop (test_inline_reads.py).
    assert pragmas == {
        "journal_mode": "wal",
        "busy_timeout": 0,
        "foreign_keys": 1,
        "synchronous": 1,
    }


async def test_current_revision_of_a_missing_sqlite_file_is_none_and_creates_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "absent" / "shipyard.db"

    assert await current_revision(f"sqlite+aiosqlite:///{path}") is None
    assert not path.parent.exists()


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("sqlite:////var/lib/shipyard.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:////var/lib/shipyard.db", "sqlite+aiosqlite"),
        ("postgresql://u:p%40ss@db:5432/shipyard", "postgresql+asyncpg"),
        ("postgres://u@db/shipyard", "postgresql+asyncpg"),
        ("postgresql+asyncpg://u@db/shipyard", "postgresql+asyncpg"),
    ],
)
def test_plain_urls_get_the_async_driver(url: str, driver: str) -> None:
    mapped = async_url(url)

    assert mapped.render_as_string(hide_password=False) == driver + url[url.index("://") :]


def test_unsupported_database_urls_are_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="unsupported database driver 'mysql'"):
        async_url("mysql://u@db/shipyard")


async def test_ping_answers(store: Store) -> None:
    await store.ping()
