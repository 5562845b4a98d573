"""Store fixtures: every store test runs against a SQLite file and a real PostgreSQL database
(`pg_databases`, from tests/conftest.py)."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from shipyard.domain.work_orders import WorkOrder, WorkOrderCreate
from shipyard.store import Store
from support import PgDatabases

BACKENDS = ["sqlite", "postgresql"]


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
async def store_url(backend: str, tmp_path: Path, pg_databases: PgDatabases, sqlite_template: Path) -> str:
    """A migrated, empty database of the backend."""
    if backend == "sqlite":
        shutil.copyfile(sqlite_template, tmp_path / "shipyard.db")  # migrated once for the session
        return f"sqlite+aiosqlite:///{tmp_path / 'shipyard.db'}"
    return await pg_databases.emptied_shared()


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(store_url)
    yield opened
    await opened.close()


@pytest.fixture
def make_work_order(store: Store) -> Callable[..., Awaitable[WorkOrder]]:
    """Create a work order with sensible defaults; keyword arguments override them."""

    async def make(**overrides: object) -> WorkOrder:
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
