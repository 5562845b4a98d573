"""The GitHub API calls Shipyard makes, through githubkit, each returning our small models.

Every answer is read as JSON, unvalidated (`_raw`): githubkit's models follow the newest API
version and refuse an answer that lacks a field GitHub leaves out under an older one (a label's
`archived_by`, a team's `type`); each reader takes what it needs, with defaults. Imported only
when a GitHub call is made (forge.github_forge imports it inside its methods), so naming a forge
loads no SDK.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from githubkit.utils import UNSET
from pydantic import BaseModel

from shipyard.domain.errors import Conflict, ForgeError
from shipyard.forge.github_base import GitHubApi, GitHubFailed
from shipyard.forge.github_repo import RepoRef, check_dispatch, parse_repository, token_for
from shipyard.forge.models import (
    BranchRef,
    CommentRef,
    IssueInfo,
    MergeMethod,
    MergeResult,
    RepositoryCheck,
    ReviewInfo,
)

__all__ = [
    "GitHubClient", "GitHubFailed", "PullRef", "RepoRef", "check_dispatch", "parse_repository", "token_for",
]  # fmt: skip

_ALREADY_EXISTS = "A pull request already exists"
_MARK_READY = """
mutation MarkReady($id: ID!) {
  markPullRequestReadyForReview(input: {pullRequestId: $id}) { pullRequest { isDraft } }
}
"""


class PullRef(BaseModel):
    """A pull request as Shipyard tracks it."""

    number: int
    node_id: str
    html_url: str
    state: str  # open | closed
    draft: bool
    head_branch: str
    base_branch: str
    title: str
    body: str


def _pull_ref(pull: dict[str, Any]) -> PullRef:
    """A pull request from GitHub's JSON (full or simple), fields it leaves out defaulted."""
    return PullRef(
        number=int(pull["number"]),
        node_id=str(pull.get("node_id") or ""),
        html_url=str(pull.get("html_url") or ""),
        state=str(pull.get("state") or "open"),
        draft=pull.get("draft") is True,
        head_branch=str((pull.get("head") or {}).get("ref") or ""),
        base_branch=str((pull.get("base") or {}).get("ref") or ""),
        title=str(pull.get("title") or ""),
        body=str(pull.get("body") or ""),
    )


def _issue_info(issue: dict[str, Any]) -> IssueInfo:
    """An issue from GitHub's JSON; labels come as objects or, in older answers, as names."""
    labels = [
        label if isinstance(label, str) else label.get("name") or "" for label in issue.get("labels") or []
    ]
    return IssueInfo(
        id=int(issue.get("id") or 0),
        number=int(issue["number"]),
        title=str(issue.get("title") or ""),
        body=str(issue.get("body") or ""),
        labels=[name for name in labels if name],
        html_url=str(issue.get("html_url") or ""),
        state=str(issue.get("state") or "open"),
        is_pull_request=bool(issue.get("pull_request")),
        author=str((issue.get("user") or {}).get("login") or "ghost"),
    )


def _comment_ref(comment: dict[str, Any]) -> CommentRef:
    return CommentRef(id=int(comment["id"]), html_url=str(comment.get("html_url") or ""))


def _review_info(review: dict[str, Any]) -> ReviewInfo:
    submitted = review.get("submitted_at")
    return ReviewInfo(
        id=int(review["id"]),
        author=str((review.get("user") or {}).get("login") or "ghost"),
        state=str(review.get("state") or "COMMENTED"),
        body=str(review.get("body") or ""),
        html_url=str(review.get("html_url") or ""),
        submitted_at=datetime.fromisoformat(submitted) if isinstance(submitted, str) else None,
    )


class GitHubClient(GitHubApi):
    """The GitHub API calls Shipyard makes, with one token."""

    async def check_repository(self, url: str, ref: RepoRef) -> tuple[RepositoryCheck, str | None]:
        """What GitHub says about the repository, and why it is not accessible when it is not."""
        check = RepositoryCheck(repository_owner=ref.owner, repository_name=ref.name, repository_url=url)
        try:
            repo = await self._raw(ref.full_name, self._github.rest.repos.async_get(ref.owner, ref.name))
        except ForgeError as err:
            return check, err.message
        check.repository_owner = str((repo.get("owner") or {}).get("login") or ref.owner)
        check.repository_name = str(repo.get("name") or ref.name)
        check.default_branch, check.is_accessible = repo.get("default_branch"), True
        check.access_verified_at = datetime.now(UTC)
        return check, None

    async def find_open_pull(
        self, ref: RepoRef, head_branch: str, base_branch: str | None = None
    ) -> PullRef | None:
        """The open pull request from `head_branch` of `ref` (into `base_branch`, if given), or None."""
        what = f"the open pull requests from {head_branch} in {ref.full_name}"
        request = self._github.rest.pulls.async_list(
            ref.owner, ref.name, state="open", head=f"{ref.owner}:{head_branch}", base=base_branch or UNSET
        )
        pulls = await self._raw(what, request)
        return _pull_ref(pulls[0]) if pulls else None

    async def create_pull(
        self, ref: RepoRef, head_branch: str, base_branch: str, title: str, body: str, draft: bool = False
    ) -> PullRef:
        """Open a pull request; if GitHub says one is already open for the branch, return that one."""
        what = f"a pull request from {head_branch} into {base_branch} of {ref.full_name}"
        request = self._github.rest.pulls.async_create(
            ref.owner, ref.name, title=title, head=head_branch, base=base_branch, body=body, draft=draft
        )
        try:
            return _pull_ref(await self._raw(what, request))
        except GitHubFailed as err:
            if err.status != 422 or not any(_ALREADY_EXISTS in detail for detail in err.details):
                raise
            existing = await self.find_open_pull(ref, head_branch, base_branch)
            if existing is None:  # closed between GitHub's answer and our look
                raise
            return existing

    async def update_pull(
        self, ref: RepoRef, number: int, *, title: str | None = None, body: str | None = None
    ) -> PullRef:
        """Change a pull request's title and/or body (None leaves a field as it is)."""
        request = self._github.rest.pulls.async_update(
            ref.owner,
            ref.name,
            number,
            title=UNSET if title is None else title,
            body=UNSET if body is None else body,
        )
        return _pull_ref(await self._raw(f"pull request #{number} of {ref.full_name}", request))

    async def mark_ready(self, node_id: str) -> None:
        """Turn a draft pull request (by GraphQL node id) ready for review; REST cannot."""
        what = f"marking pull request {node_id} ready for review"
        with self._translated(what):
            data = await self._github.graphql.arequest(_MARK_READY, {"id": node_id})
        result = data.get("markPullRequestReadyForReview") or {}
        if (result.get("pullRequest") or {}).get("isDraft") is not False:
            raise ForgeError(self._redact(f"GitHub left pull request {node_id} a draft"))

    async def merge_pull(self, ref: RepoRef, number: int, method: MergeMethod = "merge") -> MergeResult:
        """Merge a pull request (GitHub answers 405 when it cannot be merged, 409 when its head moved)."""
        request = self._github.rest.pulls.async_merge(ref.owner, ref.name, number, merge_method=method)
        merged = await self._raw(f"merging pull request #{number} of {ref.full_name}", request)
        return MergeResult(
            number=number,
            sha=str(merged.get("sha") or ""),
            merged=merged.get("merged") is not False,
            message=str(merged.get("message") or ""),
        )

    async def list_reviews(self, ref: RepoRef, number: int) -> list[ReviewInfo]:
        """The reviews of a pull request, oldest first (GitHub's order; the first hundred)."""
        request = self._github.rest.pulls.async_list_reviews(ref.owner, ref.name, number, per_page=100)
        reviews = await self._raw(f"the reviews of pull request #{number} of {ref.full_name}", request)
        return [_review_info(review) for review in reviews]

    async def branch_sha(self, ref: RepoRef, branch: str) -> str:
        """The commit branch `branch` points at."""
        request = self._github.rest.git.async_get_ref(ref.owner, ref.name, f"heads/{branch}")
        found = await self._raw(f"branch {branch} of {ref.full_name}", request)
        return str((found.get("object") or {}).get("sha") or "")

    async def create_branch(self, ref: RepoRef, branch: str, sha: str) -> BranchRef:
        """A new branch at commit `sha`; Conflict when the branch exists."""
        request = self._github.rest.git.async_create_ref(
            ref.owner, ref.name, ref=f"refs/heads/{branch}", sha=sha
        )
        try:
            created = await self._raw(f"branch {branch} of {ref.full_name}", request)
        except GitHubFailed as err:
            if err.status == 422 and "already exists" in err.message:
                raise Conflict(f"branch {branch} already exists in {ref.full_name}") from None
            raise
        return BranchRef(name=branch, sha=str((created.get("object") or {}).get("sha") or sha))

    async def get_issue(self, ref: RepoRef, number: int) -> IssueInfo:
        """Issue `number` (pull requests are issues too: `is_pull_request` tells them apart)."""
        request = self._github.rest.issues.async_get(ref.owner, ref.name, number)
        return _issue_info(await self._raw(f"issue #{number} of {ref.full_name}", request))

    async def create_issue(self, ref: RepoRef, title: str, body: str) -> IssueInfo:
        """Open an issue."""
        request = self._github.rest.issues.async_create(ref.owner, ref.name, title=title, body=body)
        return _issue_info(await self._raw(f"a new issue in {ref.full_name}", request))

    async def add_sub_issue(self, ref: RepoRef, parent: int, sub_issue_id: int) -> None:
        """Attach the issue with id (not number) `sub_issue_id` to issue `parent` as its sub-issue."""
        what = f"a sub-issue of #{parent} of {ref.full_name}"
        request = self._github.rest.issues.async_add_sub_issue(
            ref.owner, ref.name, parent, sub_issue_id=sub_issue_id
        )
        await self._raw(what, request)

    async def create_comment(self, ref: RepoRef, issue_number: int, body: str) -> CommentRef:
        """Comment on an issue or pull request."""
        what = f"a comment on #{issue_number} of {ref.full_name}"
        request = self._github.rest.issues.async_create_comment(ref.owner, ref.name, issue_number, body=body)
        return _comment_ref(await self._raw(what, request))

    async def update_comment(self, ref: RepoRef, comment_id: int, body: str) -> CommentRef:
        """Replace a comment's body."""
        what = f"comment {comment_id} of {ref.full_name}"
        request = self._github.rest.issues.async_update_comment(ref.owner, ref.name, comment_id, body=body)
        return _comment_ref(await self._raw(what, request))

    async def permission(self, ref: RepoRef, username: str) -> str:
        """`username`'s permission on the repository: admin, write, read or none (not a collaborator)."""
        what = f"the permission of {username} on {ref.full_name}"
        request = self._github.rest.repos.async_get_collaborator_permission_level(
            ref.owner, ref.name, username
        )
        try:
            return str((await self._raw(what, request)).get("permission") or "none")
        except GitHubFailed as err:
            if err.status == 404:
                return "none"
            raise

    async def dispatch(self, ref: RepoRef, event_type: str, client_payload: dict[str, Any]) -> None:
        """Send a `repository_dispatch` event (checked first against GitHub's limits)."""
        check_dispatch(event_type, client_payload)
        request = self._github.rest.repos.async_create_dispatch_event(
            ref.owner, ref.name, event_type=event_type, client_payload=client_payload
        )
        with self._translated(f"a {event_type} dispatch to {ref.full_name}"):
            await request

    async def add_labels(self, ref: RepoRef, number: int, labels: list[str]) -> list[str]:
        """Add labels to an issue or pull request; the names it carries afterwards."""
        what = f"the labels of #{number} of {ref.full_name}"
        request = self._github.rest.issues.async_add_labels(ref.owner, ref.name, number, labels=labels)
        carried = await self._raw(what, request)
        return [str(label.get("name")) for label in carried if isinstance(label, dict) and label.get("name")]

    async def remove_label(self, ref: RepoRef, number: int, label: str) -> None:
        """Take a label off an issue or pull request; a label it does not carry is fine."""
        what = f"label {label!r} of #{number} of {ref.full_name}"
        request = self._github.rest.issues.async_remove_label(
            ref.owner, ref.name, number, quote(label, safe="")
        )
        try:
            await self._raw(what, request)
        except GitHubFailed as err:
            if err.status != 404:
                raise
