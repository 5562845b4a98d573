"""The GitHub API calls Shipyard makes, through githubkit, each returning our small models.

Every answer is read as JSON, unvalidated (`_raw`, `_pages`), by the readers of `github_answers`.
Imported only when a GitHub call is made (forge.github_forge imports it inside its methods), so
naming a forge loads no SDK.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from githubkit.utils import UNSET

from shipyard.domain.errors import Conflict, ForgeError
from shipyard.forge.github_answers import (
    PullRef,
    check_run,
    comment_ref,
    issue_comment,
    issue_info,
    pull_ref,
    review_comment,
    review_info,
)
from shipyard.forge.github_base import GitHubFailed
from shipyard.forge.github_deployments import GitHubDeployments
from shipyard.forge.github_releases import GitHubReleases
from shipyard.forge.github_repo import RepoRef, check_dispatch, parse_repository, token_for
from shipyard.forge.github_reviews import DiffLines, diff_lines, misplaced, refusal
from shipyard.forge.models import (
    BranchRef,
    CheckRun,
    CommentRef,
    IssueComment,
    IssueInfo,
    MergeMethod,
    MergeResult,
    PullState,
    RepositoryCheck,
    ReviewComment,
    ReviewInfo,
    ReviewSpec,
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


class GitHubClient(GitHubReleases, GitHubDeployments):
    """The GitHub API calls Shipyard makes, with one token (releases: `GitHubReleases`)."""

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
        return pull_ref(pulls[0]) if pulls else None

    async def create_pull(
        self, ref: RepoRef, head_branch: str, base_branch: str, title: str, body: str, draft: bool = False
    ) -> PullRef:
        """Open a pull request; if GitHub says one is already open for the branch, return that one."""
        what = f"a pull request from {head_branch} into {base_branch} of {ref.full_name}"
        request = self._github.rest.pulls.async_create(
            ref.owner, ref.name, title=title, head=head_branch, base=base_branch, body=body, draft=draft
        )
        try:
            return pull_ref(await self._raw(what, request))
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
        return pull_ref(await self._raw(f"pull request #{number} of {ref.full_name}", request))

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

    async def get_pull(self, ref: RepoRef, number: int) -> PullRef:
        """Pull request `number`."""
        request = self._github.rest.pulls.async_get(ref.owner, ref.name, number)
        return pull_ref(await self._raw(f"pull request #{number} of {ref.full_name}", request))

    async def list_pulls(self, ref: RepoRef, state: PullState = "open") -> list[PullRef]:
        """The repository's pull requests in `state`, newest first (GitHub's order), every page."""
        pulls = await self._pages(
            f"the pull requests of {ref.full_name}",
            lambda page: self._github.rest.pulls.async_list(
                ref.owner, ref.name, state=state, per_page=100, page=page
            ),
        )
        return [pull_ref(pull) for pull in pulls if isinstance(pull, dict)]

    async def list_reviews(self, ref: RepoRef, number: int) -> list[ReviewInfo]:
        """The reviews of a pull request, oldest first (GitHub's order), every page."""
        reviews = await self._pages(
            f"the reviews of pull request #{number} of {ref.full_name}",
            lambda page: self._github.rest.pulls.async_list_reviews(
                ref.owner, ref.name, number, per_page=100, page=page
            ),
        )
        return [review_info(review) for review in reviews]

    async def list_review_comments(self, ref: RepoRef, number: int) -> list[ReviewComment]:
        """The review comments of a pull request, replies included, oldest first, every page."""
        comments = await self._pages(
            f"the review comments of pull request #{number} of {ref.full_name}",
            lambda page: self._github.rest.pulls.async_list_review_comments(
                ref.owner, ref.name, number, sort="created", direction="asc", per_page=100, page=page
            ),
        )
        return [review_comment(comment) for comment in comments]

    async def create_review(self, ref: RepoRef, number: int, spec: ReviewSpec) -> ReviewInfo:
        """Submit a review with its inline comments; when GitHub refuses it (422), the error names
        the comments that are not on a line of the pull request's diff."""
        request = self._github.rest.pulls.async_create_review(
            ref.owner,
            ref.name,
            number,
            event=spec.event,
            body=spec.body or UNSET,
            comments=[comment.model_dump() for comment in spec.comments] or UNSET,
        )
        try:
            return review_info(
                await self._raw(f"the review of pull request #{number} of {ref.full_name}", request)
            )
        except GitHubFailed as err:
            if err.status != 422 or not spec.comments:
                raise
            found = await self._misplaced(ref, number, spec)
            if not found:  # refused for another reason (one's own pull request, say): GitHub's words
                raise
            raise refusal(err, found) from None

    async def _misplaced(self, ref: RepoRef, number: int, spec: ReviewSpec) -> list[str]:
        """The review's inline comments not on a line of the pull request's diff, as `misplaced` says."""
        try:
            return misplaced(spec.comments, await self.changed_lines(ref, number))
        except ForgeError:  # the diff cannot be read: the refusal stays GitHub's
            return []

    async def changed_lines(self, ref: RepoRef, number: int) -> dict[str, DiffLines | None]:
        """Each file the pull request changes → the lines its diff shows (None: GitHub shows none)."""
        files = await self._pages(
            f"the files of pull request #{number} of {ref.full_name}",
            lambda page: self._github.rest.pulls.async_list_files(
                ref.owner, ref.name, number, per_page=100, page=page
            ),
        )
        return {str(file.get("filename")): _patch_lines(file) for file in files if isinstance(file, dict)}

    async def reply_to_review_comment(
        self, ref: RepoRef, number: int, comment_id: int, body: str
    ) -> CommentRef:
        """Answer a review comment in its thread."""
        what = f"review comment {comment_id} of pull request #{number} of {ref.full_name}"
        request = self._github.rest.pulls.async_create_reply_for_review_comment(
            ref.owner, ref.name, number, comment_id, body=body
        )
        return comment_ref(await self._raw(what, request))

    async def branch_sha(self, ref: RepoRef, branch: str) -> str:
        """The commit branch `branch` points at."""
        request = self._github.rest.git.async_get_ref(ref.owner, ref.name, f"heads/{branch}")
        found = await self._raw(f"branch {branch} of {ref.full_name}", request)
        return str((found.get("object") or {}).get("sha") or "")

    async def list_check_runs(self, ref: RepoRef, sha: str) -> list[CheckRun]:
        """The newest check run of each name on commit `sha`, every page."""
        runs = await self._pages(
            f"the check runs of commit {sha} of {ref.full_name}",
            lambda page: self._github.rest.checks.async_list_for_ref(
                ref.owner, ref.name, sha, filter_="latest", per_page=100, page=page
            ),
            key="check_runs",
        )
        newest: dict[str, dict[str, Any]] = {}  # two apps may report one name: the later run counts
        for run in sorted((r for r in runs if isinstance(r, dict)), key=lambda r: _number(r.get("id"))):
            newest[str(run.get("name") or "")] = run
        return [check_run(run) for name, run in newest.items() if name]

    async def list_branches(self, ref: RepoRef) -> list[BranchRef]:
        """Every branch of the repository and its commit, by name (GitHub's order), every page."""
        branches = await self._pages(
            f"the branches of {ref.full_name}",
            lambda page: self._github.rest.repos.async_list_branches(
                ref.owner, ref.name, per_page=100, page=page
            ),
        )
        return [
            BranchRef(name=str(b["name"]), sha=str((b.get("commit") or {}).get("sha") or ""))
            for b in branches
            if isinstance(b, dict) and b.get("name")
        ]

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
        return issue_info(await self._raw(f"issue #{number} of {ref.full_name}", request))

    async def list_comments(self, ref: RepoRef, number: int) -> list[IssueComment]:
        """Issue `number`'s conversation, every page, oldest first."""

        def page(n: int) -> Any:
            return self._github.rest.issues.async_list_comments(
                ref.owner, ref.name, number, per_page=100, page=n
            )

        found = await self._pages(f"the comments of #{number} of {ref.full_name}", page)
        return [issue_comment(c) for c in found if isinstance(c, dict)]

    async def create_issue(self, ref: RepoRef, title: str, body: str) -> IssueInfo:
        """Open an issue."""
        request = self._github.rest.issues.async_create(ref.owner, ref.name, title=title, body=body)
        return issue_info(await self._raw(f"a new issue in {ref.full_name}", request))

    async def list_issues(self, ref: RepoRef, since: datetime) -> list[IssueInfo]:
        """The issues (not pull requests, which GitHub lists too) updated since `since`, newest
        first, every page."""
        issues = await self._pages(
            f"the issues of {ref.full_name}",
            lambda page: self._github.rest.issues.async_list_for_repo(
                ref.owner, ref.name, state="all", since=since, sort="created", direction="desc",
                per_page=100, page=page,
            ),
        )  # fmt: skip
        found = [issue_info(issue) for issue in issues if isinstance(issue, dict)]
        return [issue for issue in found if not issue.is_pull_request]

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
        return comment_ref(await self._raw(what, request))

    async def update_comment(self, ref: RepoRef, comment_id: int, body: str) -> CommentRef:
        """Replace a comment's body."""
        what = f"comment {comment_id} of {ref.full_name}"
        request = self._github.rest.issues.async_update_comment(ref.owner, ref.name, comment_id, body=body)
        return comment_ref(await self._raw(what, request))

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


def _number(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _patch_lines(file: dict[str, Any]) -> DiffLines | None:
    """The lines a changed file's `patch` shows; GitHub sends none for a binary or very large file."""
    patch = file.get("patch")
    return diff_lines(patch) if isinstance(patch, str) else None
