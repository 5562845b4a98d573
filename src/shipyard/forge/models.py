"""What a forge answers, in Shipyard's own types: every adapter maps its library's objects to these."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

MergeMethod = Literal["merge", "squash", "rebase"]
DiffSide = Literal["RIGHT", "LEFT"]  # RIGHT: the head's lines (added or unchanged); LEFT: the base's
ReviewEvent = Literal["COMMENT", "REQUEST_CHANGES", "APPROVE"]
DeploymentState = Literal["in_progress", "success", "failure", "inactive"]
PullState = Literal["open", "closed", "all"]  # which pull requests a list holds


class RepositoryCheck(BaseModel):
    """Seed 003's repository, as verified."""

    repository_owner: str
    repository_name: str
    repository_url: str
    default_branch: str | None = None
    is_accessible: bool = False
    access_verified_at: datetime | None = None


class AppInstallation(BaseModel):
    """An installation of the GitHub App, as GitHub describes it (seed 002's shape: camelCase)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    installation_id: int
    account: str  # the login of the user or organization it is installed on
    account_type: str  # User | Organization
    repository_selection: str  # all | selected
    html_url: str  # its settings page on GitHub


class ReachableRepository(BaseModel):
    """A repository an installation of the GitHub App can reach (seed 002's shape: camelCase)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    full_name: str
    private: bool
    installation_id: int
    default_branch: str
    html_url: str


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
    id: int = 0  # the forge's own id of the issue (GitHub's sub-issue calls take it, not the number)
    parent_number: int | None = None  # the issue it is a sub-issue of


class CommentRef(BaseModel):
    """A comment on an issue or pull request."""

    id: int
    html_url: str


class IssueComment(BaseModel):
    """A comment in an issue's (or pull request's) conversation, as people read it."""

    id: int
    author: str
    body: str
    html_url: str
    created_at: str


class BranchRef(BaseModel):
    """A branch and the commit it points at."""

    name: str
    sha: str


class ReleaseInfo(BaseModel):
    """A published release: its tag, the commit the tag names, and where people read it."""

    tag: str
    name: str
    sha: str
    url: str = ""  # the release's page ("" on the local forge, which has none)


class CheckRun(BaseModel):
    """A CI check run on a commit, as the forge last heard of it."""

    name: str
    head_sha: str = ""
    status: str = "completed"  # queued | in_progress | completed (GitHub's words)
    conclusion: str | None = None  # once completed: success, failure, neutral, cancelled, …
    url: str = ""  # where people read it
    summary: str = ""  # what the check said of itself (GitHub: its output's title and summary)


class MergeResult(BaseModel):
    """A merged pull request: the commit its base branch now points at."""

    number: int
    sha: str
    merged: bool = True
    message: str = ""


class ReviewInfo(BaseModel):
    """One review of a pull request."""

    id: int
    author: str
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED | PENDING
    body: str = ""
    html_url: str = ""
    submitted_at: datetime | None = None


class ReviewComment(BaseModel):
    """A review (inline) comment on a line of a pull request's diff, or a reply in its thread."""

    id: int
    path: str
    line: int | None  # None when the commented line is gone from the diff (outdated)
    side: DiffSide = "RIGHT"
    body: str
    author: str
    in_reply_to_id: int | None = None  # the thread's comment this one answers
    html_url: str = ""
    created_at: datetime | None = None


class InlineComment(BaseModel):
    """A comment a new review puts on line `line` of `path` (a line of the diff on `side`)."""

    path: str
    line: int
    body: str
    side: DiffSide = "RIGHT"


class ReviewSpec(BaseModel):
    """A review to submit: its verdict, its summary and its inline comments."""

    body: str = ""
    event: ReviewEvent = "COMMENT"
    comments: list[InlineComment] = Field(default_factory=list)
