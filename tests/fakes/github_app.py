"""The fake GitHub as a GitHub App's server: the app itself (`GET /app`), its installations
(`GET /app/installations/{id}`, `GET /repos/{owner}/{repo}/installation`), installation tokens
(`POST /app/installations/{id}/access_tokens`), and the repositories an installation token reaches
(`GET /installation/repositories`, a page at a time). The `/app` routes and a repository's
installation take the app's JWT only (checked in `github_api`); the list takes an installation
token only, as on GitHub. An installation is the repositories `FakeGitHub.install_app` gave it, on
the account of the first one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from fakes.github_json import (
    APP_PERMISSIONS,
    WEB,
    GitHubError,
    installation_json,
    installation_token_json,
    user_json,
)
from fakes.github_reviews import one_page

if TYPE_CHECKING:
    from fakes.github_api import FakeGitHub

_STAMP = "2026-11-01T12:00:00Z"
# GitHub's words when a token that is not an installation's asks for an installation's repositories
_NOT_INSTALLATION = "You must authenticate with an installation access token in order to list repositories."


def app_json(fake: FakeGitHub) -> dict[str, Any]:
    """The app, as "Get the authenticated app" answers (an `integration`)."""
    assert fake.app_id is not None
    return {
        "id": fake.app_id, "slug": fake.app_slug, "client_id": f"Iv1.{fake.app_id:016x}",
        "node_id": f"A_kwDO{fake.app_id}", "owner": user_json("acme", 4242, "Organization"),
        "name": fake.app_slug.title(), "description": "Shipyard's agents",
        "external_url": "https://shipyard.example", "html_url": f"{WEB}/apps/{fake.app_slug}",
        "created_at": _STAMP, "updated_at": _STAMP, "permissions": APP_PERMISSIONS,
        "events": ["issues", "issue_comment", "pull_request"],
        "installations_count": len(set(fake.installations.values())),
    }  # fmt: skip


def _installation(fake: FakeGitHub, installation_id: int) -> dict[str, Any]:
    """The installation as "Get an installation for the authenticated app" answers, or GitHub's 404."""
    repos = installed(fake, installation_id)
    if not repos or fake.app_id is None:
        raise GitHubError(404, "Not Found")
    answer = installation_json(installation_id, fake.app_id, fake.app_slug, repos[0]["owner"])
    return answer | {"repository_selection": "selected"}


def installed(fake: FakeGitHub, installation_id: int) -> list[dict[str, Any]]:
    """The repositories of the installation (full-repository objects), by name."""
    names = sorted(name for name, id in fake.installations.items() if id == installation_id)
    return [fake.repos[name].json for name in names]


def add_app_routes(app: FastAPI, fake: FakeGitHub) -> None:
    @app.get("/app")
    async def get_app() -> JSONResponse:
        if fake.app_id is None:
            raise GitHubError(404, "Not Found")
        return JSONResponse(app_json(fake))

    @app.get("/app/installations/{installation_id:int}")
    async def get_app_installation(installation_id: int) -> JSONResponse:
        return JSONResponse(_installation(fake, installation_id))

    @app.post("/app/installations/{installation_id:int}/access_tokens")
    async def create_token(installation_id: int) -> JSONResponse:
        token, expires_at = fake.issue_token(installation_id)
        return JSONResponse(installation_token_json(token, expires_at), 201)

    @app.get("/repos/{owner}/{name}/installation")
    async def get_installation(owner: str, name: str) -> JSONResponse:
        repo = fake.repo(f"{owner}/{name}")
        fake.installation_lookups.append(repo.json["full_name"])
        installation_id = fake.installations.get(repo.json["full_name"].lower())
        if installation_id is None or fake.app_id is None:
            raise GitHubError(404, "Not Found")
        owner_json = repo.json["owner"]
        return JSONResponse(installation_json(installation_id, fake.app_id, fake.app_slug, owner_json))

    @app.get("/installation/repositories")
    async def list_installation_repositories(request: Request) -> JSONResponse:
        token = request.headers.get("authorization", "").partition(" ")[2]
        installation_id = fake.token_installations.get(token)
        if installation_id is None:
            raise GitHubError(403, _NOT_INSTALLATION)
        repos = installed(fake, installation_id)
        page, link = one_page(request, repos)
        body = {"total_count": len(repos), "repository_selection": "selected", "repositories": page}
        return JSONResponse(body, headers={"Link": link} if link else None)
