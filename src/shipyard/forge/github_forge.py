"""The `github` forge: one repository on GitHub (or GitHub Enterprise, or a fake at `github_api_url`).

Idempotent by construction: the pull request is found by its head branch before one is opened,
and GitHub's "already exists" answer to a create counts as found. A retried activity, a retried
work order or a restarted worker therefore updates the same pull request instead of opening a
second. The token (personal, or a GitHub App's installation token) is fetched on the first call
and reaches git only through its environment (gitutil.auth), never a URL. githubkit is imported
on that first call too, so a process that only names forges never loads it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from shipyard.config import Settings
from shipyard.domain.errors import Conflict, ForgeError, InvalidInput
from shipyard.domain.models import SandboxHandle
from shipyard.forge.github_repo import NO_TOKEN, RepoRef, check_dispatch, parse_repository
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
from shipyard.gitutil import progress, push

if TYPE_CHECKING:
    from shipyard.forge.github import GitHubClient, PullRef

_SHA_CHARS = frozenset("0123456789abcdef")


class GitHubForge:
    """Issues, pull requests, branches and releases of one GitHub repository."""

    name = "github"
    hosted = True

    def __init__(self, settings: Settings, repository_url: str) -> None:
        self.settings = settings
        self.repository_url = repository_url
        self.ref = parse_repository(repository_url)
        self.repository = self.ref.full_name if self.ref else repository_url
        self._token: SecretStr | None = None
        self._client: GitHubClient | None = None

    async def git_token(self, required: bool = False) -> SecretStr | None:
        if self._token is None:
            from shipyard.forge.github_auth import github_token

            self._token = await github_token(self.settings, self.ref)
        if self._token is None and required:
            raise ForgeError(NO_TOKEN)
        return self._token

    async def require_access(self) -> None:
        if self.ref is None or (
            "://" not in self.repository_url and not self.repository_url.startswith("git@")
        ):
            raise InvalidInput(f"forge 'github' needs a GitHub repository URL, not '{self.repository_url}'")
        if await self.git_token() is None:
            raise InvalidInput(f"forge 'github': {NO_TOKEN}")

    async def check_repository(self) -> tuple[RepositoryCheck, str | None]:
        ref = self._repo()
        check = RepositoryCheck(
            repository_owner=ref.owner, repository_name=ref.name, repository_url=self.repository_url
        )
        try:
            token = await self.git_token()
        except ForgeError as err:  # a GitHub App that is not installed there, say
            return check, err.message
        if token is None:
            return check, NO_TOKEN
        return await (await self._api()).check_repository(self.repository_url, ref)

    async def push(self, handle: SandboxHandle) -> None:
        token = await self.git_token(required=True)
        assert token is not None
        await push(Path(handle.path), handle.repository_url, handle.branch, token=token.get_secret_value())

    async def create_branch(self, branch: str, from_ref: str) -> BranchRef:
        api, ref = await self._api(), self._repo()
        sha = from_ref if _is_sha(from_ref) else await api.branch_sha(ref, from_ref)
        return await api.create_branch(ref, branch, sha)

    async def list_branches(self) -> list[BranchRef]:
        return await (await self._api()).list_branches(self._repo())

    async def list_check_runs(self, ref: str) -> list[CheckRun]:
        """A branch is read as the commit it points at now: the runs are that commit's."""
        api, repo = await self._api(), self._repo()
        sha = ref if _is_sha(ref) else await api.branch_sha(repo, ref)
        return await api.list_check_runs(repo, sha)

    def check_dispatch(self, event_type: str, client_payload: dict[str, Any]) -> None:
        check_dispatch(event_type, client_payload)

    async def dispatch(self, event_type: str, client_payload: dict[str, Any]) -> None:
        await (await self._api()).dispatch(self._repo(), event_type, client_payload)

    async def get_issue(self, number: int) -> IssueInfo:
        return await (await self._api()).get_issue(self._repo(), number)

    async def list_comments(self, number: int) -> list[IssueComment]:
        return await (await self._api()).list_comments(self._repo(), number)

    async def comment(self, number: int, body: str) -> CommentRef:
        return await (await self._api()).create_comment(self._repo(), number, body)

    async def edit_comment(self, comment_id: int, body: str) -> CommentRef:
        return await (await self._api()).update_comment(self._repo(), comment_id, body)

    async def permission(self, username: str) -> str:
        return await (await self._api()).permission(self._repo(), username)

    async def add_labels(self, number: int, labels: list[str]) -> list[str]:
        return await (await self._api()).add_labels(self._repo(), number, labels)

    async def remove_label(self, number: int, label: str) -> None:
        await (await self._api()).remove_label(self._repo(), number, label)

    async def create_issue(self, title: str, body: str) -> IssueInfo:
        return await (await self._api()).create_issue(self._repo(), title, body)

    async def create_sub_issue(self, parent: int, title: str, body: str) -> IssueInfo:
        api, ref = await self._api(), self._repo()
        issue = await api.create_issue(ref, title, body)
        await api.add_sub_issue(ref, parent, issue.id)
        return issue.model_copy(update={"parent_number": parent})

    async def add_sub_issue(self, parent: int, issue: IssueInfo) -> None:
        await (await self._api()).add_sub_issue(self._repo(), parent, issue.id)

    async def find_issue(self, text: str, since: datetime) -> IssueInfo | None:
        """Read from the repository's list of issues, not from GitHub's search, whose index lags
        behind: an issue opened a moment ago is listed already."""
        issues = await (await self._api()).list_issues(self._repo(), since)
        return next((issue for issue in issues if text in issue.body), None)

    async def get_pr(self, number: int) -> PullRequestInfo:
        return _info(await (await self._api()).get_pull(self._repo(), number))

    async def find_pr(self, head_branch: str) -> PullRequestInfo | None:
        pull = await (await self._api()).find_open_pull(self._repo(), head_branch)
        return None if pull is None else _info(pull)

    async def list_prs(self, state: PullState = "open") -> list[PullRequestInfo]:
        return [_info(pull) for pull in await (await self._api()).list_pulls(self._repo(), state)]

    async def open_pr(
        self, head: str, base: str, title: str, body: str, draft: bool = False
    ) -> PullRequestInfo:
        """GitHub's refusal to open it (422: a branch it does not know, no commits between them) is
        bad input, in GitHub's words."""
        from shipyard.forge.github import GitHubFailed

        api = await self._api()
        try:
            return _info(await api.create_pull(self._repo(), head, base, title or head, body, draft=draft))
        except GitHubFailed as err:
            if err.status != 422:
                raise
            raise InvalidInput(err.message) from None

    async def open_or_update_pr(self, handle: SandboxHandle, spec: PullRequestSpec) -> PullRequestInfo:
        """Find the branch's open pull request or open one; bring title, body and draft state in line."""
        api, ref = await self._api(), self._repo()
        pull = await api.find_open_pull(ref, handle.branch)
        if pull is None:
            title = spec.title or handle.branch
            pull = await api.create_pull(
                ref, handle.branch, handle.base_branch, title, spec.body, draft=spec.draft is not False
            )
        elif (spec.title and spec.title != pull.title) or (spec.body and spec.body != pull.body):
            pull = await api.update_pull(ref, pull.number, title=spec.title, body=spec.body or None)
        if spec.draft is False and pull.draft:
            await api.mark_ready(pull.node_id)
            pull = pull.model_copy(update={"draft": False})
        stats = await progress(Path(handle.path), handle.base_sha)
        return _info(pull).model_copy(
            update={
                "commits": stats.commit_count,
                "files_changed": stats.files_changed,
                "lines_added": stats.lines_added,
                "lines_removed": stats.lines_removed,
            }
        )

    async def merge_pr(self, number: int, method: MergeMethod = "merge") -> MergeResult:
        """Merge; Conflict when GitHub will not (405: not mergeable; 409: its head moved), as the
        local forge says when the branches do not merge cleanly."""
        from shipyard.forge.github import GitHubFailed

        try:
            return await (await self._api()).merge_pull(self._repo(), number, method)
        except GitHubFailed as err:
            if err.status in (405, 409):
                raise Conflict(err.message) from err
            raise

    async def list_reviews(self, number: int) -> list[ReviewInfo]:
        return await (await self._api()).list_reviews(self._repo(), number)

    async def list_review_comments(self, number: int) -> list[ReviewComment]:
        return await (await self._api()).list_review_comments(self._repo(), number)

    async def create_review(self, number: int, spec: ReviewSpec) -> ReviewInfo:
        return await (await self._api()).create_review(self._repo(), number, spec)

    async def reply_to_review_comment(self, number: int, comment_id: int, body: str) -> CommentRef:
        return await (await self._api()).reply_to_review_comment(self._repo(), number, comment_id, body)

    async def create_release(self, tag: str, target_branch: str, name: str, notes: str) -> ReleaseInfo:
        """A GitHub release (GitHub makes the tag) of the commit `target_branch` points at now."""
        api, ref = await self._api(), self._repo()
        sha = await api.branch_sha(ref, target_branch)
        return await api.create_release(ref, tag, sha, name, notes)

    async def create_deployment(
        self, environment: str, description: str, shipyard_id: str, payload: dict[str, Any]
    ) -> int | None:
        api, ref = await self._api(), self._repo()
        return await api.create_deployment(ref, environment, description, shipyard_id, payload)

    async def set_deployment_status(
        self, deployment_id: int, state: DeploymentState, description: str, environment_url: str | None = None
    ) -> None:
        api, ref = await self._api(), self._repo()
        await api.set_deployment_status(ref, deployment_id, state, description, environment_url)

    def _repo(self) -> RepoRef:
        if self.ref is None:
            raise ForgeError(f"'{self.repository_url}' does not name a GitHub repository (owner/name)")
        return self.ref

    async def _api(self) -> GitHubClient:
        """The client, made with the token on first use (githubkit loads here)."""
        if self._client is None:
            from shipyard.forge.github import GitHubClient

            token = await self.git_token(required=True)
            assert token is not None
            self._client = GitHubClient(self.settings, token)
        return self._client


def _is_sha(ref: str) -> bool:
    return len(ref) == 40 and set(ref) <= _SHA_CHARS


def _info(pull: PullRef) -> PullRequestInfo:
    return PullRequestInfo(
        number=pull.number,
        url=pull.html_url,
        title=pull.title,
        body=pull.body,
        head_branch=pull.head_branch,
        base_branch=pull.base_branch,
        state=pull.state,
        draft=pull.draft,
    )
