"""Store fixtures: every store test runs against a SQLite file and a real PostgreSQL database.

PostgreSQL comes from SHIPYARD_TEST_PG_URL (default: postgres@127.0.0.1:5432/test, trust auth).
The session creates its own `shipyard_test_<random>` databases there and drops them at the end.
An unreachable server fails the PostgreSQL tests; it never skips them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from shipyard.store import Store, WorkOrderCreate, WorkOrderRecord
from shipyard.store.migrate import upgrade

PG_DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", "postgresql"]


class PgDatabases:
    """Creates throwaway databases on the test server and drops them all at the end."""

    def __init__(self, server_url: str) -> None:
        self.server_url = make_url(server_url).set(drivername="postgresql+asyncpg")
        self.names: list[str] = []
        self.error: str | None = None
        self.shared_url: str | None = None

    def _dsn(self) -> str:
        return self.server_url.set(drivername="postgresql").render_as_string(False)

    async def check(self) -> None:
        try:
            conn = await asyncpg.connect(self._dsn(), timeout=10)
        except (OSError, asyncpg.PostgresError) as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            return
        await conn.close()

    async def create(self) -> str:
        """A new empty database; its SQLAlchemy URL."""
        if self.error is not None:
            pytest.fail(
                f"PostgreSQL at {self.server_url.render_as_string()} is unreachable "
                f"({self.error}); the store tests need a real server (set SHIPYARD_TEST_PG_URL)",
                pytrace=False,
            )
        name = f"shipyard_test_{secrets.token_hex(4)}"
        conn = await asyncpg.connect(self._dsn())
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        self.names.append(name)
        return self.server_url.set(database=name).render_as_string(False)

    async def emptied_shared(self) -> str:
        """One migrated database shared by the session, emptied for the caller."""
        if self.shared_url is None:
            self.shared_url = await self.create()
            await upgrade(self.shared_url)
        dsn = make_url(self.shared_url).set(drivername="postgresql").render_as_string(False)
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("TRUNCATE work_order, step, event, pull_request RESTART IDENTITY CASCADE")
        finally:
            await conn.close()
        return self.shared_url

    async def drop_all(self) -> None:
        if not self.names:
            return
        conn = await asyncpg.connect(self._dsn())
        try:
            for name in self.names:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@pytest.fixture(scope="session")
async def pg_databases() -> AsyncIterator[PgDatabases]:
    databases = PgDatabases(os.environ.get("SHIPYARD_TEST_PG_URL", PG_DEFAULT_URL))
    await databases.check()
    yield databases
    await databases.drop_all()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def fresh_url(backend: str, tmp_path: Path, pg_databases: PgDatabases) -> str:
    """An empty, never migrated database of the backend."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'shipyard.db'}"
    return await pg_databases.create()


@pytest.fixture
async def store_url(backend: str, tmp_path: Path, pg_databases: PgDatabases) -> str:
    """A migrated, empty database of the backend."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'shipyard.db'}"
        await upgrade(url)
        return url
    return await pg_databases.emptied_shared()


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(store_url)
    yield opened
    await opened.close()


@pytest.fixture
def make_work_order(store: Store) -> Callable[..., Awaitable[WorkOrderRecord]]:
    """Create a work order with sensible defaults; keyword arguments override them."""

    async def make(**overrides: object) -> WorkOrderRecord:
        fields: dict[str, object] = {
            "id": "wo-" + secrets.token_hex(4),
            "repository_url": "https://github.com/acme/widgets",
            "workflow_type": "agent_workflow_plan_build_test",
            "sandbox_type": "git_worktree",
            "agent": "claude",
            "inputs": {"prompt": "Add a /health endpoint"},
        }
        fields.update(overrides)
        return await store.create_work_order(WorkOrderCreate.model_validate(fields))

    return make
