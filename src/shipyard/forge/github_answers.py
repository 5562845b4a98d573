"""GitHub's answers read into Shipyard's types: one reader per object, each taking what it needs.

Answers are read as JSON, unvalidated: githubkit's models follow the newest API version and refuse
an answer that lacks a field GitHub leaves out under an older one, or for older data (a label's
`archived_by`, a review's `submitted_at`, a reply's `in_reply_to_id`). Every field but the id is
read with a default.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from shipyard.forge.models import (
    AppInstallation,
    CheckRun,
    CommentRef,
    IssueComment,
    IssueInfo,
    ReachableRepository,
    ReleaseInfo,
    ReviewComment,
    ReviewInfo,
)


class PullRef(BaseModel):
    """A pull request as Shipyard tracks it."""

    number: int
    node_id: str
    html_url: str
    state: str  # open | closed | merged
    draft: bool
    head_branch: str
    base_branch: str
    title: str
    body: str


def pull_ref(pull: dict[str, Any]) -> PullRef:
    """A pull request from GitHub's JSON (full or simple), fields it leaves out defaulted; GitHub
    says `closed` of a merged one too, and `merged_at` tells them apart."""
    state = str(pull.get("state") or "open")
    return PullRef(
        number=int(pull["number"]),
        node_id=str(pull.get("node_id") or ""),
        html_url=str(pull.get("html_url") or ""),
        state="merged" if pull.get("merged_at") or pull.get("merged") is True else state,
        draft=pull.get("draft") is True,
        head_branch=str((pull.get("head") or {}).get("ref") or ""),
        base_branch=str((pull.get("base") or {}).get("ref") or ""),
        title=str(pull.get("title") or ""),
        body=str(pull.get("body") or ""),
    )


def issue_info(issue: dict[str, Any]) -> IssueInfo:
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
        author=_login(issue),
        parent_number=_last_number(issue.get("parent_issue_url")),
    )


def _last_number(url: object) -> int | None:
    """The number a URL ends with (`…/issues/12`), if it is one."""
    last = url.rstrip("/").rsplit("/", 1)[-1] if isinstance(url, str) else ""
    return int(last) if last.isdigit() else None


def comment_ref(comment: dict[str, Any]) -> CommentRef:
    """An issue comment or a review comment, as a reference to it."""
    return CommentRef(id=int(comment["id"]), html_url=str(comment.get("html_url") or ""))


def issue_comment(comment: dict[str, Any]) -> IssueComment:
    """A comment of an issue's conversation (a deleted author reads as `ghost`, as GitHub shows it)."""
    return IssueComment(
        id=int(comment["id"]), author=_login(comment), body=str(comment.get("body") or ""),
        html_url=str(comment.get("html_url") or ""), created_at=str(comment.get("created_at") or ""),
    )  # fmt: skip


def review_info(review: dict[str, Any]) -> ReviewInfo:
    return ReviewInfo(
        id=int(review["id"]),
        author=_login(review),
        state=str(review.get("state") or "COMMENTED"),
        body=str(review.get("body") or ""),
        html_url=str(review.get("html_url") or ""),
        submitted_at=_time(review.get("submitted_at")),
    )


def review_comment(comment: dict[str, Any]) -> ReviewComment:
    """A review comment; GitHub sends `line` null once the line left the diff, and no
    `in_reply_to_id` for a comment that starts a thread."""
    line, reply_to = comment.get("line"), comment.get("in_reply_to_id")
    return ReviewComment(
        id=int(comment["id"]),
        path=str(comment.get("path") or ""),
        line=line if isinstance(line, int) else None,
        side="LEFT" if comment.get("side") == "LEFT" else "RIGHT",
        body=str(comment.get("body") or ""),
        author=_login(comment),
        in_reply_to_id=reply_to if isinstance(reply_to, int) else None,
        html_url=str(comment.get("html_url") or ""),
        created_at=_time(comment.get("created_at")),
    )


def check_run(run: dict[str, Any]) -> CheckRun:
    """A check run; `conclusion` is null until it completes, `output`'s fields may each be null."""
    output = run.get("output") or {}
    said = [str(output.get(key) or "").strip() for key in ("title", "summary")]
    conclusion = run.get("conclusion")
    return CheckRun(
        name=str(run.get("name") or ""),
        head_sha=str(run.get("head_sha") or ""),
        status=str(run.get("status") or "completed"),
        conclusion=conclusion if isinstance(conclusion, str) and conclusion else None,
        url=str(run.get("html_url") or run.get("details_url") or ""),
        summary="\n\n".join(part for part in said if part),
    )


def release_info(release: dict[str, Any], sha: str) -> ReleaseInfo:
    """A release of commit `sha` (GitHub's `target_commitish` may name a branch); a release without
    a name is shown by its tag."""
    tag = str(release.get("tag_name") or "")
    return ReleaseInfo(
        tag=tag, name=str(release.get("name") or tag), sha=sha, url=str(release.get("html_url") or "")
    )


def app_installation(found: dict[str, Any]) -> AppInstallation:
    """An installation of the GitHub App; an enterprise's account has a `slug`, not a `login`."""
    account = found.get("account")
    account = account if isinstance(account, dict) else {}
    return AppInstallation(
        installation_id=int(found["id"]),
        account=str(account.get("login") or account.get("slug") or ""),
        account_type=str(found.get("target_type") or account.get("type") or ""),
        repository_selection=str(found.get("repository_selection") or ""),
        html_url=str(found.get("html_url") or ""),
    )


def reachable_repository(repo: dict[str, Any], installation_id: int) -> ReachableRepository:
    """A repository as an installation's list of repositories gives it."""
    return ReachableRepository(
        full_name=str(repo.get("full_name") or ""),
        private=repo.get("private") is True,
        installation_id=installation_id,
        default_branch=str(repo.get("default_branch") or ""),
        html_url=str(repo.get("html_url") or ""),
    )


def _login(item: dict[str, Any]) -> str:
    """Who wrote it; GitHub's `user` is null for a deleted account, shown as ghost."""
    return str((item.get("user") or {}).get("login") or "ghost")


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
