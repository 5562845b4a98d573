"""Worktrees of a mirror: one per work order, created and removed under the mirror's lock."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from shipyard.domain.errors import GitError
from shipyard.gitutil.lock import mirror_lock
from shipyard.gitutil.run import failure, git, run_git

_BRANCHES = ("refs/heads/", "refs/remotes/")


async def add_worktree(mirror: Path, path: Path, branch: str, base_ref: str) -> str:
    """Check out new branch `branch` at `base_ref` into `path`; returns the base commit sha.

    A retry after a crash finds the branch already there: it is checked out again (or the
    existing worktree reused) and the base is its merge base with `base_ref`. A branch origin
    has (a follow-up on an earlier work order's branch) continues from origin's tip when that
    is ahead, so commits people pushed to the pull request are kept.
    """
    target = _prepare(path)
    async with mirror_lock(mirror, shared=True):  # other work orders add theirs meanwhile
        local, remote = f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"
        # One call for the base's commit and whatever of the branch exists (a branch given as a
        # full ref name points at a commit; anything else is resolved on its own).
        refs = (base_ref, local, remote)
        listed = await git("for-each-ref", "--format=%(refname) %(objectname)", *refs, cwd=mirror)
        found = dict(line.split(" ", 1) for line in listed.splitlines() if " " in line)
        base_sha = found.pop(base_ref, None) if base_ref.startswith(_BRANCHES) else None
        base_sha = base_sha or await resolve_commit(mirror, base_ref)
        if not found:  # a new work order: nothing of its branch anywhere yet
            added = await run_git(
                "worktree", "add", "--quiet", "-b", branch, str(target), base_sha, cwd=mirror
            )
            if added.ok:
                return base_sha
        await git("worktree", "prune", cwd=mirror)  # forget worktrees whose directory is gone
        await _catch_up_with_origin(mirror, branch)
        if (await worktrees(mirror)).get(target) == branch:
            return await _merge_base(mirror, branch, base_sha)
        if await branch_exists(mirror, branch):
            await git("worktree", "add", "--quiet", str(target), branch, cwd=mirror)
            return await _merge_base(mirror, branch, base_sha)
        await git("worktree", "add", "--quiet", "-b", branch, str(target), base_sha, cwd=mirror)
        return base_sha


async def remove_worktree(mirror: Path, path: Path) -> None:
    """Remove the worktree at `path` (its branch and commits stay); fine if it is already gone."""
    if not _resolved(mirror).is_dir():
        return
    async with mirror_lock(mirror, shared=True):
        removed = await run_git("worktree", "remove", "--force", "--force", str(path), cwd=mirror)
        if removed.ok:
            return  # git removed the directory and its own record of it
        if _resolved(path) in await worktrees(mirror):  # e.g. files it cannot delete: ours to take away
            await asyncio.to_thread(shutil.rmtree, path, ignore_errors=True)
        await git("worktree", "prune", cwd=mirror)  # forget worktrees whose directory is gone


async def worktrees(mirror: Path) -> dict[Path, str | None]:
    """The linked worktrees of `mirror` and the branch each has checked out (None if detached)."""
    out = await git("worktree", "list", "--porcelain", cwd=mirror)
    found: dict[Path, str | None] = {}
    for block in out.strip().split("\n\n"):
        fields = {key: value for key, _, value in (ln.partition(" ") for ln in block.splitlines())}
        if "worktree" in fields and "bare" not in fields:
            branch = fields.get("branch")
            found[_resolved(Path(fields["worktree"]))] = (
                branch.removeprefix("refs/heads/") if branch else None
            )
    return found


async def resolve_commit(repo: Path, ref: str) -> str:
    """The commit sha `ref` names in `repo`; GitError if it names none."""
    result = await run_git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=repo)
    if not result.ok:
        raise failure(result, f"unknown ref {ref!r} in {repo}")
    return result.stdout.strip()


async def is_branch_name(name: str) -> bool:
    """Whether git accepts `name` as a branch name (`check-ref-format`; no leading dash)."""
    if not name or name.startswith("-"):
        return False
    return (await run_git("check-ref-format", f"refs/heads/{name}")).ok


def _resolved(path: Path) -> Path:
    return path.resolve()


def _prepare(path: Path) -> Path:
    """`path` made absolute, with its parent directory created."""
    target = path.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


async def branch_exists(repo: Path, branch: str) -> bool:
    """Whether the repository at `repo` has a local branch `branch`."""
    result = await run_git("show-ref", "--verify", "--quiet", f"refs/heads/{branch}", cwd=repo)
    return result.ok


async def _catch_up_with_origin(mirror: Path, branch: str) -> None:
    """Point `branch` at origin's copy when it is missing here or behind (never when it is ahead:
    a retried work order may hold commits it has not pushed yet)."""
    remote = f"refs/remotes/origin/{branch}"
    if not (await run_git("rev-parse", "--verify", "--quiet", remote, cwd=mirror)).ok:
        return
    local = f"refs/heads/{branch}"
    if await branch_exists(mirror, branch):
        behind = await run_git("merge-base", "--is-ancestor", local, remote, cwd=mirror)
        if not behind.ok or branch in (await worktrees(mirror)).values():  # ahead, or checked out
            return
    await git("update-ref", local, remote, cwd=mirror)


async def _merge_base(repo: Path, branch: str, base_sha: str) -> str:
    result = await run_git("merge-base", f"refs/heads/{branch}", base_sha, cwd=repo)
    if not result.ok:
        raise GitError(f"branch {branch!r} in {repo} shares no history with {base_sha}")
    return result.stdout.strip()
