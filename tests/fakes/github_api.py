"""A small GitHub REST API for tests: the calls Shipyard makes, answered as GitHub's docs give them.

It holds repositories in memory, checks `Authorization: Bearer|token <token>` against the tokens
it knows, and records every request it receives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

DOCS = "https://docs.github.com/rest"


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeGitHub:
    tokens: set[str]
    repos: dict[str, dict[str, Any]] = field(default_factory=dict)  # "owner/name" → repository JSON
    received: list[Received] = field(default_factory=list)
    base_url: str = ""

    def add_repo(self, full_name: str, default_branch: str = "main", private: bool = False) -> None:
        self.repos[full_name.lower()] = repository_json(
            len(self.repos) + 1, full_name, default_branch, private
        )


API = "https://api.github.com"
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


def user_json(login: str, id: int, type: str = "User") -> dict[str, Any]:
    url = f"{API}/users/{login}"
    return {
        "login": login, "id": id, "node_id": f"MDQ6VXNlcj{id}", "type": type, "site_admin": False,
        "avatar_url": f"https://avatars.githubusercontent.com/u/{id}?v=4", "gravatar_id": "",
        "url": url, "html_url": f"https://github.com/{login}", "followers_url": f"{url}/followers",
        "following_url": f"{url}/following{{/other_user}}", "gists_url": f"{url}/gists{{/gist_id}}",
        "starred_url": f"{url}/starred{{/owner}}{{/repo}}", "subscriptions_url": f"{url}/subscriptions",
        "organizations_url": f"{url}/orgs", "repos_url": f"{url}/repos",
        "events_url": f"{url}/events{{/privacy}}", "received_events_url": f"{url}/received_events",
    }  # fmt: skip


def repository_json(id: int, full_name: str, default_branch: str, private: bool) -> dict[str, Any]:
    owner, name = full_name.split("/")
    url = f"{API}/repos/{full_name}"
    stamp = "2026-11-01T12:00:00Z"
    return {
        "id": id, "node_id": f"R_kgDO{id:06d}", "name": name, "full_name": full_name, "private": private,
        "owner": user_json(owner, 1000 + id, "Organization"), "html_url": f"https://github.com/{full_name}",
        "description": None, "fork": False, "url": url,
        **{key: url + path for key, path in _REPO_URLS.items()},
        "git_url": f"git://github.com/{full_name}.git", "ssh_url": f"git@github.com:{full_name}.git",
        "clone_url": f"https://github.com/{full_name}.git", "svn_url": f"https://github.com/{full_name}",
        "mirror_url": None, "homepage": None, "language": "Python", "forks_count": 0, "forks": 0,
        "stargazers_count": 0, "watchers_count": 0, "watchers": 0, "size": 108,
        "default_branch": default_branch,
        "open_issues_count": 0, "open_issues": 0, "has_issues": True, "has_projects": True, "has_wiki": True,
        "has_pages": False, "has_discussions": False, "archived": False, "disabled": False,
        "visibility": "private" if private else "public", "pushed_at": stamp, "created_at": stamp,
        "updated_at": stamp, "subscribers_count": 1, "network_count": 0, "license": None,
        "permissions": {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True},
    }  # fmt: skip


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message, "documentation_url": DOCS, "status": str(status)}, status)


def build_app(fake: FakeGitHub) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def record_and_authenticate(request: Request, call_next: Any) -> Any:
        body = await request.body()
        fake.received.append(Received(request.method, request.url.path, dict(request.headers), body))
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() not in ("bearer", "token") or token not in fake.tokens:
            return _error(401, "Bad credentials")
        return await call_next(request)

    @app.get("/repos/{owner}/{name}")
    async def get_repo(owner: str, name: str) -> JSONResponse:
        repo = fake.repos.get(f"{owner}/{name}".lower())
        if repo is None:
            return _error(404, "Not Found")
        return JSONResponse(repo)

    return app
