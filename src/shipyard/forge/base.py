"""The Forge protocol: four small protocols one adapter object implements, bound to one repository.

`ForgeRepos` (credentials, the repository, branches and the checks on them, dispatches),
`ForgeIssues` (issues, their threads, labels, sub-issues, permissions), `ForgePulls` (pull requests
and their reviews) and `ForgeReleases` (a tag and its release).
A caller gets a `Forge` for a name and a repository from `forge.registry` and never asks which
forge it holds: what differs between forges is what `hosted` says, and what the adapter does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pydantic import SecretStr

from shipyard.domain.models import SandboxHandle
from shipyard.forge.models import (
    BranchRef,
    CheckRun,
    CommentRef,
    DeploymentState,
    DiffSide,
    InlineComment,
    IssueComment,
    IssueInfo,
    MergeMethod,
    MergeResult,
    PullRequestInfo,
    PullRequestSpec,
    PullState,
    ReleaseInfo,
    RepositoryCheck,
    ReviewComment,
    ReviewEvent,
    ReviewInfo,
    ReviewSpec,
)

__all__ = [
    "BranchRef", "CheckRun", "CommentRef", "DiffSide", "Forge", "ForgeIssues", "ForgePulls", "ForgeReleases",
    "ForgeRepos", "InlineComment", "IssueInfo", "MergeMethod", "MergeResult", "PullRequestInfo",
    "PullRequestSpec", "PullState", "ReleaseInfo", "RepositoryCheck", "ReviewComment", "ReviewEvent",
    "ReviewInfo", "ReviewSpec",
]  # fmt: skip


class ForgeRepos(Protocol):
    """The repository: who may reach it, its branches and the checks on their commits, and events
    sent to it."""

    name: str
    repository: str  # how the forge names the repository (GitHub: owner/name; local: its URL)
    # A service people follow (issues, a web view): branches are pushed and a draft pull request is
    # opened as the work goes, and the issue's thread is kept. The local forge is Shipyard's store.
    hosted: bool

    async def git_token(self, required: bool = False) -> SecretStr | None:
        """The token git (and the API) use; None if the forge needs none or has none, unless `required`
        (then ForgeError saying how to get one)."""
        ...

    async def require_access(self) -> None:
        """InvalidInput naming what is missing when Shipyard cannot work on the repository here."""
        ...

    async def check_repository(self) -> tuple[RepositoryCheck, str | None]:
        """What the forge says about the repository, and why it is not accessible when it is not."""
        ...

    async def push(self, handle: SandboxHandle) -> None:
        """Push the sandbox's branch to the repository."""
        ...

    async def create_branch(self, branch: str, from_ref: str) -> BranchRef:
        """A new branch at `from_ref` (a branch name or a commit sha); Conflict if it exists."""
        ...

    async def list_branches(self) -> list[BranchRef]:
        """Every branch of the repository and the commit it points at, by name."""
        ...

    async def list_check_runs(self, ref: str) -> list[CheckRun]:
        """The latest check run of each name reported on commit `ref` (a commit sha, or a branch:
        the commit it points at); none on a forge that runs no CI."""
        ...

    def check_dispatch(self, event_type: str, client_payload: dict[str, Any]) -> None:
        """InvalidInput for a dispatch the forge would refuse, before anything is sent."""
        ...

    async def dispatch(self, event_type: str, client_payload: dict[str, Any]) -> None:
        """Send an event to the repository's automation (GitHub: `repository_dispatch`)."""
        ...


class ForgeIssues(Protocol):
    """Issues: open or find one, keep a thread of comments on it, label it, split it into sub-issues."""

    async def get_issue(self, number: int) -> IssueInfo:
        """Issue `number` (pull requests are issues too: `is_pull_request` tells them apart)."""
        ...

    async def list_comments(self, number: int) -> list[IssueComment]:
        """The conversation of issue (or pull request) `number`, oldest first (local: none)."""
        ...

    async def comment(self, number: int, body: str) -> CommentRef:
        """Comment on an issue or pull request."""
        ...

    async def edit_comment(self, comment_id: int, body: str) -> CommentRef:
        """Replace a comment's body."""
        ...

    async def permission(self, username: str) -> str:
        """`username`'s permission on the repository: admin, write, read or none."""
        ...

    async def add_labels(self, number: int, labels: list[str]) -> list[str]:
        """Add labels to an issue or pull request; the names it carries afterwards."""
        ...

    async def remove_label(self, number: int, label: str) -> None:
        """Take a label off an issue or pull request; a label it does not carry is fine."""
        ...

    async def create_issue(self, title: str, body: str) -> IssueInfo:
        """Open an issue of its own (the root of a tree: `create_sub_issue` opens those under it)."""
        ...

    async def create_sub_issue(self, parent: int, title: str, body: str) -> IssueInfo:
        """Open an issue and attach it as a sub-issue of issue `parent`."""
        ...

    async def add_sub_issue(self, parent: int, issue: IssueInfo) -> None:
        """Attach an issue already open as a sub-issue of issue `parent` (the last of its sub-issues)."""
        ...

    async def find_issue(self, text: str, since: datetime) -> IssueInfo | None:
        """The newest issue (not a pull request) changed since `since` whose body holds `text`: how a
        caller that marks what it opens finds one an earlier attempt opened but did not note."""
        ...


class ForgePulls(Protocol):
    """Pull requests: one per branch, opened early as a draft, updated, marked ready, merged;
    reviewed, and their review comments answered."""

    async def get_pr(self, number: int) -> PullRequestInfo:
        """Pull request `number`; when there is none, the forge's not-found error naming it (local:
        NotFound; GitHub: its 404)."""
        ...

    async def find_pr(self, head_branch: str) -> PullRequestInfo | None:
        """The open pull request from `head_branch`, if there is one."""
        ...

    async def list_prs(self, state: PullState = "open") -> list[PullRequestInfo]:
        """The repository's pull requests, newest first: `open`, `closed` (merged ones included,
        as GitHub lists them) or `all`."""
        ...

    async def open_pr(
        self, head: str, base: str, title: str, body: str, draft: bool = False
    ) -> PullRequestInfo:
        """Open a pull request from branch `head` into branch `base` (no sandbox: the branch is in the
        repository already), or answer the open one between them; InvalidInput when a branch is
        missing or `head` has no commits `base` lacks."""
        ...

    async def open_or_update_pr(self, handle: SandboxHandle, spec: PullRequestSpec) -> PullRequestInfo:
        """Open the branch's pull request (a draft if `spec.draft`), or bring the open one in line
        with `spec`: title, body, ready for review (idempotent)."""
        ...

    async def merge_pr(self, number: int, method: MergeMethod = "merge") -> MergeResult:
        """Merge pull request `number` into its base (`method`: merge, squash or rebase)."""
        ...

    async def list_reviews(self, number: int) -> list[ReviewInfo]:
        """The reviews of pull request `number`, oldest first."""
        ...

    async def list_review_comments(self, number: int) -> list[ReviewComment]:
        """Every review (inline) comment of pull request `number`, replies included, oldest first."""
        ...

    async def create_review(self, number: int, spec: ReviewSpec) -> ReviewInfo:
        """Submit a review of pull request `number` with its inline comments, all or nothing; a comment
        the forge cannot place (a line not in the diff) fails it with an error naming path:line."""
        ...

    async def reply_to_review_comment(self, number: int, comment_id: int, body: str) -> CommentRef:
        """Answer review comment `comment_id` of pull request `number` in its thread."""
        ...


class ForgeReleases(Protocol):
    """Releases: a tag on a branch's tip, published with its notes where the forge shows them."""

    async def create_release(self, tag: str, target_branch: str, name: str, notes: str) -> ReleaseInfo:
        """Tag the tip of `target_branch` as `tag` and publish release `name` with `notes` (local: an
        annotated tag whose message is `name`, a blank line and `notes`). Idempotent: when `tag`
        already names that commit, the existing release; Conflict naming both commits when it names
        another. A branch that does not exist fails with an error naming it."""
        ...


class ForgeDeployments(Protocol):
    """Deployments as the forge shows them (GitHub Deployments; the local forge shows none)."""

    async def create_deployment(
        self, environment: str, description: str, shipyard_id: str, payload: dict[str, Any]
    ) -> int | None:
        """The forge's deployment of `shipyard_id` to `environment`, of the repository's default
        branch (the same one when asked again); None where the forge keeps none."""
        ...

    async def set_deployment_status(
        self, deployment_id: int, state: DeploymentState, description: str, environment_url: str | None = None
    ) -> None:
        """Say how the deployment stands: in_progress, success, failure or inactive."""
        ...


class Forge(ForgeRepos, ForgeIssues, ForgePulls, ForgeReleases, ForgeDeployments, Protocol):
    """Everything Shipyard asks of a forge, for one repository."""
