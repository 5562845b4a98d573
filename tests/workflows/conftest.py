"""Fixtures for the workflow tests: a repository folder with its own commands and definitions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

WriteFile = Callable[[str, str], Path]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty repository working tree (workflows only read files, so no git is needed)."""
    path = tmp_path / "repo"
    path.mkdir()
    return path


@pytest.fixture
def write(repo: Path) -> WriteFile:
    """Write a file relative to the repository, creating folders."""

    def write_file(relative: str, text: str) -> Path:
        path = repo / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write_file
