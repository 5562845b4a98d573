"""Fixtures shared by every test package: temp git repositories and settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.config import Settings
from support import MakeRepo, git


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
