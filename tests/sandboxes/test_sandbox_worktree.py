"""The git_worktree sandbox: many work orders on one repository at once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from shipyard.config import Settings
from shipyard.domain.errors import GitError, InvalidInput, SandboxError
from shipyard.domain.models import SandboxSpec
from shipyard.gitutil import commit_all, progress
from shipyard.sandboxes.bwrap import BwrapSandbox
from shipyard.sandboxes.git_branch import GitBranchSandbox
from shipyard.sandboxes.git_worktree import GitWorktreeSandbox
from shipyard.sandboxes.registry import SANDBOX_NAMES, build_sandbox

Sh = Callable[..., str]


def exists(path: Path) -> bool:
    return path.exists()


def spec(origin: Path, n: int, base: str | None = None) -> SandboxSpec:
    wo = f"wo-0000000{n}"
    return SandboxSpec(work_order_id=wo, repository_url=str(origin), branch=f"wo/{wo}", base_branch=base)


async def test_five_concurrent_setups_are_isolated(origin: Path, settings: Settings, sh: Sh) -> None:
    sandbox = GitWorktreeSandbox(settings)
    handles = await asyncio.gather(*(sandbox.setup(spec(origin, n)) for n in range(5)))

    main_sha = sh(origin, "rev-parse", "main").strip()
    assert len({h.path for h in handles}) == len({h.branch for h in handles}) == 5
    for n, handle in enumerate(handles):
        assert handle.path == str(settings.sandboxes_dir / f"wo-0000000{n}")
        assert (handle.sandbox_type, handle.base_branch, handle.base_sha) == (
            "git_worktree", "main", main_sha,
        )  # fmt: skip
        assert sh(Path(handle.path), "branch", "--show-current").strip() == handle.branch
    mirror = Path(handles[0].extra["mirror"])
    assert all(h.extra["mirror"] == str(mirror) for h in handles)

    result = await sandbox.workspace(handles[0]).exec("echo secret-plan > only-here.txt")
    assert result.ok
    assert [exists(Path(h.path, "only-here.txt")) for h in handles] == [True] + [False] * 4

    await asyncio.gather(*(sandbox.cleanup(h) for h in handles))
    assert not any(exists(Path(h.path)) for h in handles)
    listed = sh(mirror, "worktree", "list", "--porcelain")
    assert [ln for ln in listed.splitlines() if ln.startswith("worktree ")] == [f"worktree {mirror}"]
    await sandbox.cleanup(handles[0])  # idempotent


async def test_commits_stay_on_the_branch_after_cleanup(origin: Path, settings: Settings, sh: Sh) -> None:
    sandbox = GitWorktreeSandbox(settings)
    handle = await sandbox.setup(spec(origin, 1, base="develop"))
    assert handle.base_sha == sh(origin, "rev-parse", "develop").strip()
    assert exists(Path(handle.path, "dev.txt"))
    await sandbox.workspace(handle).exec("printf 'a\\nb\\n' > new.txt")
    sha = await commit_all(Path(handle.path), "build: new", phase="implementing")
    got = await progress(Path(handle.path), handle.base_sha)
    assert (got.commit_count, got.files_changed, got.lines_added) == (1, 1, 2)
    await sandbox.cleanup(handle)
    mirror = Path(handle.extra["mirror"])
    assert sh(mirror, "rev-parse", f"refs/heads/{handle.branch}").strip() == sha


async def test_unknown_base_branch_lists_branches(origin: Path, settings: Settings) -> None:
    with pytest.raises(SandboxError) as caught:
        await GitWorktreeSandbox(settings).setup(spec(origin, 1, base="release"))
    message = caught.value.message
    assert "base branch 'release' does not exist" in message
    assert "existing branches: develop, main" in message
    assert not (settings.sandboxes_dir / "wo-00000001").exists()


async def test_missing_repository_names_it(tmp_path: Path, settings: Settings) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(GitError) as caught:
        await GitWorktreeSandbox(settings).setup(spec(missing, 1))
    assert f"cannot clone repository {missing}" in caught.value.message
    assert "does not exist" in caught.value.message


async def test_work_order_id_must_be_a_plain_name(origin: Path, settings: Settings) -> None:
    bad = SandboxSpec(work_order_id="../escape", repository_url=str(origin), branch="wo/x")
    with pytest.raises(SandboxError, match="cannot name a sandbox directory"):
        await GitWorktreeSandbox(settings).setup(bad)


def test_registry_builds_by_name(settings: Settings) -> None:
    assert SANDBOX_NAMES == ("bwrap", "dagger", "docker", "e2b", "git_branch", "git_worktree")
    assert isinstance(build_sandbox("git_worktree", settings), GitWorktreeSandbox)
    assert isinstance(build_sandbox("git_branch", settings), GitBranchSandbox)
    assert isinstance(build_sandbox("bwrap", settings), BwrapSandbox)
    with pytest.raises(InvalidInput) as caught:
        build_sandbox("x", settings)
    assert (
        caught.value.message
        == "unknown sandbox 'x'; known: bwrap, dagger, docker, e2b, git_branch, git_worktree"
    )


def test_registry_names_are_the_adapters_own(settings: Settings) -> None:
    """The registry names each adapter as a string (so that listing names loads no SDK)."""
    assert [build_sandbox(name, settings).name for name in SANDBOX_NAMES] == list(SANDBOX_NAMES)


async def test_a_follow_up_continues_from_what_origin_has_on_the_branch(
    origin: Path, settings: Settings, sh: Sh
) -> None:
    sandbox = GitWorktreeSandbox(settings)
    first = await sandbox.setup(spec(origin, 1))
    await sandbox.workspace(first).exec("echo one > one.txt")
    ours = await commit_all(Path(first.path), "one")
    sh(Path(first.path), "push", "--quiet", str(origin), f"{first.branch}:{first.branch}")
    await sandbox.cleanup(first)
    # Someone adds a commit to the pull request's branch on origin.
    sh(origin, "checkout", "--quiet", first.branch)
    (origin / "theirs.txt").write_text("theirs\n")
    sh(origin, "add", "theirs.txt")
    sh(origin, "commit", "--quiet", "-m", "theirs")
    theirs = sh(origin, "rev-parse", "HEAD").strip()
    sh(origin, "checkout", "--quiet", "main")

    follow_up = SandboxSpec(work_order_id="wo-00000002", repository_url=str(origin), branch=first.branch)
    second = await sandbox.setup(follow_up)
    assert sh(Path(second.path), "rev-parse", "HEAD").strip() == theirs
    assert sh(Path(second.path), "merge-base", "--is-ancestor", ours, "HEAD") == ""
    assert second.base_sha == first.base_sha  # progress still counts from where the branch began
