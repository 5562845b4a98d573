"""The fake GitHub's branches, merges, new issues and sub-issues, in GitHub's REST shapes
("Git references", "Merge a pull request", "Create an issue", "Add sub-issue"); the JSON of a
review, whose routes are in `github_reviews`."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from fakes.github_json import FakeRepo, GitHubError, Pull, issue_json, now, stable_id, user_json

if TYPE_CHECKING:
    from fakes.github_api import FakeGitHub


def commit_sha(*parts: str) -> str:
    """A made-up commit sha, the same for the same parts."""
    return hashlib.sha1(":".join(("commit", *parts)).encode()).hexdigest()


def ref_json(repo: dict[str, Any], ref: str, sha: str) -> dict[str, Any]:
    """A git reference ("Get a reference")."""
    return {
        "ref": ref, "node_id": f"REF_kwDO{stable_id(repo['full_name'] + ref)}",
        "url": f"{repo['url']}/git/{ref}",
        "object": {"type": "commit", "sha": sha, "url": f"{repo['url']}/git/commits/{sha}"},
    }  # fmt: skip


def review_json(
    repo: dict[str, Any], pull: Pull, id: int, user: str, state: str, body: str
) -> dict[str, Any]:
    """A pull request review ("List reviews for a pull request")."""
    html = f"{repo['html_url']}/pull/{pull.number}#pullrequestreview-{id}"
    api = f"{repo['url']}/pulls/{pull.number}"
    return {
        "id": id, "node_id": f"PRR_kwDO{id:08d}", "user": user_json(user), "body": body, "state": state,
        "html_url": html, "pull_request_url": api, "author_association": "COLLABORATOR",
        "_links": {"html": {"href": html}, "pull_request": {"href": api}}, "submitted_at": now(),
        "commit_id": commit_sha(repo["full_name"], pull.head),
    }  # fmt: skip


def _invalid(resource: str, field: str, code: str = "invalid", message: str | None = None) -> GitHubError:
    error: dict[str, Any] = {"resource": resource, "field": field, "code": code}
    return GitHubError(422, message or "Validation Failed", [error])


def _pull(repo: FakeRepo, number: int) -> Pull:
    if number not in repo.pulls:
        raise GitHubError(404, "Not Found")
    return repo.pulls[number]


def add_git_routes(app: FastAPI, fake: FakeGitHub) -> None:
    """Mount the routes on the fake's app."""
    _add_ref_routes(app, fake)
    _add_merge_routes(app, fake)
    _add_new_issue_routes(app, fake)


def _add_ref_routes(app: FastAPI, fake: FakeGitHub) -> None:
    @app.get("/repos/{owner}/{name}/git/ref/{ref:path}")
    async def get_ref(owner: str, name: str, ref: str) -> JSONResponse:
        repo = fake.repo(f"{owner}/{name}")
        sha = repo.refs.get(f"refs/{ref}")
        if sha is None:
            raise GitHubError(404, "Not Found")
        return JSONResponse(ref_json(repo.json, f"refs/{ref}", sha))

    @app.post("/repos/{owner}/{name}/git/refs")
    async def create_ref(owner: str, name: str, request: Request) -> JSONResponse:
        repo, body = fake.repo(f"{owner}/{name}"), await request.json()
        ref, sha = body.get("ref"), body.get("sha")
        if not isinstance(ref, str) or not ref.startswith("refs/") or ref.count("/") < 2:
            raise GitHubError(
                422, "ref must be fully qualified (e.g. refs/heads/main) and have at least two slashes"
            )
        if not isinstance(sha, str) or sha not in repo.refs.values():
            raise GitHubError(422, "Object does not exist")
        if ref in repo.refs:
            raise GitHubError(422, "Reference already exists")
        repo.refs[ref] = sha
        return JSONResponse(ref_json(repo.json, ref, sha), 201)


def _add_merge_routes(app: FastAPI, fake: FakeGitHub) -> None:
    @app.put("/repos/{owner}/{name}/pulls/{number:int}/merge")
    async def merge(owner: str, name: str, number: int, request: Request) -> JSONResponse:
        repo, body = fake.repo(f"{owner}/{name}"), await request.json()
        pull = _pull(repo, number)
        if body.get("merge_method", "merge") not in ("merge", "squash", "rebase"):
            raise _invalid("PullRequest", "merge_method")
        if pull.state != "open" or pull.draft:
            raise GitHubError(405, "Pull Request is not mergeable")
        sha = commit_sha(repo.json["full_name"], pull.base, pull.head, str(number))
        repo.refs[f"refs/heads/{pull.base}"] = sha
        pull.state, pull.updated_at = "closed", now()
        pull.merged_at = pull.updated_at
        return JSONResponse({"sha": sha, "merged": True, "message": "Pull Request successfully merged"})


def _add_new_issue_routes(app: FastAPI, fake: FakeGitHub) -> None:
    @app.post("/repos/{owner}/{name}/issues")
    async def create_issue(owner: str, name: str, request: Request) -> JSONResponse:
        repo, body = fake.repo(f"{owner}/{name}"), await request.json()
        title = body.get("title")
        if not isinstance(title, str) or not title:
            raise _invalid("Issue", "title", "missing_field")
        issue = fake.add_issue(repo.json["full_name"], title, body.get("body"), user=fake.login)
        location = f"{repo.json['url']}/issues/{issue.number}"
        return JSONResponse(issue_json(repo.json, issue), 201, headers={"Location": location})

    @app.post("/repos/{owner}/{name}/issues/{number:int}/sub_issues")
    async def add_sub_issue(owner: str, name: str, number: int, request: Request) -> JSONResponse:
        repo, body = fake.repo(f"{owner}/{name}"), await request.json()
        parent = repo.issues.get(number)
        if parent is None:
            raise GitHubError(404, "Not Found")
        child = next((i for i in repo.issues.values() if i.id == body.get("sub_issue_id")), None)
        if child is None or child.number == number:
            raise _invalid("Issue", "sub_issue_id")
        if any(child.number in subs for subs in repo.sub_issues.values()):
            raise GitHubError(
                422, "Validation Failed", [{"message": "Issue may not contain duplicate sub-issues"}]
            )
        repo.sub_issues.setdefault(number, []).append(child.number)
        return JSONResponse(issue_json(repo.json, parent), 201)
