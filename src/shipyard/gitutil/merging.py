"""Bringing another branch's commits into a working tree: a call's child, merged onto its parent's branch."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from shipyard.gitutil.auth import token_env
from shipyard.gitutil.commit import head_sha, identity_options
from shipyard.gitutil.mirror import clone_source
from shipyard.gitutil.run import failure, git, redact, run_git

_FETCH_TIMEOUT_S = 3600.0


@dataclass
class Merged:
    """A merge's outcome: the new commit, or the files that conflicted (nothing was changed then)."""

    sha: str | None = None
    conflicts: list[str] = field(default_factory=list)


async def has_commit(path: Path, sha: str) -> bool:
    """Whether the repository at `path` holds commit `sha` (a worktree of a shared mirror holds
    every branch made beside it)."""
    return (await run_git("cat-file", "-e", f"{sha}^{{commit}}", cwd=path)).ok


async def fetch_branch(path: Path, remote_url: str, branch: str, *, token: str | None = None) -> None:
    """Fetch `branch` from `remote_url` into the repository at `path` (its objects; no ref changes)."""
    source = clone_source(remote_url)
    env = token_env(token, source) if token else None
    result = await run_git(
        "fetch", "--quiet", source, f"refs/heads/{branch}", cwd=path, env=env, timeout_s=_FETCH_TIMEOUT_S
    )
    if not result.ok:
        raise failure(result, f"cannot fetch branch {branch!r} from {redact(source)}", (token,))


async def merge_of(path: Path, sha: str) -> str | None:
    """The merge commit in the history of HEAD at `path` that brought commit `sha` in (None: none
    did), so that merging the same commit again is not done twice."""
    listed = await git("rev-list", "--merges", "--parents", "--ancestry-path", f"{sha}..HEAD", cwd=path)
    for line in listed.splitlines():
        merge, _first, *merged = line.split()
        if sha in merged:
            return merge
    return None


async def merge_commit(path: Path, sha: str, message: str) -> Merged:
    """Merge commit `sha` into the branch checked out at `path` (always a merge commit, hooks not
    run). On a conflict the merge is undone and the conflicting files named."""
    options = await identity_options(path)
    merged = await run_git(
        *options, "merge", "--no-ff", "--no-verify", "--no-edit", "-m", message, sha, cwd=path
    )
    if merged.ok:
        return Merged(sha=await head_sha(path))
    unmerged = await git("diff", "--name-only", "--diff-filter=U", "-z", cwd=path)
    conflicts = [name for name in unmerged.split("\0") if name]
    if not conflicts:  # refused before it began (a file it would overwrite, say): nothing to undo
        raise failure(merged, f"cannot merge {sha[:12]}")
    await git("merge", "--abort", cwd=path)
    return Merged(conflicts=conflicts)
