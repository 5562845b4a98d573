"""What the fake GitHub holds, and the full JSON GitHub's REST docs give for each of those objects.

githubkit validates answers against GitHub's complete schemas, so every builder returns the whole
documented shape (nulls where GitHub sends nulls), never a convenient subset.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

API = "https://api.github.com"
WEB = "https://github.com"
DOCS = "https://docs.github.com/rest"

_REPO_URLS = {  # "Get a repository" in GitHub's REST docs: name → path under the repository's API URL
    "archive_url": "/{archive_format}{/ref}", "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}", "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}", "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}", "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}", "contributors_url": "/contributors",
    "deployments_url": "/deployments", "downloads_url": "/downloads", "events_url": "/events",
    "forks_url": "/forks", "git_commits_url": "/git/commits{/sha}", "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}", "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}", "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}", "labels_url": "/labels{/name}", "languages_url": "/languages",
    "merges_url": "/merges", "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}", "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}", "stargazers_url": "/stargazers", "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers", "subscription_url": "/subscription", "tags_url": "/tags",
    "teams_url": "/teams", "trees_url": "/git/trees{/sha}", "hooks_url": "/hooks",
}  # fmt: skip

# The legacy `permission` GitHub reports for each role (maintain → write, triage → read).
BASE_PERMISSION = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}


def now() -> str:
    """The current time as GitHub writes timestamps."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stable_id(text: str) -> int:
    """A positive id derived from a name, the same on every run."""
    return zlib.crc32(text.encode()) % 90_000_000 + 10_000_000


@dataclass
class Pull:
    """A pull request as the fake holds it."""

    number: int
    id: int
    node_id: str
    title: str
    body: str | None
    head_owner: str
    head: str
    base: str
    draft: bool
    user: str
    state: str = "open"
    labels: list[str] = field(default_factory=list)
    comments: int = 0
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)
    merged_at: str | None = None

    @property
    def head_label(self) -> str:
        return f"{self.head_owner}:{self.head}"


@dataclass
class Issue:
    """An issue (not a pull request) as the fake holds it."""

    number: int
    id: int
    node_id: str
    title: str
    body: str | None
    user: str
    state: str = "open"
    labels: list[str] = field(default_factory=list)
    comments: int = 0
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)
    parent: int | None = None  # the number of the issue it is a sub-issue of


@dataclass
class Comment:
    """A comment on an issue or pull request."""

    id: int
    issue_number: int
    body: str
    user: str
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)

    @property
    def node_id(self) -> str:
        return f"IC_kwDO{self.id:08d}"


@dataclass
class ReviewComment:
    """A review (inline) comment on a line of a pull request's diff, or a reply in its thread."""

    id: int
    pull_number: int
    review_id: int
    path: str
    line: int | None  # None once the line is gone from the diff (outdated): set it so to test that
    side: str  # RIGHT | LEFT
    body: str
    user: str
    commit_id: str
    diff_hunk: str = ""  # the diff's hunk down to the commented line
    position: int | None = None  # the line's place in the file's diff (GitHub's older way to name it)
    in_reply_to_id: int | None = None
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)


@dataclass
class Release:
    """A release as the fake holds it; a draft has no tag yet and no `published_at`."""

    id: int
    tag_name: str
    target_commitish: str
    name: str | None
    body: str | None
    author: str
    draft: bool = False
    prerelease: bool = False
    created_at: str = field(default_factory=now)
    published_at: str | None = None


@dataclass
class CheckRun:
    """A check run a CI app reported on a commit; `conclusion` stays None until it completes."""

    id: int
    head_sha: str
    name: str
    status: str = "completed"  # queued | in_progress | completed
    conclusion: str | None = None  # success, failure, neutral, cancelled, skipped, timed_out, …
    suite_id: int = 1  # its check suite's (one per workflow run: two suites may each have a `test`)
    title: str | None = None  # its output's
    summary: str | None = None
    started_at: str = field(default_factory=now)
    completed_at: str | None = None


@dataclass
class Dispatch:
    """One accepted `POST /repos/{owner}/{repo}/dispatches`."""

    full_name: str
    event_type: str
    client_payload: dict[str, Any]


@dataclass
class FakeRepo:
    """One repository and what it holds."""

    json: dict[str, Any]
    next_number: int = 1
    pulls: dict[int, Pull] = field(default_factory=dict)
    issues: dict[int, Issue] = field(default_factory=dict)
    comments: list[Comment] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)  # login (lower case) → role
    refs: dict[str, str] = field(default_factory=dict)  # "refs/heads/main" → commit sha
    reviews: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # pull number → reviews (JSON)
    review_comments: list[ReviewComment] = field(default_factory=list)  # every pull's, oldest first
    sub_issues: dict[int, list[int]] = field(default_factory=dict)  # parent number → sub-issue numbers
    releases: list[Release] = field(default_factory=list)  # oldest first
    tag_objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # annotated tag sha → its JSON
    check_runs: list[CheckRun] = field(default_factory=list)  # oldest first
    deployments: list[dict[str, Any]] = field(default_factory=list)  # as GitHub answers them, oldest first
    deployment_statuses: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # id → newest first

    def take_number(self) -> int:
        number, self.next_number = self.next_number, self.next_number + 1
        return number


class GitHubError(Exception):
    """Raised by the fake's handlers and helpers; answered with GitHub's error body."""

    def __init__(self, status: int, message: str, errors: list[Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors


def user_json(login: str, id: int | None = None, type: str = "User") -> dict[str, Any]:
    """A simple-user object."""
    id = stable_id(login) if id is None else id
    url = f"{API}/users/{login}"
    return {
        "login": login, "id": id, "node_id": f"MDQ6VXNlcj{id}", "type": type, "site_admin": False,
        "avatar_url": f"https://avatars.githubusercontent.com/u/{id}?v=4", "gravatar_id": "",
        "url": url, "html_url": f"{WEB}/{login}", "followers_url": f"{url}/followers",
        "following_url": f"{url}/following{{/other_user}}", "gists_url": f"{url}/gists{{/gist_id}}",
        "starred_url": f"{url}/starred{{/owner}}{{/repo}}", "subscriptions_url": f"{url}/subscriptions",
        "organizations_url": f"{url}/orgs", "repos_url": f"{url}/repos",
        "events_url": f"{url}/events{{/privacy}}", "received_events_url": f"{url}/received_events",
        "user_view_type": "public",
    }  # fmt: skip


def repository_json(id: int, full_name: str, default_branch: str, private: bool) -> dict[str, Any]:
    """A full-repository object ("Get a repository")."""
    owner, name = full_name.split("/")
    url = f"{API}/repos/{full_name}"
    stamp = "2026-11-01T12:00:00Z"
    return {
        "id": id, "node_id": f"R_kgDO{id:06d}", "name": name, "full_name": full_name, "private": private,
        "owner": user_json(owner, 1000 + id, "Organization"), "html_url": f"{WEB}/{full_name}",
        "description": None, "fork": False, "url": url,
        **{key: url + path for key, path in _REPO_URLS.items()},
        "git_url": f"git://github.com/{full_name}.git", "ssh_url": f"git@github.com:{full_name}.git",
        "clone_url": f"{WEB}/{full_name}.git", "svn_url": f"{WEB}/{full_name}",
        "mirror_url": None, "homepage": None, "language": "Python", "forks_count": 0, "forks": 0,
        "stargazers_count": 0, "watchers_count": 0, "watchers": 0, "size": 108,
        "default_branch": default_branch,
        "open_issues_count": 0, "open_issues": 0, "has_issues": True, "has_projects": True, "has_wiki": True,
        "has_pages": False, "has_discussions": False, "archived": False, "disabled": False,
        "visibility": "private" if private else "public", "pushed_at": stamp, "created_at": stamp,
        "updated_at": stamp, "subscribers_count": 1, "network_count": 0, "license": None,
        "permissions": {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True},
    }  # fmt: skip


def label_json(repo: dict[str, Any], name: str) -> dict[str, Any]:
    """A label of the repository."""
    id = stable_id(f"{repo['full_name']}#{name}")
    return {
        "id": id, "node_id": f"LA_kwDO{id}", "url": f"{repo['url']}/labels/{name}", "name": name,
        "description": None, "color": "ededed", "default": False, "archived_at": None, "archived_by": None,
    }  # fmt: skip


def _sha(*parts: str) -> str:
    return hashlib.sha1(":".join(parts).encode()).hexdigest()


def short_branch_json(repo: dict[str, Any], name: str, sha: str) -> dict[str, Any]:
    """A branch as "List branches" gives it."""
    return {"name": name, "commit": {"sha": sha, "url": f"{repo['url']}/commits/{sha}"}, "protected": False}


def _branch_json(repo: dict[str, Any], owner: str, branch: str) -> dict[str, Any]:
    return {
        "label": f"{owner}:{branch}", "ref": branch, "sha": _sha(repo["full_name"], branch),
        "user": repo["owner"] if owner == repo["owner"]["login"] else user_json(owner), "repo": repo,
    }  # fmt: skip


def _links_json(repo: dict[str, Any], number: int) -> dict[str, Any]:
    pull, issue = f"{repo['url']}/pulls/{number}", f"{repo['url']}/issues/{number}"
    links = {
        "self": pull, "html": f"{repo['html_url']}/pull/{number}", "issue": issue,
        "comments": f"{issue}/comments", "review_comments": f"{pull}/comments",
        "review_comment": f"{repo['url']}/pulls/comments{{/number}}", "commits": f"{pull}/commits",
        "statuses": f"{repo['url']}/statuses/{_sha(repo['full_name'], str(number))}",
    }  # fmt: skip
    return {name: {"href": href} for name, href in links.items()}


def pull_json(repo: dict[str, Any], pull: Pull, *, simple: bool = False) -> dict[str, Any]:
    """A pull request: the "simple" shape of list answers, or the full one of get/create/update."""
    url, issue = f"{repo['url']}/pulls/{pull.number}", f"{repo['url']}/issues/{pull.number}"
    html = f"{repo['html_url']}/pull/{pull.number}"
    links = _links_json(repo, pull.number)
    body: dict[str, Any] = {
        "url": url, "id": pull.id, "node_id": pull.node_id, "html_url": html, "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch", "issue_url": issue, "commits_url": f"{url}/commits",
        "review_comments_url": f"{url}/comments", "review_comment_url": links["review_comment"]["href"],
        "comments_url": f"{issue}/comments", "statuses_url": links["statuses"]["href"],
        "number": pull.number, "state": pull.state, "locked": False, "title": pull.title,
        "user": user_json(pull.user), "body": pull.body,
        "labels": [label_json(repo, name) for name in pull.labels], "milestone": None,
        "active_lock_reason": None, "created_at": pull.created_at, "updated_at": pull.updated_at,
        "closed_at": pull.merged_at, "merged_at": pull.merged_at, "merge_commit_sha": None, "assignee": None,
        "assignees": [], "requested_reviewers": [], "requested_teams": [],
        "head": _branch_json(repo, pull.head_owner, pull.head),
        "base": _branch_json(repo, repo["owner"]["login"], pull.base), "_links": links,
        "author_association": "CONTRIBUTOR", "auto_merge": None, "draft": pull.draft,
    }  # fmt: skip
    if simple:
        return body
    return body | {
        "merged": pull.merged_at is not None, "mergeable": True, "rebaseable": True,
        "mergeable_state": "clean", "merged_by": None, "comments": pull.comments, "review_comments": 0,
        "maintainer_can_modify": False, "commits": 1, "additions": 1, "deletions": 0, "changed_files": 1,
    }  # fmt: skip


def issue_json(repo: dict[str, Any], item: Issue | Pull) -> dict[str, Any]:
    """An issue; for a pull request, the issue view of it, with its `pull_request` key."""
    url = f"{repo['url']}/issues/{item.number}"
    body: dict[str, Any] = {
        "id": item.id, "node_id": item.node_id, "url": url, "repository_url": repo["url"],
        "labels_url": f"{url}/labels{{/name}}", "comments_url": f"{url}/comments",
        "events_url": f"{url}/events", "html_url": f"{repo['html_url']}/issues/{item.number}",
        "number": item.number, "state": item.state, "state_reason": None, "title": item.title,
        "body": item.body, "user": user_json(item.user),
        "labels": [label_json(repo, name) for name in item.labels], "assignee": None, "assignees": [],
        "milestone": None, "locked": False, "active_lock_reason": None, "comments": item.comments,
        "closed_at": None, "created_at": item.created_at, "updated_at": item.updated_at,
        "closed_by": None, "author_association": "CONTRIBUTOR", "timeline_url": f"{url}/timeline",
        "performed_via_github_app": None,
    }  # fmt: skip
    if isinstance(item, Issue):
        body["parent_issue_url"] = None if item.parent is None else f"{repo['url']}/issues/{item.parent}"
    if isinstance(item, Pull):
        html = f"{repo['html_url']}/pull/{item.number}"
        body["html_url"], body["draft"] = html, item.draft
        body["pull_request"] = {
            "url": f"{repo['url']}/pulls/{item.number}", "html_url": html,
            "diff_url": f"{html}.diff", "patch_url": f"{html}.patch", "merged_at": item.merged_at,
        }  # fmt: skip
    return body


def comment_json(repo: dict[str, Any], comment: Comment, on_pull: bool) -> dict[str, Any]:
    """An issue comment (pull request conversation comments are issue comments too)."""
    kind = "pull" if on_pull else "issues"
    return {
        "id": comment.id, "node_id": comment.node_id, "url": f"{repo['url']}/issues/comments/{comment.id}",
        "html_url": f"{repo['html_url']}/{kind}/{comment.issue_number}#issuecomment-{comment.id}",
        "body": comment.body, "user": user_json(comment.user), "created_at": comment.created_at,
        "updated_at": comment.updated_at, "issue_url": f"{repo['url']}/issues/{comment.issue_number}",
        "author_association": "CONTRIBUTOR", "performed_via_github_app": None,
    }  # fmt: skip


def release_json(repo: dict[str, Any], release: Release) -> dict[str, Any]:
    """A release ("Create a release", "Get a release by tag name")."""
    url, tag = f"{repo['url']}/releases/{release.id}", release.tag_name
    uploads = f"https://uploads.github.com/repos/{repo['full_name']}/releases/{release.id}/assets"
    return {
        "url": url, "html_url": f"{repo['html_url']}/releases/tag/{tag}", "assets_url": f"{url}/assets",
        "upload_url": uploads + "{?name,label}", "tarball_url": f"{repo['url']}/tarball/{tag}",
        "zipball_url": f"{repo['url']}/zipball/{tag}", "id": release.id,
        "node_id": f"RE_kwDO{release.id:08d}", "tag_name": tag,
        "target_commitish": release.target_commitish, "name": release.name,
        "body": release.body, "draft": release.draft, "prerelease": release.prerelease, "immutable": False,
        "created_at": release.created_at, "updated_at": release.published_at or release.created_at,
        "published_at": release.published_at, "author": user_json(release.author), "assets": [],
    }  # fmt: skip


def tag_json(repo: dict[str, Any], tag: str, sha: str, commit: str, message: str) -> dict[str, Any]:
    """An annotated tag object ("Get a tag"), unsigned."""
    return {
        "node_id": f"TAG_kwDO{stable_id(sha)}", "tag": tag, "sha": sha,
        "url": f"{repo['url']}/git/tags/{sha}", "message": message,
        "tagger": {"name": "Monalisa Octocat", "email": "octocat@github.com", "date": now()},
        "object": {"type": "commit", "sha": commit, "url": f"{repo['url']}/git/commits/{commit}"},
        "verification": {
            "verified": False, "reason": "unsigned", "signature": None, "payload": None, "verified_at": None,
        },
    }  # fmt: skip


def permission_json(login: str, role: str) -> dict[str, Any]:
    """The answer of "Get repository permissions for a user" for a collaborator with `role`."""
    rank = ["read", "triage", "write", "maintain", "admin"].index(role)
    flags = {name: rank >= i for i, name in enumerate(["pull", "triage", "push", "maintain", "admin"])}
    user = user_json(login) | {"permissions": flags, "role_name": role}
    return {"permission": BASE_PERMISSION[role], "role_name": role, "user": user}


# What a GitHub App for Shipyard asks for; both App answers below report it.
APP_PERMISSIONS = {"contents": "write", "issues": "write", "metadata": "read", "pull_requests": "write"}


def installation_json(id: int, app_id: int, app_slug: str, account: dict[str, Any]) -> dict[str, Any]:
    """An installation of a GitHub App on `account` (a simple-user: a user or an organization)."""
    stamp = "2026-11-01T12:00:00Z"
    org = account["type"] == "Organization"
    html = f"{WEB}/{'organizations/' + account['login'] + '/' if org else ''}settings/installations/{id}"
    return {
        "id": id, "account": account, "repository_selection": "all",
        "access_tokens_url": f"{API}/app/installations/{id}/access_tokens",
        "repositories_url": f"{API}/installation/repositories", "html_url": html, "app_id": app_id,
        "client_id": f"Iv1.{app_id:016x}", "target_id": account["id"], "target_type": account["type"],
        "permissions": APP_PERMISSIONS, "events": ["issues", "issue_comment", "pull_request"],
        "created_at": stamp, "updated_at": stamp, "single_file_name": None,
        "has_multiple_single_files": False, "single_file_paths": [], "app_slug": app_slug,
        "suspended_by": None, "suspended_at": None,
    }  # fmt: skip


def installation_token_json(token: str, expires_at: datetime) -> dict[str, Any]:
    """The answer of "Create an installation access token for an app" (every repository)."""
    return {
        "token": token, "expires_at": expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "permissions": APP_PERMISSIONS, "repository_selection": "all",
    }  # fmt: skip


def error_json(status: int, message: str, errors: list[Any] | None = None) -> dict[str, Any]:
    """GitHub's error body (a `basic-error`, or a `validation-error` when `errors` is given: objects,
    or for some refusals, such as a review's, sentences)."""
    body: dict[str, Any] = {"message": message, "documentation_url": DOCS, "status": str(status)}
    return body if errors is None else body | {"errors": errors}
