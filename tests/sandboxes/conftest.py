"""An origin repository and Settings rooted in tmp_path for the sandbox tests."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from shipyard.config import Settings

_TEST_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.test",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.test",
}


def run_git(cwd: Path, *args: str) -> str:
    """Run git synchronously, as a user would; the test's independent view of a repository."""
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **_TEST_IDENTITY},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


@pytest.fixture
def sh() -> Callable[..., str]:
    return run_git


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """A non-bare repository: two commits on `main`, a `develop` branch one commit ahead."""
    repo = tmp_path / "widgets"
    repo.mkdir()
    run_git(repo, "init", "--quiet", "--initial-branch", "main")
    (repo / "README.md").write_text("# widgets\n")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "--quiet", "-m", "initial")
    (repo / "app.py").write_text("print('hello')\n")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "--quiet", "-m", "add app")
    run_git(repo, "checkout", "--quiet", "-b", "develop")
    (repo / "dev.txt").write_text("dev\n")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "--quiet", "-m", "develop work")
    run_git(repo, "checkout", "--quiet", "main")
    return repo


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")
