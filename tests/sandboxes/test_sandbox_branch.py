"""The git_branch sandbox: a fresh clone per work order."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from shipyard.config import Settings
from shipyard.domain.errors import GitError, SandboxError
from shipyard.domain.models import SandboxSpec
from shipyard.gitutil import commit_all, push
from shipyard.sandboxes.git_branch import GitBranchSandbox

Sh = Callable[..., str]


def exists(path: Path) -> bool:
    return path.exists()


def spec(repo: Path, base: str | None = None) -> SandboxSpec:
    return SandboxSpec(
        work_order_id="wo-0000abcd", repository_url=str(repo), branch="wo/wo-0000abcd-x",
        base_branch=base,
    )  # fmt: skip


async def test_setup_exec_cleanup(origin: Path, settings: Settings, sh: Sh) -> None:
    sandbox = GitBranchSandbox(settings)
    handle = await sandbox.setup(spec(origin))
    path = Path(handle.path)
    assert path == settings.sandboxes_dir / "wo-0000abcd"
    assert (handle.sandbox_type, handle.base_branch) == ("git_branch", "main")
    assert handle.base_sha == sh(origin, "rev-parse", "main").strip()
    assert sh(path, "branch", "--show-current").strip() == "wo/wo-0000abcd-x"

    result = await sandbox.workspace(handle).exec("cat app.py && echo made > made.txt")
    assert (result.exit_code, result.stdout) == (0, "print('hello')\n")
    sha = await commit_all(path, "made", phase="implementing")
    await push(path, handle.repository_url, handle.branch)
    assert sh(origin, "rev-parse", "wo/wo-0000abcd-x").strip() == sha

    again = await sandbox.setup(spec(origin))  # a retried setup reuses the clone
    assert again.base_sha == handle.base_sha
    assert sh(path, "rev-parse", "HEAD").strip() == sha

    await sandbox.cleanup(handle)
    assert not exists(path)
    await sandbox.cleanup(handle)


async def test_other_base_branch(origin: Path, settings: Settings, sh: Sh) -> None:
    handle = await GitBranchSandbox(settings).setup(spec(origin, base="develop"))
    assert handle.base_sha == sh(origin, "rev-parse", "develop").strip()
    assert sh(Path(handle.path), "show", "HEAD:dev.txt") == "dev\n"


async def test_unknown_base_branch(origin: Path, settings: Settings) -> None:
    with pytest.raises(SandboxError) as caught:
        await GitBranchSandbox(settings).setup(spec(origin, base="nope"))
    assert caught.value.message == (
        f"base branch 'nope' does not exist in {origin}; existing branches: develop, main"
    )
    assert not (settings.sandboxes_dir / "wo-0000abcd").exists()


async def test_missing_repository(tmp_path: Path, settings: Settings) -> None:
    missing = tmp_path / "gone"
    with pytest.raises(GitError) as caught:
        await GitBranchSandbox(settings).setup(spec(missing))
    assert f"cannot clone repository {missing}" in caught.value.message
    assert f"repository '{missing}' does not exist" in caught.value.message
    assert not (settings.sandboxes_dir / "wo-0000abcd").exists()
