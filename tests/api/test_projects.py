"""/api/projects over real HTTP: create, list, show, change, delete, and the errors of each."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from shipyard.config import Settings
from support import MakeRepo, api_only

TOKEN = "project-token-canary-5d1e"

LABELED = {
    "on": "issues",
    "actions": ["labeled"],
    "labels": ["shipyard"],
    "workflow": "plan_build_test",
    "inputs": {"prompt": "{{ event.title }}"},
    "agent": "shell",
}


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    settings.api_token = SecretStr(TOKEN)
    async with api_only(settings) as client:
        client.headers["Authorization"] = f"Bearer {TOKEN}"
        yield client


async def create(api: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    resp = await api.post("/api/projects", json={"name": "widgets", **body})
    assert resp.status_code == 201, resp.text
    project: dict[str, Any] = resp.json()["project"]
    return project


def error_of(resp: httpx.Response, status: int) -> dict[str, str]:
    assert resp.status_code == status, resp.text
    error: dict[str, str] = resp.json()["error"]
    return error


async def test_github_project_is_created_found_and_listed(api: httpx.AsyncClient) -> None:
    project = await create(
        api,
        repository_url="https://github.com/Acme/Widgets.git",
        sources=[LABELED],
        budget={"max_turns": 30},
    )

    assert project["id"].startswith("prj-")
    assert (project["github_repository"], project["forge"]) == ("acme/widgets", "github")
    assert project["sources"] == [{**LABELED, **_source_defaults(LABELED)}]
    assert project["budget"]["max_turns"] == 30
    for key in (project["id"], "widgets"):
        shown = await api.get(f"/api/projects/{key}")
        assert shown.status_code == 200 and shown.json()["project"] == project
    listed = await api.get("/api/projects")
    assert listed.json() == {"projects": [project]}


def _source_defaults(given: dict[str, Any]) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "repository": None,
        "branches": [],
        "actions": [],
        "labels": [],
        "command": None,
    }
    defaults |= {"types": [], "paths": [], "inputs": {}, "agent": None, "sandbox_type": None}
    defaults |= {"cron": None, "timezone": None, "overlap": None}
    return {key: value for key, value in defaults.items() if key not in given}


async def test_local_project_is_resolved_to_its_directory(
    api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = make_repo("here")
    linked = tmp_path / "link"
    linked.symlink_to(repo)

    by_path = await create(api, repository_url=str(linked))
    by_url = await create(api, name="by-url", repository_url=f"file://{repo}", github_repository="acme/here")

    assert (by_path["repository_url"], by_path["github_repository"]) == (str(repo), None)
    assert by_path["forge"] == by_url["forge"] == "local"
    assert by_url["repository_url"] == str(repo)


async def test_a_taken_name_is_409(api: httpx.AsyncClient) -> None:
    await create(api, repository_url="https://github.com/acme/widgets")

    resp = await api.post(
        "/api/projects", json={"name": "widgets", "repository_url": "https://github.com/a/b"}
    )

    error = error_of(resp, 409)
    assert error == {"code": "conflict", "message": "a project named 'widgets' already exists"}


async def test_unknown_projects_are_404(api: httpx.AsyncClient) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        resp = await api.request(method, "/api/projects/nope", json={} if method == "PATCH" else None)
        assert error_of(resp, 404) == {"code": "not_found", "message": "project 'nope' not found"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "Widgets"}, "project name 'Widgets' must be 1-63 characters"),
        ({"sources": [{"on": "deploy", "workflow": "x"}]}, "unknown event 'deploy'"),
        (
            {"sources": [{"on": "pull_request", "paths": ["src/*"], "workflow": "x"}]},
            "'paths' does not apply",
        ),
        ({"sources": [{"on": "push", "workflow": "x", "colour": "red"}]}, "sources.0.colour"),
        ({"agent": "hal9000"}, "agent: unknown agent 'hal9000'; known:"),
        (
            {"sources": [LABELED, {**LABELED, "sandbox_type": "vm"}]},
            "sources[1].sandbox_type: unknown sandbox 'vm'",
        ),
        ({"repository_url": "/no/such/repo"}, "repository '/no/such/repo' not found: no such directory"),
        ({"repository_url": "acme/widgets"}, "give its URL: https://github.com/acme/widgets"),
        ({"repository_url": "https://example.com/x", "forge": "github"}, "forge 'github' needs a GitHub"),
        ({"github_repository": "not a repo"}, "github_repository 'not a repo' is not owner/name"),
        ({"budget": {"max_turns": 0}}, "budget.max_turns"),
        ({"repository_url": None}, "repository_url"),
    ],
)
async def test_bad_bodies_are_422_with_a_clear_message(
    api: httpx.AsyncClient, body: dict[str, Any], message: str
) -> None:
    full = {"name": "widgets", "repository_url": "https://github.com/acme/widgets", **body}

    resp = await api.post("/api/projects", json=full)

    assert message in error_of(resp, 422)["message"]
    assert (await api.get("/api/projects")).json() == {"projects": []}


async def test_a_plain_directory_is_not_a_repository(api: httpx.AsyncClient, tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()

    resp = await api.post("/api/projects", json={"name": "plain", "repository_url": str(tmp_path / "plain")})

    assert "is not a git repository" in error_of(resp, 422)["message"]


async def test_patch_changes_only_the_given_fields(api: httpx.AsyncClient) -> None:
    project = await create(
        api, repository_url="https://github.com/acme/widgets", agent="shell", sources=[LABELED]
    )
    push = {"on": "push", "branches": ["main"], "workflow": "test"}

    resp = await api.patch("/api/projects/widgets", json={"sources": [push], "agent": None})

    assert resp.status_code == 200, resp.text
    changed = resp.json()["project"]
    assert [s["on"] for s in changed["sources"]] == ["push"]
    assert changed["agent"] is None
    unchanged = ("id", "name", "repository_url", "github_repository", "forge", "created_at")
    assert {k: changed[k] for k in unchanged} == {k: project[k] for k in unchanged}
    assert changed["updated_at"] > project["updated_at"]


async def test_a_new_repository_url_re_derives_repository_and_forge(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    await create(api, repository_url="https://github.com/acme/widgets")
    repo = make_repo()

    to_local = (await api.patch("/api/projects/widgets", json={"repository_url": str(repo)})).json()[
        "project"
    ]
    renamed = await api.patch(
        "/api/projects/widgets", json={"repository_url": "git@github.com:Acme/Gadgets.git", "name": "gadgets"}
    )

    assert (to_local["github_repository"], to_local["forge"]) == (None, "local")
    assert renamed.status_code == 200, renamed.text
    gadgets = renamed.json()["project"]
    assert (gadgets["name"], gadgets["github_repository"], gadgets["forge"]) == (
        "gadgets",
        "acme/gadgets",
        "github",
    )


async def test_bad_patches_are_refused_and_change_nothing(api: httpx.AsyncClient) -> None:
    project = await create(api, repository_url="https://github.com/acme/widgets")
    await create(api, name="other", repository_url="https://github.com/acme/other")

    cases = [
        ({"name": None}, 422, "'name' cannot be null"),
        ({"name": "other"}, 409, "a project named 'other' already exists"),
        ({"sandbox_type": "vm"}, 422, "unknown sandbox 'vm'"),
        ({"repository_url": "https://example.com/x", "forge": "github"}, 422, "forge 'github' needs"),
        ({"id": "prj-00000000"}, 422, "id"),
    ]
    for body, status, message in cases:
        resp = await api.patch(f"/api/projects/{project['id']}", json=body)
        assert message in error_of(resp, status)["message"], body

    assert (await api.get("/api/projects/widgets")).json()["project"] == project


async def test_delete_is_204_and_then_the_project_is_gone(api: httpx.AsyncClient) -> None:
    project = await create(api, repository_url="https://github.com/acme/widgets")

    resp = await api.delete(f"/api/projects/{project['id']}")

    assert resp.status_code == 204 and resp.content == b""
    assert (await api.get("/api/projects/widgets")).status_code == 404


async def test_projects_need_the_api_token(api: httpx.AsyncClient) -> None:
    for method in ("GET", "POST"):
        resp = await api.request(method, "/api/projects", headers={"Authorization": "Bearer wrong"})
        assert error_of(resp, 401)["code"] == "unauthorized"
