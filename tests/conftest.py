"""Fixtures shared by every test package: temp git repositories, settings, PostgreSQL databases.

PostgreSQL comes from SHIPYARD_TEST_PG_URL (default: postgres@127.0.0.1:5432/test, trust auth).
The session creates its own `shipyard_test_<random>` databases there and drops them at the end.
An unreachable server fails the tests that need it; it never skips them.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shipyard.config import Settings
from support import PG_DEFAULT_URL, MakeRepo, PgDatabases, git


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


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings on a fresh data dir, with short heartbeats so lost steps are retried quickly."""
    return Settings(data_dir=tmp_path / "data", heartbeat_timeout_s=5, agent="shell")


@pytest.fixture(scope="session")
async def pg_databases() -> AsyncIterator[PgDatabases]:
    databases = PgDatabases(os.environ.get("SHIPYARD_TEST_PG_URL", PG_DEFAULT_URL))
    await databases.check()
    yield databases
    await databases.drop_all()
