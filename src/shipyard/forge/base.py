"""The Forge protocol."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel

from shipyard.domain.models import SandboxHandle


class PullRequestSpec(BaseModel):
    """What the pull request should say. `None` keeps what it has (or a default when opening)."""

    work_order_id: str
    title: str | None = None
    body: str = ""
    draft: bool | None = None  # True: opened as a draft; False: marked ready; None: as it is


class PullRequestInfo(BaseModel):
    number: int
    url: str
    title: str
    body: str
    head_branch: str
    base_branch: str
    state: str  # open | closed | merged
    draft: bool = False
    commits: int = 0
    files_changed: int = 0
    lines_added: int = 0
    lines_removed: int = 0


class Forge(Protocol):
    """Pushes a work order's branch and opens or updates its pull request."""

    name: str

    async def push(self, handle: SandboxHandle) -> None:
        """Push the sandbox's branch to the repository's origin."""
        ...

    async def open_or_update_pr(self, handle: SandboxHandle, spec: PullRequestSpec) -> PullRequestInfo:
        """Open the branch's pull request, or update the one already open (idempotent)."""
        ...
