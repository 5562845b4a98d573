"""The fake GitHub's Deployments API: create and list deployments, create and list their
statuses, in GitHub's REST shapes. A deployment's `ref` must name a branch, tag or commit of the
repository (GitHub's 422 otherwise); its statuses are kept newest first, as GitHub lists them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from fakes.github_json import GitHubError, user_json
from fakes.github_refs import read_ref
from fakes.github_reviews import one_page

if TYPE_CHECKING:
    from fakes.github_api import FakeGitHub

STATES = ("error", "failure", "inactive", "in_progress", "queued", "pending", "success")
_STAMP = "2026-12-05T12:00:00Z"
_BOT = user_json("shipyard[bot]", 41898282, "Bot")


def add_deployment_routes(app: FastAPI, fake: FakeGitHub) -> None:
    """Mount the routes on the fake's app."""

    @app.post("/repos/{owner}/{name}/deployments")
    async def create(owner: str, name: str, request: Request) -> JSONResponse:
        repo = fake.repo(f"{owner}/{name}")
        body = await request.json()
        ref = str(body.get("ref") or "")
        sha = read_ref(fake, repo, f"refs/heads/{ref}") or read_ref(fake, repo, f"refs/tags/{ref}")
        if not sha:
            raise GitHubError(422, f"No ref found for: {ref}")
        number = len(repo.deployments) + 1
        url = f"{repo.json['url']}/deployments/{number}"
        made = {
            "url": url, "id": number, "node_id": f"DE_kwDO{number:08d}", "sha": sha, "ref": ref,
            "task": body.get("task", "deploy"), "payload": body.get("payload") or {},
            "original_environment": body.get("environment", "production"),
            "environment": body.get("environment", "production"), "description": body.get("description"),
            "creator": _BOT, "created_at": _STAMP, "updated_at": _STAMP,
            "statuses_url": f"{url}/statuses", "repository_url": repo.json["url"],
            "transient_environment": bool(body.get("transient_environment", False)),
            "production_environment": bool(body.get("production_environment", False)),
        }  # fmt: skip
        repo.deployments.append(made)
        return JSONResponse(made, status_code=201)

    @app.get("/repos/{owner}/{name}/deployments")
    async def list_all(owner: str, name: str, request: Request) -> JSONResponse:
        repo = fake.repo(f"{owner}/{name}")
        found = [d for d in reversed(repo.deployments)]
        for key in ("environment", "ref", "sha", "task"):
            if key in request.query_params:
                found = [d for d in found if str(d.get(key)) == request.query_params[key]]
        page, link = one_page(request, found)
        return JSONResponse(page, headers={"Link": link} if link else None)

    @app.post("/repos/{owner}/{name}/deployments/{number}/statuses")
    async def create_status(owner: str, name: str, number: int, request: Request) -> JSONResponse:
        repo = fake.repo(f"{owner}/{name}")
        deployment = _deployment(repo.deployments, number)
        body = await request.json()
        if body.get("state") not in STATES:
            raise GitHubError(422, "Validation Failed", [{"field": "state", "code": "invalid"}])
        statuses = repo.deployment_statuses.setdefault(number, [])
        made = {
            "url": f"{deployment['url']}/statuses/{len(statuses) + 1}", "id": len(statuses) + 1,
            "node_id": f"DES_kwDO{number:04d}{len(statuses) + 1:04d}", "state": body["state"],
            "creator": _BOT, "description": body.get("description", ""),
            "environment": deployment["environment"], "target_url": body.get("target_url", ""),
            "log_url": body.get("log_url", ""), "environment_url": body.get("environment_url", ""),
            "created_at": _STAMP, "updated_at": _STAMP, "deployment_url": deployment["url"],
            "repository_url": repo.json["url"],
        }  # fmt: skip
        statuses.insert(0, made)
        return JSONResponse(made, status_code=201)

    @app.get("/repos/{owner}/{name}/deployments/{number}/statuses")
    async def list_statuses(owner: str, name: str, number: int, request: Request) -> JSONResponse:
        repo = fake.repo(f"{owner}/{name}")
        _deployment(repo.deployments, number)
        page, link = one_page(request, repo.deployment_statuses.get(number, []))
        return JSONResponse(page, headers={"Link": link} if link else None)


def _deployment(deployments: list[dict[str, Any]], number: int) -> dict[str, Any]:
    found = next((d for d in deployments if d["id"] == number), None)
    if found is None:
        raise GitHubError(404, "Not Found")
    return found
