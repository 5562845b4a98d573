"""The fake GitHub's branches, tags, merges, releases, new issues and sub-issues, in GitHub's REST
shapes ("Git references", "Get a tag", "Merge a pull request", "Create a release", "Get a release by
tag name", "Create an issue", "Add sub-issue"); the JSON of a review, whose routes are in
`github_reviews`. Refs and merges are real git when the test gave the repository's (`github_refs`)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from fakes.github_json import (
    FakeRepo,
    GitHubError,
    Pull,
    Release,
    issue_json,
    now,
    release_json,
    stable_id,
    user_json,
)
from fakes.github_refs import is_commit, merge_in_git, read_ref, write_ref

if TYPE_CHECKING:
    from fakes.github_api import FakeGitHub


def commit_sha(*parts: str) -> str:
    """A made-up commit sha, the same for the same parts."""
    return hashlib.sha1(":".join(("commit", *parts)).encode()).hexdigest()


def ref_json(repo: dict[str, Any], ref: str, sha: str, kind: str = "commit") -> dict[str, Any]:
    """A git reference ("Get a reference"), to a commit or (`kind` "tag") an annotated tag object."""
    return {
        "ref": ref, "node_id": f"REF_kwDO{stable_id(repo['full_name'] + ref)}",
        "url": f"{repo['url']}/git/{ref}",
        "object": {"type": kind, "sha": sha, "url": f"{repo['url']}/git/{kind}s/{sha}"},
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


def publish_release(fake: FakeGitHub, repo: FakeRepo, body: dict[str, Any]) -> Release:
    """A new release as GitHub makes one: it tags `target_commitish` (a branch or a known commit;
    the default branch if not given) unless the tag exists, which it keeps where it is; a draft
    gets its tag when published. 422 `already_exists` for a second release of a tag."""
    tag = body.get("tag_name")
    if not isinstance(tag, str) or not tag:
        raise _invalid("Release", "tag_name", "missing_field")
    if any(r.tag_name == tag for r in repo.releases):
        raise _invalid("Release", "tag_name", "already_exists")
    target = str(body.get("target_commitish") or repo.json["default_branch"])
    sha = read_ref(fake, repo, f"refs/heads/{target}") or (target if is_commit(fake, repo, target) else None)
    if sha is None:
        raise _invalid("Release", "target_commitish")
    draft = body.get("draft") is True
    name, notes = body.get("name"), body.get("body")
    release = Release(
        fake.next_id(), tag, target, name, notes, fake.login, draft, body.get("prerelease") is True
    )
    if not draft:
        if read_ref(fake, repo, f"refs/tags/{tag}") is None:
            write_ref(fake, repo, f"refs/tags/{tag}", sha)
        release.published_at = release.created_at
    repo.releases.append(release)
    return release


def add_git_routes(app: FastAPI, fake: FakeGitHub) -> None:
    """Mount the routes on the fake's app."""
    _add_ref_routes(app, fake)
    _add_merge_routes(app, fake)
    _add_release_routes(app, fake)
    _add_new_issue_routes(app, fake)


def _add_ref_routes(app: FastAPI, fake: FakeGitHub) -> None:
    @app.get("/repos/{owner}/{name}/git/ref/{ref:path}")
    async def get_ref(owner: str, name: str, ref: str) -> JSONResponse:
        repo = fake.repo(f"{owner}/{name}")
        sha = read_ref(fake, repo, f"refs/{ref}")
        if sha is None:
            raise GitHubError(404, "Not Found")
        kind = "tag" if sha in repo.tag_objects else "commit"
        return JSONResponse(ref_json(repo.json, f"refs/{ref}", sha, kind))

    @app.get("/repos/{owner}/{name}/git/tags/{sha}")
    async def get_tag(owner: str, name: str, sha: str) -> JSONResponse:
        tag = fake.repo(f"{owner}/{name}").tag_objects.get(sha)
        if tag is None:
            raise GitHubError(404, "Not Found")
        return JSONResponse(tag)

    @app.post("/repos/{owner}/{name}/git/refs")
    async def create_ref(owner: str, name: str, request: Request) -> JSONResponse:
        repo, body = fake.repo(f"{owner}/{name}"), await request.json()
        ref, sha = body.get("ref"), body.get("sha")
        if not isinstance(ref, str) or not ref.startswith("refs/") or ref.count("/") < 2:
            raise GitHubError(
                422, "ref must be fully qualified (e.g. refs/heads/main) and have at least two slashes"
            )
        if not isinstance(sha, str) or not is_commit(fake, repo, sha):
            raise GitHubError(422, "Object does not exist")
        if read_ref(fake, repo, ref) is not None:
            raise GitHubError(422, "Reference already exists")
        write_ref(fake, repo, ref, sha)
        return JSONResponse(ref_json(repo.json, ref, sha), 201)


def _add_merge_routes(app: FastAPI, fake: FakeGitHub) -> None:
    @app.put("/repos/{owner}/{name}/pulls/{number:int}/merge")
    async def merge(owner: str, name: str, number: int, request: Request) -> JSONResponse:
        repo, body = fake.repo(f"{owner}/{name}"), await request.json()
        pull, method = _pull(repo, number), body.get("merge_method", "merge")
        if method not in ("merge", "squash", "rebase"):
            raise _invalid("PullRequest", "merge_method")
        if pull.state != "open" or pull.draft:
            raise GitHubError(405, "Pull Request is not mergeable")
        git_dir = fake.git_dir(repo.json["full_name"])
        if git_dir is not None:
            sha = merge_in_git(git_dir, pull, method)
        else:
            sha = commit_sha(repo.json["full_name"], pull.base, pull.head, str(number))
            repo.refs[f"refs/heads/{pull.base}"] = sha
        pull.state, pull.updated_at = "closed", now()
        pull.merged_at = pull.updated_at
        return JSONResponse({"sha": sha, "merged": True, "message": "Pull Request successfully merged"})


def _add_release_routes(app: FastAPI, fake: FakeGitHub) -> None:
    @app.post("/repos/{owner}/{name}/releases")
    async def create_release(owner: str, name: str, request: Request) -> JSONResponse:
        repo = fake.repo(f"{owner}/{name}")
        release = publish_release(fake, repo, await request.json())
        location = f"{repo.json['url']}/releases/{release.id}"
        return JSONResponse(release_json(repo.json, release), 201, headers={"Location": location})

    @app.get("/repos/{owner}/{name}/releases/tags/{tag:path}")
    async def get_release_by_tag(owner: str, name: str, tag: str) -> JSONResponse:
        repo = fake.repo(f"{owner}/{name}")
        release = next((r for r in repo.releases if r.tag_name == tag and not r.draft), None)
        if release is None:  # GitHub finds published releases only
            raise GitHubError(404, "Not Found")
        return JSONResponse(release_json(repo.json, release))


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
        child.parent = number
        return JSONResponse(issue_json(repo.json, parent), 201)
