"""Project secrets: stored encrypted, given only to the steps whose workflow names them, and never
shown: not in events, log files, API responses, pages or the database, even when printed."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cryptography.fernet import Fernet
from pydantic import SecretStr

from scripted_model import CODEX_MODEL, ScriptedModel, Turn
from shipyard.cli.server import running_server
from shipyard.config import AgentProvider, Settings
from support import MakeRepo, MakeSettings, installed_cli, serving, wait_done

CANARY = "canary-s3cr3t-9f2d7a61c4"


@pytest.fixture
def settings(make_settings: MakeSettings) -> Settings:
    return make_settings(secrets_key=SecretStr(Fernet.generate_key().decode()))


async def project_with_secret(api: httpx.AsyncClient, repo: Path) -> str:
    created = await api.post("/api/projects", json={"name": "widgets", "repository_url": str(repo)})
    assert created.status_code == 201, created.text
    stored = await api.put("/api/projects/widgets/secrets/DEPLOY_TOKEN", json={"value": CANARY})
    assert stored.status_code == 204, stored.text
    return "widgets"


async def start(
    api: httpx.AsyncClient, repo: Path, definition: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    body = {"repository_url": str(repo), "workflow_definition": yaml.safe_dump(definition), **extra}
    resp = await api.post("/api/agent-work-orders", json=body)
    assert resp.status_code == 201, resp.text
    return await wait_done(api, resp.json()["agent_work_order"]["agent_work_order_id"])


async def test_a_secret_printed_on_purpose_shows_nowhere(
    api: httpx.AsyncClient, make_repo: MakeRepo, settings: Settings, capfd: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo()
    await project_with_secret(api, repo)
    definition = {
        "name": "leaky",
        "secrets": ["DEPLOY_TOKEN"],
        "steps": [
            {"id": "has-it", "run": 'printf %s "$DEPLOY_TOKEN" | sha256sum'},
            {"id": "prints", "run": 'echo "token: $DEPLOY_TOKEN"; echo "again $DEPLOY_TOKEN" >&2'},
            {"id": "agent", "prompt": 'echo "agent sees $DEPLOY_TOKEN"'},
            {"id": "fails", "run": 'echo "bad $DEPLOY_TOKEN" >&2; exit 3', "continue_on_error": True},
            {"id": "without", "run": 'echo "no secret here: ${OTHER:-unset}"'},
        ],
    }
    wo = await start(api, repo, definition, project="widgets")
    assert wo["status"] == "completed", wo["error_message"]
    wid = wo["agent_work_order_id"]
    steps = {s["step_id"]: s for s in (await api.get(f"/api/agent-work-orders/{wid}/steps")).json()["steps"]}
    assert steps["has-it"]["output"].split()[0] == hashlib.sha256(CANARY.encode()).hexdigest()  # it had it
    assert "token: ***" in steps["prints"]["output"] and "bad ***" in steps["fails"]["error"]

    seen = [
        (await api.get(path)).text
        for path in (
            f"/api/agent-work-orders/{wid}", f"/api/agent-work-orders/{wid}/steps",
            f"/api/agent-work-orders/{wid}/logs?limit=1000", f"/api/agent-work-orders/{wid}/events",
            "/api/agent-work-orders", f"/work-orders/{wid}", f"/work-orders/{wid}/log", "/",
            "/api/projects/widgets", "/api/projects/widgets/secrets", "/projects/widgets",
        )
    ]  # fmt: skip
    assert all(CANARY not in text for text in seen)
    assert "DEPLOY_TOKEN" in seen[-2]  # its name is listed
    for path in settings.data_dir.rglob("*"):  # the database, the JSONL logs, the key file, all of it
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path
    out, err = capfd.readouterr()
    assert CANARY not in out + err  # nor in what the server printed


async def test_secrets_are_refused_clearly_when_they_cannot_be_given(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    repo = make_repo()
    await project_with_secret(api, repo)
    asks = {"name": "asks", "steps": [{"id": "use", "run": "true", "secrets": ["MISSING_ONE"]}]}
    missing = await start(api, repo, asks, project="widgets")
    assert missing["status"] == "failed" and "has no secret MISSING_ONE" in missing["error_message"]
    no_project = await start(
        api, repo, {**asks, "steps": [{"id": "use", "run": "true", "secrets": ["DEPLOY_TOKEN"]}]}
    )
    assert no_project["status"] == "failed" and "has no project" in no_project["error_message"]
    bad_name = await api.put("/api/projects/widgets/secrets/not-a-name", json={"value": "x"})
    assert bad_name.status_code == 422
    gone = await api.delete("/api/projects/widgets/secrets/DEPLOY_TOKEN")
    assert gone.status_code == 204
    assert (await api.get("/api/projects/widgets/secrets")).json()["secrets"] == []
    assert (await api.delete("/api/projects/widgets/secrets/DEPLOY_TOKEN")).status_code == 404


async def test_a_project_secret_is_the_key_of_an_agents_configured_provider(
    make_settings: MakeSettings, make_repo: MakeRepo
) -> None:
    """Codex sent by config to an endpoint whose key variable is not OPENAI_API_KEY: the project
    secret of that name, named by the workflow, reaches the real CLI by that name."""
    model = ScriptedModel([Turn(text="Nothing to fix.", input_tokens=10, output_tokens=5)], model=CODEX_MODEL)
    repo = make_repo()
    async with serving(model.app) as url:
        provider = AgentProvider(base_url=f"{url}/v1", model=CODEX_MODEL, key_env="TEAM_LLM_KEY")
        settings = make_settings(
            secrets_key=SecretStr(Fernet.generate_key().decode()), codex_binary=installed_cli("codex"),
            openai_api_key=None, agent_providers={"codex": provider},
        )  # fmt: skip
        async with (
            running_server(settings, persistent=False, port=0, announce=False) as server,
            httpx.AsyncClient(base_url=server.url, timeout=30) as api,
        ):
            await api.post("/api/projects", json={"name": "widgets", "repository_url": str(repo)})
            stored = await api.put("/api/projects/widgets/secrets/TEAM_LLM_KEY", json={"value": CANARY})
            assert stored.status_code == 204, stored.text
            definition = {
                "name": "keyed",
                "steps": [
                    {"id": "look", "prompt": "Look around.", "agent": "codex", "secrets": ["TEAM_LLM_KEY"]}
                ],
            }
            wo = await start(api, repo, definition, project="widgets")
            events = (await api.get(f"/api/agent-work-orders/{wo['agent_work_order_id']}/events")).text

    assert wo["status"] == "completed", wo["error_message"]
    assert model.keys == {CANARY} and model.turns == []
    assert CANARY not in events and "Nothing to fix." in events
