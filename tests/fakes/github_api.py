"""A small GitHub API for tests: the calls Shipyard makes, answered as GitHub's docs give them.

It holds repositories, pull requests, issues, comments, collaborator roles and repository
dispatches in memory, checks `Authorization: Bearer|token <token>` against the tokens it knows
(every good token authenticates as `login`), and records every request it receives. As a GitHub
App's server (`app_id`, `app_public_key`) it answers the App's routes to a JWT signed with the
app's key, and issues installation tokens that the other routes then accept until they expire
(`github_app`: the app, its installations and the repositories each one reaches). Issues and
pull requests share one number sequence per repository, as on GitHub, and are listed together;
lists (branches, pull requests, issues) come a page at a time with GitHub's `Link` header.
GraphQL (`POST /graphql`) knows one mutation: `markPullRequestReadyForReview`. The JSON shapes live
in `github_json`; branches, tags, merges, releases, new issues and sub-issues in `github_git`
(refs and merges in the repository's real git data when `git_dirs` holds it: `github_refs`);
reviews, review comments and a pull request's files in `github_reviews`, which checks inline
comments against a real diff when `git_dirs` holds the repository's git data; a commit's check runs
(`add_check_run`) in `github_checks`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import jwt
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from fakes.github_app import add_app_routes
from fakes.github_checks import add_check_routes
from fakes.github_deployments import add_deployment_routes
from fakes.github_git import add_git_routes, commit_sha
from fakes.github_json import (
    API,
    BASE_PERMISSION,
    CheckRun,
    Comment,
    Dispatch,
    FakeRepo,
    GitHubError,
    Issue,
    Pull,
    Release,
    ReviewComment,
    comment_json,
    error_json,
    issue_json,
    label_json,
    now,
    permission_json,
    pull_json,
    repository_json,
    short_branch_json,
    tag_json,
    user_json,
)
from fakes.github_refs import branches, has_commits
from fakes.github_reviews import NewComment, add_review, add_review_routes, one_page, paged

__all__ = [  # the JSON builders and records are re-exported for tests that import only this module
    "API", "CheckRun", "Comment", "Dispatch", "FakeGitHub", "FakeRepo", "GitHubError", "Issue", "Pull",
    "Received", "Release", "ReviewComment", "build_app", "repository_json", "user_json",
]  # fmt: skip


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Hold:
    """Requests to `method path` (a path, or a pattern: `*` matches any part) wait (after being
    recorded) until `released` is set; `reached` says one arrived. A test uses it to stop Shipyard
    in the middle of a GitHub call."""

    method: str
    path: str
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class FakeGitHub:
    tokens: set[str]
    login: str = "shipyard-bot"  # who the known tokens authenticate as
    repos: dict[str, FakeRepo] = field(default_factory=dict)  # "owner/name" (lower case) → repository
    received: list[Received] = field(default_factory=list)
    dispatches: list[Dispatch] = field(default_factory=list)
    base_url: str = ""
    app_id: int | None = None  # the GitHub App whose JWTs the App routes accept
    app_public_key: str | None = None  # its public key (PEM)
    app_slug: str = "shipyard"
    installations: dict[str, int] = field(default_factory=dict)  # "owner/name" (lower case) → id
    token_ttl_s: float = 3600.0  # how long an installation token lives (GitHub: an hour)
    token_expiry: dict[str, datetime] = field(default_factory=dict)  # installation token → expiry
    token_requests: list[int] = field(default_factory=list)  # installation id of each token request
    token_installations: dict[str, int] = field(default_factory=dict)  # installation token → its installation
    installation_lookups: list[str] = field(default_factory=list)  # "owner/name" of each lookup
    holds: list[Hold] = field(default_factory=list)
    left_out: set[str] = field(default_factory=set)  # keys dropped, at any depth, from every answer
    git_dirs: dict[str, Path] = field(default_factory=dict)  # "owner/name" → its bare repository (diffs)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1001), repr=False)

    def next_id(self) -> int:
        """A new id, unique across everything the fake holds."""
        return next(self._ids)

    def git_dir(self, full_name: str) -> Path | None:
        """The repository's git data, if the test gave it."""
        return next((path for name, path in self.git_dirs.items() if name.lower() == full_name.lower()), None)

    def hold(self, method: str, path: str) -> Hold:
        """Hold requests to `method path` until the returned hold is released."""
        held = Hold(method, path)
        self.holds.append(held)
        return held

    def add_repo(self, full_name: str, default_branch: str = "main", private: bool = False) -> None:
        repo = repository_json(len(self.repos) + 1, full_name, default_branch, private)
        self.repos[full_name.lower()] = FakeRepo(
            repo, refs={f"refs/heads/{default_branch}": commit_sha(full_name)}
        )

    def install_app(self, full_name: str, installation_id: int) -> None:
        """Install the App on the repository (one installation may cover several)."""
        self.repo(full_name)
        self.installations[full_name.lower()] = installation_id

    def issue_token(self, installation_id: int) -> tuple[str, datetime]:
        """A new installation token and its expiry, or GitHub's 404 for an unknown installation."""
        self.token_requests.append(installation_id)
        if installation_id not in self.installations.values():
            raise GitHubError(404, "Not Found")
        token = f"ghs_{secrets.token_hex(18)}"
        expires_at = datetime.now(UTC) + timedelta(seconds=self.token_ttl_s)
        self.tokens.add(token)
        self.token_expiry[token] = expires_at
        self.token_installations[token] = installation_id
        return token, expires_at

    def accepts(self, token: str) -> bool:
        """Whether `token` is known and, for an installation token, not expired."""
        expires_at = self.token_expiry.get(token)
        return token in self.tokens and (expires_at is None or datetime.now(UTC) < expires_at)

    def accepts_jwt(self, token: str) -> bool:
        """Whether `token` is a JWT of the App: RS256 with its key, `iss` its id, unexpired, ≤ 10 min."""
        if self.app_id is None or self.app_public_key is None:
            return False
        try:
            claims = jwt.decode(
                token,
                self.app_public_key,
                algorithms=["RS256"],
                issuer=str(self.app_id),
                options={"require": ["iat", "exp", "iss"]},
            )
        except jwt.PyJWTError:
            return False
        return int(claims["exp"]) <= time.time() + 600

    def repo(self, full_name: str) -> FakeRepo:
        """The repository, or GitHub's 404."""
        repo = self.repos.get(full_name.lower())
        if repo is None:
            raise GitHubError(404, "Not Found")
        return repo

    def add_issue(
        self,
        full_name: str,
        title: str,
        body: str | None = "",
        labels: Iterable[str] = (),
        user: str = "octocat",
    ) -> Issue:
        """Open an issue (numbered after the repository's last issue or pull request)."""
        repo, id = self.repo(full_name), next(self._ids)
        issue = Issue(repo.take_number(), id, f"I_kwDO{id:08d}", title, body, user, labels=list(labels))
        repo.issues[issue.number] = issue
        return issue

    def add_pull(
        self,
        full_name: str,
        head: str,
        base: str,
        title: str,
        body: str | None = None,
        draft: bool = False,
        user: str | None = None,
    ) -> Pull:
        """Open a pull request from `head` (`branch` or `owner:branch`) by `user` (the token's login
        unless given); 422 if one is open already, or if the branch has no commits for `base`."""
        repo = self.repo(full_name)
        owner, _, branch = head.rpartition(":")
        owner = owner or repo.json["owner"]["login"]
        label = f"{owner}:{branch}".lower()
        if any(
            p.state == "open" and p.head_label.lower() == label and p.base == base
            for p in repo.pulls.values()
        ):
            error = {"resource": "PullRequest", "code": "custom"}
            raise GitHubError(
                422,
                "Validation Failed",
                [error | {"message": f"A pull request already exists for {owner}:{branch}."}],
            )
        if owner.lower() == repo.json["owner"]["login"].lower() and not has_commits(self, repo, base, branch):
            error = {"resource": "PullRequest", "code": "custom"}
            raise GitHubError(
                422, "Validation Failed", [error | {"message": f"No commits between {base} and {branch}"}]
            )
        id = next(self._ids)
        pull = Pull(
            repo.take_number(),
            id,
            f"PR_kwDO{id:08d}",
            title,
            body,
            owner,
            branch,
            base,
            draft,
            user or self.login,
        )
        repo.pulls[pull.number] = pull
        return pull

    def set_permission(self, full_name: str, login: str, permission: str) -> None:
        """Make `login` a collaborator with a role: admin, maintain, write, triage or read."""
        if permission not in BASE_PERMISSION:
            raise ValueError(f"unknown role {permission!r}")
        self.repo(full_name).roles[login.lower()] = permission

    def pulls(self, full_name: str) -> list[Pull]:
        """The repository's pull requests, oldest first."""
        return list(self.repo(full_name).pulls.values())

    def comments(self, full_name: str, number: int) -> list[Comment]:
        """The comments on issue or pull request `number`, oldest first."""
        return [c for c in self.repo(full_name).comments if c.issue_number == number]

    def item(self, full_name: str, number: int) -> Issue | Pull:
        """Issue or pull request `number`, or GitHub's 404."""
        repo = self.repo(full_name)
        found = repo.issues.get(number) or repo.pulls.get(number)
        if found is None:
            raise GitHubError(404, "Not Found")
        return found

    def add_comment(self, full_name: str, number: int, body: str, user: str | None = None) -> Comment:
        """Comment on issue or pull request `number`."""
        item = self.item(full_name, number)
        comment = Comment(next(self._ids), number, body, user or self.login)
        self.repo(full_name).comments.append(comment)
        item.comments += 1
        return comment

    def add_review_comment(
        self,
        full_name: str,
        number: int,
        path: str,
        line: int,
        body: str,
        user: str = "octocat",
        side: str = "RIGHT",
    ) -> ReviewComment:
        """A review by `user` commenting on line `line` of `path` in pull request `number` (checked
        against the diff when the fake has the repository's git data)."""
        _, made = add_review(
            self, full_name, number, user, "COMMENT", "", [NewComment(path, line, side, body)]
        )
        return made[0]

    def review_comments(self, full_name: str, number: int) -> list[ReviewComment]:
        """The review comments of pull request `number`, replies included, oldest first."""
        return [c for c in self.repo(full_name).review_comments if c.pull_number == number]

    def releases(self, full_name: str) -> list[Release]:
        """The repository's releases, drafts included, oldest first."""
        return list(self.repo(full_name).releases)

    def add_tag(self, full_name: str, tag: str, sha: str, message: str | None = None) -> None:
        """Tag commit `sha` as someone pushing a tag would: lightweight, or annotated given `message`."""
        repo = self.repo(full_name)
        target = sha
        if message is not None:
            target = commit_sha(full_name, "tag", tag, sha)
            repo.tag_objects[target] = tag_json(repo.json, tag, target, sha, message)
        repo.refs[f"refs/tags/{tag}"] = target

    def add_check_run(
        self,
        full_name: str,
        sha: str,
        name: str,
        conclusion: str | None = None,
        summary: str | None = None,
        title: str | None = None,
        suite_id: int = 1,
    ) -> CheckRun:
        """A CI app's check run `name` on commit `sha` in check suite `suite_id`: completed with
        `conclusion`, or (None) in progress."""
        status = "completed" if conclusion else "in_progress"
        run = CheckRun(next(self._ids), sha, name, status, conclusion, suite_id, title, summary)
        run.completed_at = run.started_at if conclusion else None
        self.repo(full_name).check_runs.append(run)
        return run

    def node(self, node_id: str) -> Pull | None:
        """The pull request with this GraphQL node id, in any repository."""
        pulls = (p for repo in self.repos.values() for p in repo.pulls.values())
        return next((p for p in pulls if p.node_id == node_id), None)


def _json(body: Any, status: int = 200, location: str | None = None) -> JSONResponse:
    return JSONResponse(body, status, headers={"Location": location} if location else None)


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise GitHubError(400, "Problems parsing JSON")
    return body


def _text(body: dict[str, Any], resource: str, name: str) -> str:
    """The required string field `name`, or GitHub's 422 naming it."""
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise GitHubError(
            422, "Validation Failed", [{"resource": resource, "field": name, "code": "missing_field"}]
        )
    return value


def _matches(pull: Pull, state: str, head: str | None, base: str | None) -> bool:
    # GitHub ignores a `head` without `owner:` and lists every pull request: a classic trap.
    if head is not None and ":" in head and pull.head_label.lower() != head.lower():
        return False
    return state in ("all", pull.state) and base in (None, pull.base)


_APP_ROUTE = re.compile(r"^/(?:app(?:/.*)?|repos/[^/]+/[^/]+/installation)$")


def _refusal(fake: FakeGitHub, request: Request) -> str | None:
    """Why the request's credentials are refused (GitHub's 401 message), or None if they are good."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    path = request.url.path.removeprefix(request.scope.get("root_path", ""))
    if _APP_ROUTE.match(path):  # these take the App's JWT, and only that
        good = scheme.lower() == "bearer" and fake.accepts_jwt(token)
        return None if good else "A JSON web token could not be decoded"
    good = scheme.lower() in ("bearer", "token") and fake.accepts(token)
    return None if good else "Bad credentials"


def _add_repository_routes(app: FastAPI, fake: FakeGitHub) -> None:
    @app.get("/repos/{owner}/{name}")
    async def get_repo(owner: str, name: str) -> JSONResponse:
        return _json(fake.repo(f"{owner}/{name}").json)

    @app.get("/repos/{owner}/{name}/collaborators/{login}/permission")
    async def get_permission(owner: str, name: str, login: str) -> JSONResponse:
        role = fake.repo(f"{owner}/{name}").roles.get(login.lower())
        if role is None:
            raise GitHubError(404, f"{login} is not a user")
        return _json(permission_json(login, role))

    @app.get("/repos/{owner}/{name}/branches")
    async def list_branches(owner: str, name: str, request: Request) -> JSONResponse:
        repo = fake.repo(f"{owner}/{name}")
        return paged(request, [short_branch_json(repo.json, b, sha) for b, sha in branches(fake, repo)])

    @app.post("/repos/{owner}/{name}/dispatches")
    async def dispatch(owner: str, name: str, request: Request) -> Response:
        repo, body = fake.repo(f"{owner}/{name}"), await _body(request)
        event_type, payload = _text(body, "Repository", "event_type"), body.get("client_payload", {})
        if not isinstance(payload, dict) or len(payload) > 10:
            error = {"resource": "Repository", "field": "client_payload", "code": "invalid"}
            raise GitHubError(
                422, "Validation Failed", [error | {"message": "No more than 10 properties are allowed"}]
            )
        fake.dispatches.append(Dispatch(repo.json["full_name"], event_type, payload))
        return Response(status_code=204)


def _add_pull_routes(app: FastAPI, fake: FakeGitHub) -> None:
    @app.get("/repos/{owner}/{name}/pulls")
    async def list_pulls(
        owner: str,
        name: str,
        request: Request,
        state: str = "open",
        head: str | None = None,
        base: str | None = None,
    ) -> JSONResponse:
        repo = fake.repo(f"{owner}/{name}")
        found = [p for p in repo.pulls.values() if _matches(p, state, head, base)]
        return paged(request, [pull_json(repo.json, p, simple=True) for p in reversed(found)])  # newest first

    @app.post("/repos/{owner}/{name}/pulls")
    async def create_pull(owner: str, name: str, request: Request) -> JSONResponse:
        repo, body = fake.repo(f"{owner}/{name}"), await _body(request)
        head, base = _text(body, "PullRequest", "head"), _text(body, "PullRequest", "base")
        title = _text(body, "PullRequest", "title")
        pull = fake.add_pull(
            repo.json["full_name"], head, base, title, body.get("body"), bool(body.get("draft"))
        )
        location = f"{repo.json['url']}/pulls/{pull.number}"
        return _json(pull_json(repo.json, pull), 201, location)

    @app.get("/repos/{owner}/{name}/pulls/{number:int}")
    async def get_pull(owner: str, name: str, number: int) -> JSONResponse:
        repo = fake.repo(f"{owner}/{name}")
        if number not in repo.pulls:
            raise GitHubError(404, "Not Found")
        return _json(pull_json(repo.json, repo.pulls[number]))

    @app.patch("/repos/{owner}/{name}/pulls/{number:int}")
    async def update_pull(owner: str, name: str, number: int, request: Request) -> JSONResponse:
        repo, body = fake.repo(f"{owner}/{name}"), await _body(request)
        pull = repo.pulls.get(number)
        if pull is None:
            raise GitHubError(404, "Not Found")
        for key in ("title", "body", "state", "base"):
            if key in body:
                setattr(pull, key, body[key])
        pull.updated_at = now()
        return _json(pull_json(repo.json, pull))


def _listed(item: Issue | Pull, state: str, since: datetime | None) -> bool:
    """Whether "List repository issues" lists the item for `state` and `since` (updated at or after)."""
    updated = datetime.fromisoformat(item.updated_at.replace("Z", "+00:00"))
    return state in ("all", item.state) and (since is None or updated >= since)


def _add_issue_routes(app: FastAPI, fake: FakeGitHub) -> None:
    @app.get("/repos/{owner}/{name}/issues")
    async def list_issues(
        owner: str,
        name: str,
        request: Request,
        state: str = "open",
        since: str | None = None,
        direction: str = "desc",
    ) -> JSONResponse:
        """Issues and pull requests (GitHub lists both), newest first unless asked otherwise."""
        repo = fake.repo(f"{owner}/{name}")
        try:
            after = datetime.fromisoformat(since.replace("Z", "+00:00")) if since else None
        except ValueError:
            raise GitHubError(422, "Validation Failed", [{"resource": "Issue", "field": "since"}]) from None
        after = after.replace(tzinfo=UTC) if after and after.tzinfo is None else after  # GitHub: UTC
        items = sorted([*repo.issues.values(), *repo.pulls.values()], key=lambda item: item.number)
        found = [issue_json(repo.json, item) for item in items if _listed(item, state, after)]
        return paged(request, found[::-1] if direction == "desc" else found)

    @app.get("/repos/{owner}/{name}/issues/{number:int}")
    async def get_issue(owner: str, name: str, number: int) -> JSONResponse:
        repo = fake.repo(f"{owner}/{name}")
        return _json(issue_json(repo.json, fake.item(repo.json["full_name"], number)))

    @app.post("/repos/{owner}/{name}/issues/{number:int}/comments")
    async def create_comment(owner: str, name: str, number: int, request: Request) -> JSONResponse:
        repo, body = fake.repo(f"{owner}/{name}"), await _body(request)
        comment = fake.add_comment(repo.json["full_name"], number, _text(body, "IssueComment", "body"))
        location = f"{repo.json['url']}/issues/comments/{comment.id}"
        return _json(comment_json(repo.json, comment, number in repo.pulls), 201, location)

    @app.get("/repos/{owner}/{name}/issues/{number:int}/comments")
    async def list_comments(owner: str, name: str, number: int, request: Request) -> JSONResponse:
        repo = fake.repo(f"{owner}/{name}")
        on_pull = number in repo.pulls
        found = [comment_json(repo.json, c, on_pull) for c in fake.comments(repo.json["full_name"], number)]
        page, link = one_page(request, found)
        return JSONResponse(page, headers={"Link": link} if link else None)

    @app.patch("/repos/{owner}/{name}/issues/comments/{comment_id:int}")
    async def update_comment(owner: str, name: str, comment_id: int, request: Request) -> JSONResponse:
        repo, body = fake.repo(f"{owner}/{name}"), await _body(request)
        comment = next((c for c in repo.comments if c.id == comment_id), None)
        if comment is None:
            raise GitHubError(404, "Not Found")
        comment.body, comment.updated_at = _text(body, "IssueComment", "body"), now()
        return _json(comment_json(repo.json, comment, comment.issue_number in repo.pulls))

    @app.post("/repos/{owner}/{name}/issues/{number:int}/labels")
    async def add_labels(owner: str, name: str, number: int, request: Request) -> JSONResponse:
        repo, body = fake.repo(f"{owner}/{name}"), await _body(request)
        item, names = fake.item(repo.json["full_name"], number), body.get("labels")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise GitHubError(
                422, "Validation Failed", [{"resource": "Label", "field": "labels", "code": "invalid"}]
            )
        item.labels += [n for n in dict.fromkeys(names) if n not in item.labels]
        return _json([label_json(repo.json, n) for n in item.labels])

    @app.delete("/repos/{owner}/{name}/issues/{number:int}/labels/{label:path}")
    async def remove_label(owner: str, name: str, number: int, label: str) -> JSONResponse:
        repo = fake.repo(f"{owner}/{name}")
        item = fake.item(repo.json["full_name"], number)
        if label not in item.labels:
            raise GitHubError(404, "Label does not exist")
        item.labels.remove(label)
        return _json([label_json(repo.json, n) for n in item.labels])


_PULL_REQUEST_ID = re.compile(r'pullRequestId\s*:\s*(?:\$(?P<var>\w+)|"(?P<literal>[^"]*)")')


def _graphql(fake: FakeGitHub, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The answer to a GraphQL request (always HTTP 200, as GitHub answers them)."""
    found = _PULL_REQUEST_ID.search(query) if "markPullRequestReadyForReview" in query else None
    if found is None:
        return {"errors": [{"message": "the fake GitHub knows only markPullRequestReadyForReview"}]}
    node_id = str(variables.get(found["var"]) if found["var"] else found["literal"])
    pull = fake.node(node_id)
    if pull is None:
        line = query[: found.start()].count("\n") + 1
        error = {
            "type": "NOT_FOUND",
            "path": ["markPullRequestReadyForReview"],
            "locations": [{"line": line, "column": 3}],
        }
        message = f"Could not resolve to a node with the global id of '{node_id}'"
        return {"data": None, "errors": [error | {"message": message}]}
    pull.draft, pull.updated_at = False, now()
    return {"data": {"markPullRequestReadyForReview": {"pullRequest": {"isDraft": False}}}}


async def _leaving_out(answer: Any, keys: set[str]) -> Response:
    """The answer without `keys`, as GitHub answers under an older API version or for older data."""
    body = b"".join([chunk async for chunk in answer.body_iterator])
    if not answer.headers.get("content-type", "").startswith("application/json"):
        return Response(body, answer.status_code, headers=dict(answer.headers))
    return _json(_without(json.loads(body), keys), answer.status_code, answer.headers.get("location"))


def _without(value: Any, keys: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: _without(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_without(item, keys) for item in value]
    return value


def build_app(fake: FakeGitHub) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def record_and_authenticate(request: Request, call_next: Any) -> Any:
        body = await request.body()
        fake.received.append(Received(request.method, request.url.path, dict(request.headers), body))
        for held in fake.holds:
            if held.method == request.method and fnmatchcase(request.url.path, held.path):
                held.reached.set()
                await held.released.wait()
        refusal = _refusal(fake, request)
        if refusal is not None:
            return _json(error_json(401, refusal), 401)
        answer = await call_next(request)
        return await _leaving_out(answer, fake.left_out) if fake.left_out else answer

    @app.exception_handler(GitHubError)
    async def github_error(request: Request, err: GitHubError) -> JSONResponse:
        return _json(error_json(err.status, err.message, err.errors), err.status)

    @app.post("/graphql")
    async def graphql(request: Request) -> JSONResponse:
        body = await _body(request)
        return _json(_graphql(fake, str(body.get("query", "")), body.get("variables") or {}))

    add_app_routes(app, fake)
    _add_repository_routes(app, fake)
    _add_pull_routes(app, fake)
    _add_issue_routes(app, fake)
    add_git_routes(app, fake)
    add_review_routes(app, fake)
    add_check_routes(app, fake)
    add_deployment_routes(app, fake)
    return app
