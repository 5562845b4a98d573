"""The local forge: pull requests as rows in Shipyard's store, for repositories on disk or any git
remote; releases as annotated tags. It keeps no issues, reviews or automation: those calls say so
(ForgeError), or, for listing reviews, answer that there are none."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import SecretStr

from shipyard.domain.errors import ForgeError, InvalidInput
from shipyard.domain.models import SandboxHandle
from shipyard.forge import local_git
from shipyard.forge.models import (
    BranchRef,
    CheckRun,
    CommentRef,
    DeploymentState,
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
    ReviewInfo,
    ReviewSpec,
)
from shipyard.gitutil import is_git_repo, progress, push, run_git


class SavedPullRequest(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def number(self) -> int: ...
    @property
    def work_order_id(self) -> str | None: ...
    @property
    def url(self) -> str | None: ...
    @property
    def head_branch(self) -> str: ...
    @property
    def base_branch(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def draft(self) -> bool: ...
    @property
    def commits(self) -> int: ...
    @property
    def files_changed(self) -> int: ...
    @property
    def lines_added(self) -> int: ...
    @property
    def lines_removed(self) -> int: ...


class PullRequestRows(Protocol):
    """The part of the store the local forge reads and writes."""

    async def save_pull_request(self, work_order_id: str, **fields: Any) -> SavedPullRequest: ...

    async def get_pull_request(self, number: int, repository_url: str | None = None) -> SavedPullRequest: ...

    async def open_pull_request(self, repository_url: str, **fields: Any) -> SavedPullRequest: ...

    async def update_pull_request(self, id: int, **fields: Any) -> SavedPullRequest: ...

    async def list_pull_requests(
        self, repository_url: str, states: Sequence[str] = (), head_branch: str | None = None
    ) -> Sequence[SavedPullRequest]: ...


_STATES: dict[PullState, tuple[str, ...]] = {"open": ("open",), "closed": ("closed", "merged"), "all": ()}


def local_pr_url(number: int) -> str:
    """Where the API serves a local pull request."""
    return f"/api/pull-requests/{number}"


class LocalForge:
    """Pull requests as rows in Shipyard's own store; branches and merges in a repository on disk."""

    name = "local"
    hosted = False

    def __init__(self, rows: PullRequestRows | None, repository_url: str) -> None:
        self._rows = rows
        self.repository = self.repository_url = repository_url

    async def git_token(self, required: bool = False) -> SecretStr | None:
        return None

    async def require_access(self) -> None:
        return None

    async def check_repository(self) -> tuple[RepositoryCheck, str | None]:
        path = local_git.on_disk(self.repository_url)
        url = self.repository_url
        check = RepositoryCheck(repository_owner="local", repository_name=path.name, repository_url=url)
        if not await is_git_repo(path):
            return check, f"{path} is not a git repository"
        head = await run_git("symbolic-ref", "--quiet", "--short", "HEAD", cwd=path)
        check.default_branch = head.stdout.strip() if head.ok else None
        check.is_accessible, check.access_verified_at = True, datetime.now(UTC)
        return check, None

    async def push(self, handle: SandboxHandle) -> None:
        await push(Path(handle.path), handle.repository_url, handle.branch)

    async def create_branch(self, branch: str, from_ref: str) -> BranchRef:
        sha = await local_git.create_branch(local_git.on_disk(self.repository_url), branch, from_ref)
        return BranchRef(name=branch, sha=sha)

    async def list_branches(self) -> list[BranchRef]:
        pairs = await local_git.branches(local_git.on_disk(self.repository_url))
        return [BranchRef(name=name, sha=sha) for name, sha in pairs]

    async def list_check_runs(self, ref: str) -> list[CheckRun]:
        """None: no CI runs here (CI reports to a work order by dispatch, naming it)."""
        return []

    def check_dispatch(self, event_type: str, client_payload: dict[str, Any]) -> None:
        raise ForgeError(self._lacks("automation to dispatch to"))

    async def dispatch(self, event_type: str, client_payload: dict[str, Any]) -> None:
        self.check_dispatch(event_type, client_payload)

    async def get_issue(self, number: int) -> IssueInfo:
        raise ForgeError(self._lacks("issues"))

    async def list_comments(self, number: int) -> list[IssueComment]:
        return []  # the local forge keeps no issue threads

    async def comment(self, number: int, body: str) -> CommentRef:
        raise ForgeError(self._lacks("issue threads"))

    async def edit_comment(self, comment_id: int, body: str) -> CommentRef:
        raise ForgeError(self._lacks("issue threads"))

    async def permission(self, username: str) -> str:
        raise ForgeError(self._lacks("collaborators"))

    async def add_labels(self, number: int, labels: list[str]) -> list[str]:
        raise ForgeError(self._lacks("labels"))

    async def remove_label(self, number: int, label: str) -> None:
        raise ForgeError(self._lacks("labels"))

    async def create_issue(self, title: str, body: str) -> IssueInfo:
        raise ForgeError(self._lacks("issues"))

    async def create_sub_issue(self, parent: int, title: str, body: str) -> IssueInfo:
        raise ForgeError(self._lacks("issues"))

    async def add_sub_issue(self, parent: int, issue: IssueInfo) -> None:
        raise ForgeError(self._lacks("issues"))

    async def find_issue(self, text: str, since: datetime) -> IssueInfo | None:
        raise ForgeError(self._lacks("issues"))

    async def get_pr(self, number: int) -> PullRequestInfo:
        """The stored pull request `number` of this repository (NotFound names it otherwise)."""
        return _info(await self._store().get_pull_request(number, self.repository_url))

    async def find_pr(self, head_branch: str) -> PullRequestInfo | None:
        rows = await self._store().list_pull_requests(self.repository_url, ("open",), head_branch)
        return _info(rows[0]) if rows else None

    async def list_prs(self, state: PullState = "open") -> list[PullRequestInfo]:
        rows = await self._store().list_pull_requests(self.repository_url, _STATES[state])
        return [_info(row) for row in rows]

    async def open_pr(
        self, head: str, base: str, title: str, body: str, draft: bool = False
    ) -> PullRequestInfo:
        """A stored pull request of no work order, counted from where `head` parts from `base`."""
        stats = await local_git.compare(local_git.on_disk(self.repository_url), base, head)
        if not stats.commit_count:
            raise InvalidInput(f"no commits between {base} and {head}: nothing to pull")
        rows = self._store()
        for row in await rows.list_pull_requests(self.repository_url, ("open",), head):
            if row.base_branch == base:
                return _info(row)
        row = await rows.open_pull_request(
            self.repository_url, title=title or head, body=body, head_branch=head, base_branch=base,
            state="open", draft=draft, commits=stats.commit_count, files_changed=stats.files_changed,
            lines_added=stats.lines_added, lines_removed=stats.lines_removed,
        )  # fmt: skip
        return _info(await rows.update_pull_request(row.id, url=local_pr_url(row.number)))

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
        row = await self._store().save_pull_request(spec.work_order_id, **fields)
        url = local_pr_url(row.number)
        await self._store().save_pull_request(spec.work_order_id, url=url)
        return PullRequestInfo(number=row.number, url=url, **fields)

    async def merge_pr(self, number: int, method: MergeMethod = "merge") -> MergeResult:
        """Merge the pull request's branch into its base in the repository on disk; mark it merged."""
        row = await self._store().get_pull_request(number, self.repository_url)
        message = f"Merge pull request #{number} from {row.head_branch}\n\n{row.title}"
        repo = local_git.on_disk(self.repository_url)
        sha = await local_git.merge(repo, row.head_branch, row.base_branch, message, method)
        await self._store().update_pull_request(row.id, state="merged")
        return MergeResult(number=number, sha=sha)

    async def list_reviews(self, number: int) -> list[ReviewInfo]:
        """None: nobody reviews on the local forge (the dashboard's gates are its approvals)."""
        await self._store().get_pull_request(number, self.repository_url)  # NotFound names it
        return []

    async def list_review_comments(self, number: int) -> list[ReviewComment]:
        raise ForgeError(self._lacks("review comments"))

    async def create_review(self, number: int, spec: ReviewSpec) -> ReviewInfo:
        raise ForgeError(self._lacks("reviews to submit"))

    async def reply_to_review_comment(self, number: int, comment_id: int, body: str) -> CommentRef:
        raise ForgeError(self._lacks("review comments"))

    async def create_release(self, tag: str, target_branch: str, name: str, notes: str) -> ReleaseInfo:
        """An annotated tag in the repository on disk; its message is the release (no page to link)."""
        repo = local_git.on_disk(self.repository_url)
        sha = await local_git.create_tag(repo, tag, target_branch, f"{name}\n\n{notes}")
        return ReleaseInfo(tag=tag, name=name, sha=sha)

    async def create_deployment(
        self, environment: str, description: str, shipyard_id: str, payload: dict[str, Any]
    ) -> int | None:
        return None  # Shipyard's own record is the only one

    async def set_deployment_status(
        self, deployment_id: int, state: DeploymentState, description: str, environment_url: str | None = None
    ) -> None:
        return None

    def _store(self) -> PullRequestRows:
        if self._rows is None:
            raise ForgeError("the local forge needs Shipyard's store for pull requests")
        return self._rows

    def _lacks(self, what: str) -> str:
        return f"the local forge keeps no {what} (repository {self.repository_url})"


def _info(row: SavedPullRequest) -> PullRequestInfo:
    return PullRequestInfo(
        number=row.number,
        url=row.url or local_pr_url(row.number),
        title=row.title,
        body=row.body,
        head_branch=row.head_branch,
        base_branch=row.base_branch,
        state=row.state,
        draft=row.draft,
        commits=row.commits,
        files_changed=row.files_changed,
        lines_added=row.lines_added,
        lines_removed=row.lines_removed,
    )
