"""The local forge: push the branch to the repository's origin and keep the PR record in our store."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from shipyard.domain.models import SandboxHandle
from shipyard.forge.base import PullRequestInfo, PullRequestSpec
from shipyard.gitutil import progress, push


class SavedPullRequest(Protocol):
    @property
    def number(self) -> int: ...


class PullRequestRows(Protocol):
    """The part of the store the local forge writes to."""

    async def save_pull_request(self, work_order_id: str, **fields: Any) -> SavedPullRequest: ...


def local_pr_url(number: int) -> str:
    """Where the API serves a local pull request."""
    return f"/api/pull-requests/{number}"


class LocalForge:
    """Pull requests as rows in Shipyard's own store, for repositories on disk or any git remote."""

    name = "local"

    def __init__(self, rows: PullRequestRows) -> None:
        self._rows = rows

    async def push(self, handle: SandboxHandle) -> None:
        await push(Path(handle.path), handle.repository_url, handle.branch)

    async def open_or_update_pr(self, handle: SandboxHandle, spec: PullRequestSpec) -> PullRequestInfo:
        stats = await progress(Path(handle.path), handle.base_sha)
        fields: dict[str, Any] = {
            "repository_url": handle.repository_url,
            "title": spec.title or handle.branch,
            "body": spec.body,
            "head_branch": handle.branch,
            "base_branch": handle.base_branch,
            "state": "open",
            "draft": bool(spec.draft),
            "commits": stats.commit_count,
            "files_changed": stats.files_changed,
            "lines_added": stats.lines_added,
            "lines_removed": stats.lines_removed,
        }
        row = await self._rows.save_pull_request(spec.work_order_id, **fields)
        url = local_pr_url(row.number)
        await self._rows.save_pull_request(spec.work_order_id, url=url)
        return PullRequestInfo(number=row.number, url=url, **fields)
