"""Deployments (seed 002 §7.1) end to end on the fake GitHub: the real engine runs the project's
own deploy workflow as a work order per deployment (stage the version, check its health, switch
what is live), Shipyard records each and keeps GitHub's Deployments and statuses in step. v1 then
v2 to staging, a rollback makes v1 live again; a version whose health check fails is a failed
deployment and what was live stays live."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import SecretStr

from forge_kit import REPO, TOKEN, GitHub, hosted
from podman_kit import Podman
from shipyard.config import Settings
from support import MakeRepo, MakeSettings

DEPLOY = {
    "name": "deploy",
    "inputs": {
        "version": {"type": "string", "required": True},
        "env": {"type": "string", "required": True},
        "target": {"type": "string", "required": True},
    },
    "steps": [
        {
            "id": "stage",
            "run": "mkdir -p {{ inputs.target }} && echo {{ inputs.version }} > {{ inputs.target }}/next",
        },
        {"id": "health", "run": "test {{ inputs.version }} != broken"},
        {"id": "switch", "run": "mv {{ inputs.target }}/next {{ inputs.target }}/live"},
    ],
}


@pytest.fixture
def github(tmp_path: Path, make_repo: MakeRepo) -> Iterator[GitHub]:
    source = make_repo(
        "widgets", {"README.md": "# widgets\n", ".shipyard/workflows/deploy.yaml": yaml.safe_dump(DEPLOY)}
    )
    with hosted(tmp_path / "git-http", source, TOKEN) as hub:
        yield hub


@pytest.fixture
def settings(make_settings: MakeSettings, request: pytest.FixtureRequest) -> Settings:
    """On the fake GitHub; for a test that asks for podman, with its Docker engine instead."""
    if "podman" in request.fixturenames:
        podman: Podman = request.getfixturevalue("podman")
        return make_settings(docker_host=podman.url, agent="shell")
    github: GitHub = request.getfixturevalue("github")
    return make_settings(github_token=SecretStr(TOKEN), github_api_url=github.fake.base_url, agent="shell")


async def ended(api: httpx.AsyncClient, deployment: dict[str, Any]) -> dict[str, Any]:
    url = f"/api/projects/widgets/deployments/{deployment['id']}"
    async with asyncio.timeout(90):
        while True:
            now: dict[str, Any] = (await api.get(url)).json()
            if now["status"] in ("success", "failure"):
                return now
            await asyncio.sleep(0.1)


async def deploy(api: httpx.AsyncClient, version: str) -> dict[str, Any]:
    answer = await api.post("/api/projects/widgets/deploy", json={"version": version, "env": "staging"})
    assert answer.status_code == 202, answer.text
    return await ended(api, answer.json())


async def test_deploy_v1_then_v2_roll_back_and_a_failed_health_check_stays_on_what_was_live(
    api: httpx.AsyncClient, github: GitHub, tmp_path: Path
) -> None:
    staging = tmp_path / "staging"
    environment = {"workflow": "deploy", "inputs": {"target": str(staging)}, "url": "https://staging.example"}
    project = {
        "name": "widgets", "repository_url": github.url, "forge": "github", "github_repository": REPO,
        "deployment": {"environments": {"staging": environment}},
    }  # fmt: skip
    made = await api.post("/api/projects", json=project)
    assert made.status_code == 201, made.text

    v1 = await deploy(api, "v1")
    assert v1["status"] == "success" and v1["live"], v1["error"]
    v2 = await deploy(api, "v2")
    assert v2["status"] == "success" and (staging / "live").read_text() == "v2\n"
    rolled = await api.post(f"/api/projects/widgets/deployments/{v2['id']}/rollback")
    assert rolled.status_code == 202, rolled.text
    back = await ended(api, rolled.json())
    assert (back["version"], back["rollbackOf"], back["status"]) == ("v1", v2["id"], "success")
    assert (staging / "live").read_text() == "v1\n"  # v1 is live again

    broken = await deploy(api, "broken")
    assert broken["status"] == "failure" and "step 'health' failed" in broken["error"]
    assert (staging / "live").read_text() == "v1\n"  # a failed health check does not roll forward

    listed = (await api.get("/api/projects/widgets/deployments")).json()["deployments"]
    assert [(d["version"], d["status"], d["live"]) for d in listed] == [
        ("broken", "failure", False), ("v1", "success", True), ("v2", "rolled_back", False),
        ("v1", "inactive", False),
    ]  # fmt: skip
    newest = await api.get("/api/projects/widgets/deployments", params={"env": "staging", "limit": 2})
    assert [d["id"] for d in newest.json()["deployments"]] == [d["id"] for d in listed[:2]]
    elsewhere = await api.get("/api/projects/widgets/deployments", params={"env": "prod"})
    assert elsewhere.json()["deployments"] == []
    for bad in ({"limit": 0}, {"env": "Not An Env"}):
        assert (await api.get("/api/projects/widgets/deployments", params=bad)).status_code == 422

    on_github = github.fake.repo(REPO).deployments
    assert [(d["environment"], d["payload"]["version"]) for d in on_github] == [
        ("staging", "v1"), ("staging", "v2"), ("staging", "v1"), ("staging", "broken"),
    ]  # fmt: skip
    assert [d["payload"]["shipyard_deployment"] for d in on_github] == [d["id"] for d in reversed(listed)]
    statuses = github.fake.repo(REPO).deployment_statuses
    async with asyncio.timeout(30):  # the record is written first, GitHub told after it
        while len(statuses.get(4, [])) < 2:
            await asyncio.sleep(0.05)
    said = {n: [s["state"] for s in reversed(statuses[n])] for n in statuses}
    assert said == {
        1: ["in_progress", "success", "inactive"], 2: ["in_progress", "success", "inactive"],
        3: ["in_progress", "success"], 4: ["in_progress", "failure"],
    }  # fmt: skip
    assert statuses[3][0]["environment_url"] == "https://staging.example"


async def test_what_cannot_be_deployed_is_refused_saying_why(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    repo = make_repo("plain", {"README.md": "# plain\n"})
    made = await api.post("/api/projects", json={"name": "widgets", "repository_url": str(repo)})
    assert made.status_code == 201, made.text
    none = await api.post("/api/projects/widgets/deploy", json={"version": "v1", "env": "staging"})
    assert none.status_code == 422 and "names no environments" in none.text
    envs = {"deployment": {"environments": {"staging": {"workflow": "deploy"}}}}
    assert (await api.patch("/api/projects/widgets", json=envs)).status_code == 200
    for body, says in (
        ({"version": "v1", "env": "prod"}, "has no environment 'prod' (staging)"),
        ({"version": "v 1", "env": "staging"}, "version"),
        ({"version": "v1"}, "env"),
    ):
        answer = await api.post("/api/projects/widgets/deploy", json=body)
        assert answer.status_code == 422 and says in answer.text, answer.text
    for bad, says in (
        (
            {"environments": {"staging": {"workflow": "deploy"}}, "deployment_env": "prod"},
            "deployment_env 'prod'",
        ),
        ({"environments": {"staging": {"workflow": "deploy", "docker": {"image": "app"}}}}, "exactly one of"),
    ):
        answer = await api.patch("/api/projects/widgets", json={"deployment": bad})
        assert answer.status_code == 422 and says in answer.text, answer.text
    assert (await api.get("/api/projects/widgets/deployments/dep-00000000")).status_code == 404
    assert (await api.get("/api/projects/widgets/deployments")).json() == {"deployments": []}


async def test_a_docker_environment_runs_the_versions_container_and_keeps_the_healthy_one(
    api: httpx.AsyncClient, make_repo: MakeRepo, podman: Podman
) -> None:
    for version in ("v1", "v2", "broken"):
        podman.client.images.get(podman.image).tag("widgets", version)
    healthy = ["sh", "-c", 'test "$SHIPYARD_VERSION" != broken']
    docker = {"image": "widgets", "command": ["sleep", "infinity"], "health": healthy, "health_timeout_s": 1}
    repo = make_repo("widgets", {"README.md": "# widgets\n"})
    project = {"name": "widgets", "repository_url": str(repo)}
    project["deployment"] = {"environments": {"staging": {"docker": docker}}}
    assert (await api.post("/api/projects", json=project)).status_code == 201

    def running() -> list[str]:
        found = podman.client.containers.list(filters={"label": "shipyard.environment"})
        env = [e for c in found for e in c.attrs["Config"]["Env"] if e.startswith("SHIPYARD_VERSION=")]
        return sorted(e.removeprefix("SHIPYARD_VERSION=") for e in env)

    assert (await deploy(api, "v1"))["status"] == "success" and running() == ["v1"]
    v2 = await deploy(api, "v2")
    assert v2["status"] == "success" and running() == ["v2"]  # v1's container is gone
    broken = await deploy(api, "broken")
    assert broken["status"] == "failure" and "health check failed for 1 s" in broken["error"]
    assert running() == ["v2"]  # the unhealthy one is removed, the live one stays
    missing = await deploy(api, "v9")
    assert (
        missing["status"] == "failure" and "image widgets:v9 is not on the Docker engine" in missing["error"]
    )
    rolled = await api.post(f"/api/projects/widgets/deployments/{v2['id']}/rollback")
    assert rolled.status_code == 202, rolled.text
    assert (await ended(api, rolled.json()))["version"] == "v1" and running() == ["v1"]
