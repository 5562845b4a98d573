"""commit_all, head_sha, push and is_git_repo on real repositories."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from shipyard.domain.errors import GitError
from shipyard.gitutil import commit_all, head_sha, is_git_repo, push

Sh = Callable[..., str]


@pytest.fixture
def no_global_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user without any git identity configured."""
    empty = tmp_path / "empty-gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("AUTHOR", "COMMITTER"):
        monkeypatch.delenv(f"GIT_{name}_NAME", raising=False)
        monkeypatch.delenv(f"GIT_{name}_EMAIL", raising=False)


async def test_commit_all_adds_phase_trailer(origin: Path, sh: Sh) -> None:
    (origin / "app.py").write_text("print('bye')\n")
    (origin / "new.txt").write_text("new\n")
    (origin / "README.md").unlink()
    sha = await commit_all(origin, "build: say bye", phase="implementing")
    assert sha == sh(origin, "rev-parse", "HEAD").strip() == await head_sha(origin)
    trailer = sh(origin, "log", "-1", "--format=%(trailers:key=Shipyard-Phase,valueonly)")
    assert trailer.strip() == "implementing"
    assert sh(origin, "log", "-1", "--format=%s").strip() == "build: say bye"
    changed = sh(origin, "show", "--name-status", "--format=", "HEAD").split("\n")
    assert sorted(filter(None, changed)) == ["A\tnew.txt", "D\tREADME.md", "M\tapp.py"]
    assert sh(origin, "status", "--porcelain") == ""


async def test_nothing_to_commit_returns_none(origin: Path, sh: Sh) -> None:
    before = sh(origin, "rev-parse", "HEAD")
    assert await commit_all(origin, "nothing", phase="testing") is None
    assert sh(origin, "rev-parse", "HEAD") == before


async def test_commit_without_phase_has_no_trailer(origin: Path, sh: Sh) -> None:
    (origin / "x.txt").write_text("x\n")
    assert await commit_all(origin, "plain") is not None
    assert sh(origin, "log", "-1", "--format=%B").strip() == "plain"


@pytest.mark.usefixtures("no_global_identity")
async def test_shipyard_identity_only_when_none_configured(origin: Path, sh: Sh) -> None:
    (origin / "x.txt").write_text("x\n")
    await commit_all(origin, "anonymous")
    assert sh(origin, "log", "-1", "--format=%an <%ae>|%cn <%ce>").strip() == (
        "Shipyard <shipyard@localhost>|Shipyard <shipyard@localhost>"
    )
    sh(origin, "config", "user.name", "Ada")  # a name alone: the email is still Shipyard's
    (origin / "y.txt").write_text("y\n")
    await commit_all(origin, "ada's")
    assert sh(origin, "log", "-1", "--format=%an <%ae>").strip() == "Ada <shipyard@localhost>"
    sh(origin, "config", "user.email", "ada@example.test")
    (origin / "z.txt").write_text("z\n")
    await commit_all(origin, "ada's own")
    assert sh(origin, "log", "-1", "--format=%an <%ae>").strip() == "Ada <ada@example.test>"


async def test_push_to_bare_origin(origin: Path, tmp_path: Path, sh: Sh) -> None:
    bare = tmp_path / "remote.git"
    sh(tmp_path, "init", "--quiet", "--bare", str(bare))
    sh(origin, "checkout", "--quiet", "-b", "wo/push")
    (origin / "p.txt").write_text("p\n")
    sha = await commit_all(origin, "to push")
    await push(origin, str(bare), "wo/push")
    assert sh(bare, "rev-parse", "refs/heads/wo/push").strip() == sha


async def test_push_to_non_bare_origin(origin: Path, tmp_path: Path, sh: Sh) -> None:
    clone = tmp_path / "clone"
    sh(tmp_path, "clone", "--quiet", str(origin), str(clone))
    sh(clone, "checkout", "--quiet", "-b", "wo/feature")
    (clone / "f.txt").write_text("f\n")
    sha = await commit_all(clone, "feature", phase="implementing")
    await push(clone, str(origin), "wo/feature")
    assert sh(origin, "rev-parse", "refs/heads/wo/feature").strip() == sha
    assert sh(origin, "symbolic-ref", "--short", "HEAD").strip() == "main"


async def test_push_failure_names_branch_and_remote(origin: Path, tmp_path: Path) -> None:
    with pytest.raises(GitError) as caught:
        await push(origin, str(tmp_path / "no-remote"), "main")
    assert f"cannot push branch 'main' to {tmp_path / 'no-remote'}" in caught.value.message


async def test_is_git_repo(origin: Path, tmp_path: Path, sh: Sh) -> None:
    sh(tmp_path, "init", "--quiet", "--bare", "bare.git")
    (tmp_path / "plain").mkdir()
    (origin / "sub").mkdir()
    assert await is_git_repo(origin)
    assert await is_git_repo(tmp_path / "bare.git")
    assert not await is_git_repo(origin / "sub")
    assert not await is_git_repo(origin / ".git")  # a git dir, not a working tree or a bare repository
    assert not await is_git_repo(tmp_path / "plain")
    assert not await is_git_repo(tmp_path / "missing")
