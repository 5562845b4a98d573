"""Progress read back from git: commits since the base, their phases, and the diff totals."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field

from shipyard.gitutil.commit import PHASE_TRAILER
from shipyard.gitutil.run import git

_RECORD = "\x1e"
_FIELD = "\x1f"
_LOG_FORMAT = f"{_RECORD}%H{_FIELD}%s{_FIELD}%cI{_FIELD}%(trailers:key={PHASE_TRAILER},valueonly){_FIELD}"
_PLAIN_PATHS = ("-c", "core.quotepath=off")
_PREFIXES = ("--src-prefix=a/", "--dst-prefix=b/")
_FILES = re.compile(r"(\d+) files? changed")
_ADDED = re.compile(r"(\d+) insertions?\(\+\)")
_REMOVED = re.compile(r"(\d+) deletions?\(-\)")


class CommitInfo(BaseModel):
    """One commit on the branch, with its own diff stat against its first parent."""

    sha: str
    message: str  # the subject line
    phase: str | None = None  # from the `Shipyard-Phase` trailer
    committed_at: datetime
    files_changed: int = 0
    lines_added: int = 0
    lines_removed: int = 0


class GitProgress(BaseModel):
    """What a branch holds beyond its base; totals match `git diff --shortstat base ref` (none
    while it has no commits beyond the base)."""

    commit_count: int = 0
    files_changed: int = 0
    lines_added: int = 0
    lines_removed: int = 0
    latest_commit_sha: str | None = None
    latest_commit_message: str | None = None
    commits: list[CommitInfo] = Field(default_factory=list)  # oldest first


async def progress(path: Path, base_sha: str, ref: str = "HEAD") -> GitProgress:
    """Commits, files and lines changed from `base_sha` to `ref` in the repository at `path`: one
    git call while the branch has no commits of its own (nothing changed then), two after."""
    commits = await _commits(path, f"{base_sha}..{ref}")
    files = added = removed = 0
    if commits:
        files, added, removed = parse_shortstat(
            await git("diff", "--shortstat", "--no-ext-diff", base_sha, ref, cwd=path)
        )
    latest = commits[-1] if commits else None
    return GitProgress(
        commit_count=len(commits),
        files_changed=files,
        lines_added=added,
        lines_removed=removed,
        latest_commit_sha=latest.sha if latest else None,
        latest_commit_message=latest.message if latest else None,
        commits=commits,
    )


async def diff(path: Path, base_sha: str, ref: str = "HEAD") -> str:
    """The unified diff from `base_sha` to `ref` (binary files as `Binary files … differ`).

    Paths are quoted only where they must be (tabs, newlines, quotes), not for being non-ASCII,
    and carry the `a/` `b/` prefixes whatever the user's `diff.noprefix` says.
    """
    return await git(
        *_PLAIN_PATHS, "diff", "--no-color", "--no-ext-diff", *_PREFIXES, base_sha, ref, cwd=path
    )


def parse_shortstat(text: str) -> tuple[int, int, int]:
    """(files changed, lines added, lines removed) from a `--shortstat` line; zeros if empty."""
    counts = (pattern.search(text) for pattern in (_FILES, _ADDED, _REMOVED))
    files, added, removed = (int(match.group(1)) if match else 0 for match in counts)
    return files, added, removed


async def _commits(path: Path, span: str) -> list[CommitInfo]:
    # Topological order puts the tip first, so reversed it is last even with skewed clocks.
    out = await git(
        "log",
        "--topo-order",
        "--reverse",
        "--shortstat",
        "--no-ext-diff",
        "--no-color",
        f"--format={_LOG_FORMAT}",
        span,
        cwd=path,
    )
    return [_parse_commit(record) for record in out.split(_RECORD) if record.strip()]


def _parse_commit(record: str) -> CommitInfo:
    sha, subject, committed_at, trailers, stat = record.split(_FIELD, 4)
    phases = [line.strip() for line in trailers.splitlines() if line.strip()]
    files, added, removed = parse_shortstat(stat)
    return CommitInfo(
        sha=sha,
        message=subject,
        phase=phases[-1] if phases else None,
        committed_at=datetime.fromisoformat(committed_at),
        files_changed=files,
        lines_added=added,
        lines_removed=removed,
    )
