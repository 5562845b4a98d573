"""GitHub through githubkit: which repository a URL names, the token, and the API calls Shipyard makes.

The token is a personal one (`GITHUB_TOKEN`, or what `gh auth token` prints). It is handed to
githubkit only; errors are described from status codes and GitHub's messages, never from the
request, and every message is scrubbed of the token, so it cannot leak into a response or a log
line. Each call translates githubkit's exceptions into `ForgeError` (`GitHubFailed` when GitHub
answered) and returns the small models below, never githubkit's types.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast
from urllib.parse import quote

from githubkit import GitHub
from githubkit.exception import (
    GitHubException,
    GraphQLFailed,
    RateLimitExceeded,
    RequestFailed,
    RequestTimeout,
)
from githubkit.response import Response
from githubkit.utils import UNSET
from githubkit_schemas.latest.models import Issue, Label, PullRequest, PullRequestSimple
from pydantic import BaseModel, SecretStr, ValidationError

from shipyard.config import Settings
from shipyard.domain.errors import ForgeError, InvalidInput

T = TypeVar("T")
MAX_PAYLOAD_KEYS = 10  # GitHub's limit on `client_payload`'s top-level keys
MAX_PAYLOAD_BYTES = 65_536
MAX_EVENT_TYPE_CHARS = 100
_ALREADY_EXISTS = "A pull request already exists"
_MARK_READY = """
mutation MarkReady($id: ID!) {
  markPullRequestReadyForReview(input: {pullRequestId: $id}) { pullRequest { isDraft } }
}
"""

_URL = re.compile(
    r"^(?:https?://[^/]+/|ssh://git@[^/]+/|git@[^:]+:)?(?P<owner>[\w.-]+)/(?P<name>[\w.-]+?)(?:\.git)?/?$"
)


@dataclass(frozen=True)
class RepoRef:
    owner: str
    name: str

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


def parse_repository(url: str) -> RepoRef | None:
    """`owner/name` of a GitHub URL (https, ssh or `owner/name` itself); None if it names none."""
    match = _URL.match(url.strip())
    return RepoRef(match["owner"], match["name"]) if match else None


def token_for(settings: Settings) -> SecretStr | None:
    """The configured token, else the GitHub CLI's, else None."""
    if settings.github_token is not None:
        return settings.github_token
    gh = shutil.which("gh")
    if gh is None:
        return None
    try:
        done = subprocess.run([gh, "auth", "token"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    token = done.stdout.strip()
    return SecretStr(token) if done.returncode == 0 and token else None


class RepositoryCheck(BaseModel):
    """Seed 003's repository, as verified."""

    repository_owner: str
    repository_name: str
    repository_url: str
    default_branch: str | None = None
    is_accessible: bool = False
    access_verified_at: datetime | None = None


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


class IssueInfo(BaseModel):
    """An issue (or the issue view of a pull request)."""

    number: int
    title: str
    body: str
    labels: list[str]
    html_url: str
    state: str
    is_pull_request: bool
    author: str


class CommentRef(BaseModel):
    """A comment on an issue or pull request."""

    id: int
    html_url: str


class GitHubFailed(ForgeError):
    """GitHub answered a call with an error: its status, and the messages of its `errors` list."""

    def __init__(self, message: str, status: int, details: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.details = details


def _answer(err: RequestFailed) -> tuple[str, tuple[str, ...]]:
    """GitHub's `message` and the messages of its `errors` list, from an error answer."""
    try:
        body = err.response.json()
    except ValueError:
        return "", ()
    if not isinstance(body, dict):
        return "", ()
    errors = body.get("errors")
    details = tuple(_error_text(item) for item in errors) if isinstance(errors, list) else ()
    return str(body.get("message") or ""), details


def _error_text(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    if item.get("message"):
        return str(item["message"])
    return " ".join(str(item[key]) for key in ("resource", "field", "code") if item.get(key))


def _pull_ref(pull: PullRequest | PullRequestSimple) -> PullRef:
    return PullRef(
        number=pull.number,
        node_id=pull.node_id,
        html_url=pull.html_url,
        state=pull.state,
        draft=pull.draft is True,
        head_branch=pull.head.ref,
        base_branch=pull.base.ref,
        title=pull.title,
        body=pull.body or "",
    )


def _issue_info(issue: Issue) -> IssueInfo:
    labels = [label if isinstance(label, str) else label.name or "" for label in issue.labels]
    return IssueInfo(
        number=issue.number,
        title=issue.title,
        body=issue.body or "",
        labels=[name for name in labels if name],
        html_url=issue.html_url,
        state=issue.state,
        is_pull_request=bool(issue.pull_request),
        author=issue.user.login if issue.user else "ghost",
    )


def check_dispatch(event_type: str, client_payload: dict[str, Any]) -> None:
    """Refuse a repository dispatch GitHub would refuse (InvalidInput), before anything is sent."""
    if not 0 < len(event_type) <= MAX_EVENT_TYPE_CHARS:
        raise InvalidInput(f"event_type must be 1 to {MAX_EVENT_TYPE_CHARS} characters")
    if len(client_payload) > MAX_PAYLOAD_KEYS:
        raise InvalidInput(
            f"client_payload has {len(client_payload)} top-level keys; GitHub allows {MAX_PAYLOAD_KEYS}"
        )
    try:
        size = len(json.dumps(client_payload).encode())
    except (TypeError, ValueError) as err:
        raise InvalidInput(f"client_payload is not JSON: {err}") from None
    if size >= MAX_PAYLOAD_BYTES:
        raise InvalidInput(f"client_payload is {size} bytes of JSON; GitHub takes less than 64 KB")


class GitHubClient:
    """The GitHub API calls Shipyard makes, with one token."""

    def __init__(self, settings: Settings, token: SecretStr) -> None:
        self.api_url = settings.github_api_url.rstrip("/")
        self._token = token
        self._github = GitHub(
            token.get_secret_value(), base_url=self.api_url, http_cache=False, auto_retry=False, timeout=15
        )

    async def check_repository(self, url: str, ref: RepoRef) -> tuple[RepositoryCheck, str | None]:
        """What GitHub says about the repository, and why it is not accessible when it is not."""
        check = RepositoryCheck(repository_owner=ref.owner, repository_name=ref.name, repository_url=url)
        try:
            repo = (await self._github.rest.repos.async_get(ref.owner, ref.name)).parsed_data
        except GitHubException as err:
            return check, self.describe(err, ref.full_name)
        check.repository_owner, check.repository_name = repo.owner.login, repo.name
        check.default_branch, check.is_accessible = repo.default_branch, True
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
        # githubkit's `list[...]` return types clash with its `list` methods under mypy: name the type.
        pulls = cast("list[PullRequestSimple]", await self._parsed(what, request))
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
            created = await self._parsed(what, request)
            return _pull_ref(created)
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
        updated = await self._parsed(f"pull request #{number} of {ref.full_name}", request)
        return _pull_ref(updated)

    async def mark_ready(self, node_id: str) -> None:
        """Turn a draft pull request (by GraphQL node id) ready for review; REST cannot."""
        what = f"marking pull request {node_id} ready for review"
        with self._translated(what):
            data = await self._github.graphql.arequest(_MARK_READY, {"id": node_id})
        result = data.get("markPullRequestReadyForReview") or {}
        if (result.get("pullRequest") or {}).get("isDraft") is not False:
            raise ForgeError(self._redact(f"GitHub left pull request {node_id} a draft"))

    async def get_issue(self, ref: RepoRef, number: int) -> IssueInfo:
        """Issue `number` (pull requests are issues too: `is_pull_request` tells them apart)."""
        request = self._github.rest.issues.async_get(ref.owner, ref.name, number)
        return _issue_info(await self._parsed(f"issue #{number} of {ref.full_name}", request))

    async def create_comment(self, ref: RepoRef, issue_number: int, body: str) -> CommentRef:
        """Comment on an issue or pull request."""
        what = f"a comment on #{issue_number} of {ref.full_name}"
        request = self._github.rest.issues.async_create_comment(ref.owner, ref.name, issue_number, body=body)
        comment = await self._parsed(what, request)
        return CommentRef(id=comment.id, html_url=comment.html_url)

    async def update_comment(self, ref: RepoRef, comment_id: int, body: str) -> CommentRef:
        """Replace a comment's body."""
        what = f"comment {comment_id} of {ref.full_name}"
        request = self._github.rest.issues.async_update_comment(ref.owner, ref.name, comment_id, body=body)
        comment = await self._parsed(what, request)
        return CommentRef(id=comment.id, html_url=comment.html_url)

    async def permission(self, ref: RepoRef, username: str) -> str:
        """`username`'s permission on the repository: admin, write, read or none (not a collaborator)."""
        what = f"the permission of {username} on {ref.full_name}"
        request = self._github.rest.repos.async_get_collaborator_permission_level(
            ref.owner, ref.name, username
        )
        try:
            return (await self._parsed(what, request)).permission
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
        carried = cast("list[Label]", await self._parsed(what, request))
        return [label.name for label in carried]

    async def remove_label(self, ref: RepoRef, number: int, label: str) -> None:
        """Take a label off an issue or pull request; a label it does not carry is fine."""
        what = f"label {label!r} of #{number} of {ref.full_name}"
        request = self._github.rest.issues.async_remove_label(
            ref.owner, ref.name, number, quote(label, safe="")
        )
        try:
            await self._parsed(what, request)
        except GitHubFailed as err:
            if err.status != 404:
                raise

    async def _parsed(self, what: str, request: Awaitable[Response[T, Any]]) -> T:
        with self._translated(what):
            return (await request).parsed_data

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        """Turn githubkit's exceptions (and schema mismatches) inside the block into ForgeError."""
        try:
            yield
        except RequestFailed as err:
            status = err.response.status_code
            details = tuple(self._redact(detail) for detail in _answer(err)[1])
            raise GitHubFailed(self.describe(err, what), status, details) from None
        except GitHubException as err:
            raise ForgeError(self.describe(err, what)) from None
        except ValidationError as err:
            where = ".".join(str(part) for part in err.errors()[0]["loc"]) if err.error_count() else ""
            message = f"{what}: the request or GitHub's answer does not fit GitHub's schema (at {where!r})"
            raise ForgeError(self._redact(message)) from None

    def describe(self, err: GitHubException, what: str) -> str:
        """A message for a failed call that names the cause and never carries the token."""
        return self._redact(self._explain(err, what))

    def _explain(self, err: GitHubException, what: str) -> str:
        if isinstance(err, RateLimitExceeded):
            return f"GitHub's rate limit stopped {what}; retry in {err.retry_after.total_seconds():.0f} s"
        if isinstance(err, RequestFailed):
            return self._explain_status(err, what)
        if isinstance(err, GraphQLFailed):
            errors = err.response.errors or []
            told = "; ".join(f"{e.type}: {e.message}" if e.type else e.message for e in errors)
            return f"GitHub's GraphQL API refused {what}: {told}"
        if isinstance(err, RequestTimeout):
            return f"GitHub API at {self.api_url} did not answer in time"
        return f"cannot reach the GitHub API at {self.api_url} ({type(err).__name__})"

    def _explain_status(self, err: RequestFailed, what: str) -> str:
        status = err.response.status_code
        if status == 401:
            return "GitHub rejected the token (401 Bad credentials): set a valid GITHUB_TOKEN"
        if status == 404:
            return f"{what} was not found, or the token cannot see it (404)"
        if status == 403:
            return f"the token may not read {what} (403 Forbidden; rate limit or missing scope)"
        message, details = _answer(err)
        told = ": ".join(part for part in (message, "; ".join(details)) if part)
        return f"GitHub answered {status} for {what}" + (f" ({told})" if told else "")

    def _redact(self, message: str) -> str:
        secret = self._token.get_secret_value()
        return message.replace(secret, "***") if secret else message
