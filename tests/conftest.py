"""Fixtures shared by every test package: temp git repositories, settings, Temporal, databases.

PostgreSQL comes from SHIPYARD_TEST_PG_URL (default: postgres@127.0.0.1:5432/test, trust auth).
The session creates its own `shipyard_test_<random>` databases there and drops them at the end.
An unreachable server fails the tests that need it; it never skips them.

Each pytest process (one per xdist worker) runs one Temporal dev server and migrates one SQLite
template; a test gets its own task queue on that server and its own copy of the template. The
docker sandbox's tests share one podman service per process, started when first asked for
(tests/podman_kit.py).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from podman_kit import Podman, running_podman, unavailable
from shipyard.config import Settings
from shipyard.engine.devserver import DevServer
from support import (
    PG_DEFAULT_URL,
    MakeRepo,
    MakeSettings,
    Migrated,
    PgDatabases,
    git,
    migrated_sqlite,
    seed_sqlite,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """End-to-end tests and real agent CLIs first: they are the long ones, and xdist balances best
    when they start early."""
    items.sort(
        key=lambda item: not (item.path.parent.name == "e2e" or item.path.name.startswith("test_real_"))
    )


@pytest.fixture
def make_repo(tmp_path: Path) -> MakeRepo:
    """Creates a git repository with one commit on `main` (files given as {path: text})."""

    def make(name: str = "repo", files: dict[str, str] | None = None) -> Path:
        path = tmp_path / name
        path.mkdir()
        git(path, "init", "-q", "-b", "main")
        git(path, "config", "user.name", "Test")
        git(path, "config", "user.email", "test@example.com")
        for rel, text in (files or {"README.md": "# demo\n"}).items():
            (path / rel).parent.mkdir(parents=True, exist_ok=True)
            (path / rel).write_text(text)
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", "initial")
        return path

    return make


@pytest.fixture(scope="session")
async def temporal() -> AsyncIterator[DevServer]:
    """One in-memory Temporal dev server for this pytest process; tests keep apart by task queue."""
    server = DevServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="session")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Podman]:
    """Podman serving the Docker Engine API for this pytest process, with a small image of its own.
    Without podman it fails the tests that need it, saying what to install; it never skips them."""
    reason = unavailable()
    if reason is not None:
        pytest.fail(reason, pytrace=False)
    with running_podman(tmp_path_factory.mktemp("podman")) as engine:
        yield engine


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to head once, copied into each test's data dir."""
    return await migrated_sqlite(tmp_path_factory.mktemp("template") / "shipyard.db")


@pytest.fixture
def migrated(sqlite_template: Path) -> Migrated:
    """Gives Settings on the default SQLite a copy of the migrated template; returns them."""

    def seed(settings: Settings) -> Settings:
        seed_sqlite(settings, sqlite_template)
        return settings

    return seed


@pytest.fixture
def make_settings(tmp_path: Path, temporal: DevServer, sqlite_template: Path) -> MakeSettings:
    """Settings on this test's data dir, the shared Temporal and a task queue of its own."""

    def make(**overrides: Any) -> Settings:
        fields: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "heartbeat_timeout_s": 5,
            "agent": "shell",
            "temporal_address": temporal.address,
            "task_queue": f"test-{secrets.token_hex(6)}",
            **overrides,
        }
        settings = Settings(**fields)
        seed_sqlite(settings, sqlite_template)
        return settings

    return make


@pytest.fixture
def settings(make_settings: MakeSettings) -> Settings:
    """Settings on a fresh data dir, with short heartbeats so lost steps are retried quickly.

    Not shorter than 5 s: no in-process test waits for a heartbeat to time out (the ones that kill
    a server set their own 3 s), and a busy 2-core machine can delay a beat by seconds.
    """
    return make_settings()


@pytest.fixture(scope="session")
async def pg_databases() -> AsyncIterator[PgDatabases]:
    databases = PgDatabases(os.environ.get("SHIPYARD_TEST_PG_URL", PG_DEFAULT_URL))
    await databases.check()
    yield databases
    await databases.drop_all()
