"""`POST /api/runs/:runId/status` over real HTTP, behind the API token: seed 002's
`orchestrator.status` recorded on the run's timeline once per dispatchId and state, a FAILED one
as an error; bad bodies 422, an unknown run 404. And the report step that `shipyard actions
init` writes, run by bash with curl and jq as a runner would, lands there."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import SecretStr

from shipyard.api.app import create_app
from shipyard.config import Settings
from shipyard.ideas.actions import WORKFLOWS_DIR, render_workflows
from shipyard.service.work_orders import WorkOrderService
from shipyard.store.records import IdeaRunCreate
from shipyard.store.store import Store
from support import Migrated, serving

TOKEN = secrets.token_urlsafe(24)
DISPATCH_ID = "0190c1d2-7e3f-7a00-8000-0000000000aa"  # a UUIDv7, as service/dispatch.py makes them


@dataclass
class Api:
    client: httpx.AsyncClient  # sends the API token
    store: Store
    url: str


@pytest.fixture
async def api(tmp_path: Path, migrated: Migrated) -> AsyncIterator[Api]:
    """The API without an engine (no run needs one here), guarded by a token."""
    settings = migrated(Settings(data_dir=tmp_path / "data", agent="shell", api_token=SecretStr(TOKEN)))
    store = await Store.open(settings.resolved_database_url)
    try:
        app = create_app(WorkOrderService(settings, store, None))
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        async with serving(app) as url, httpx.AsyncClient(base_url=url, headers=bearer, timeout=30) as client:
            yield Api(client, store, url)
    finally:
        await store.close()


async def new_run(api: Api) -> str:
    created = IdeaRunCreate(
        idea_text="Greet", repository_url="/tmp/greet", forge="local", correlation_id=str(uuid.uuid4())
    )
    run = await api.store.create_run(created)
    return run.id


def status(run_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "runId": run_id, "nodeId": "issue-145", "phase": "EXECUTING", "state": "IN_PROGRESS",
        "progress": 0.42, "metrics": {"tests": 18, "passed": 17}, "artifacts": ["s3://reports/test.report.json"],
        "dispatchId": "0190c1d2-7e3f-7a00-8000-000000000001", **fields,
    }  # fmt: skip


async def reports(api: Api, run_id: str) -> list[dict[str, Any]]:
    answer = await api.client.get(f"/api/runs/{run_id}")
    assert answer.status_code == 200, answer.text
    return [entry for entry in answer.json()["timeline"] if entry["type"] == "orchestrator.status"]


async def test_the_same_dispatch_and_state_twice_is_one_timeline_entry(api: Api) -> None:
    run_id = await new_run(api)
    first = await api.client.post(f"/api/runs/{run_id}/status", json=status(run_id))
    again = await api.client.post(f"/api/runs/{run_id}/status", json=status(run_id))
    assert (first.status_code, again.status_code) == (202, 202), again.text
    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
    assert again.json()["entry"]["id"] == first.json()["entry"]["id"]
    [entry] = await reports(api, run_id)
    assert entry["data"] == status(run_id)
    assert (entry["phase"], entry["level"]) == ("EXECUTING", "info")
    assert entry["msg"] == "issue-145: EXECUTING IN_PROGRESS 42%"

    done = status(run_id, state="SUCCEEDED", progress=1)
    assert (await api.client.post(f"/api/runs/{run_id}/status", json=done)).status_code == 202
    assert [e["data"]["state"] for e in await reports(api, run_id)] == ["IN_PROGRESS", "SUCCEEDED"]


async def test_a_failed_report_is_an_error_on_the_timeline(api: Api) -> None:
    run_id = await new_run(api)
    failed = status(run_id, state="FAILED", progress=None, nodeId="")
    answer = await api.client.post(f"/api/runs/{run_id}/status", json=failed)
    assert answer.status_code == 202, answer.text
    [entry] = await reports(api, run_id)
    assert (entry["level"], entry["msg"]) == ("error", "run: EXECUTING FAILED")


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"runId": "run-0badc0de"}, "is not the run of the path"),
        ({"progress": 1.5}, "progress"),
        ({"state": "DONE"}, "state"),
        ({"dispatchId": None}, "dispatchId"),
        ({"dispatchId": "a b"}, "dispatchId"),
        ({"artifacts": [1]}, "artifacts"),
        ({"metrics": ["tests"]}, "metrics"),
        ({"phase": ""}, "phase"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_a_bad_body_is_422_and_records_nothing(api: Api, change: dict[str, Any], says: str) -> None:
    run_id = await new_run(api)
    body = {key: value for key, value in (status(run_id) | change).items() if value is not None}
    answer = await api.client.post(f"/api/runs/{run_id}/status", json=body)
    assert answer.status_code == 422, answer.text
    assert says in answer.json()["error"]["message"]
    assert await reports(api, run_id) == []


async def test_an_unknown_run_is_404_and_a_malformed_id_422(api: Api) -> None:
    unknown = await api.client.post("/api/runs/run-00000000/status", json=status("run-00000000"))
    assert unknown.status_code == 404
    assert "run-00000000" in unknown.json()["error"]["message"]
    malformed = await api.client.post("/api/runs/nope/status", json=status("nope"))
    assert malformed.status_code == 422


async def test_without_the_token_nothing_is_recorded(api: Api) -> None:
    run_id = await new_run(api)
    async with httpx.AsyncClient(base_url=api.url) as stranger:
        answer = await stranger.post(f"/api/runs/{run_id}/status", json=status(run_id))
    assert answer.status_code == 401
    assert await reports(api, run_id) == []


def report_step(name: str) -> dict[str, Any]:
    """The last step of a reusable workflow `shipyard actions init` writes: its outcome report."""
    text = render_workflows()[WORKFLOWS_DIR / f"_reusable.{name}.yml"]
    [job] = yaml.safe_load(text)["jobs"].values()
    step: dict[str, Any] = job["steps"][-1]
    assert step["if"] == "always()"
    return step


async def run_step(step: dict[str, Any], env: dict[str, str]) -> tuple[int, str]:
    """The step's script in bash (`run:`'s shell on Linux runners), given what GitHub would put in
    its environment; its exit code and output. Run aside: the server answers on this loop."""
    missing = [tool for tool in ("bash", "curl", "jq") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"the report step needs {', '.join(missing)} (as GitHub's runners have)", pytrace=False)
    proc = await asyncio.create_subprocess_exec(
        "bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"],
        env={"PATH": os.environ["PATH"], **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await proc.communicate()
    return await proc.wait(), output.decode()


async def test_the_written_report_step_records_the_outcome_once(api: Api, tmp_path: Path) -> None:
    run_id = await new_run(api)
    out = tmp_path / "runner" / "shipyard"
    out.mkdir(parents=True)
    (out / "metrics.json").write_text('{"tests": 18, "passed": 17}')
    (out / "artifacts.txt").write_text(
        "https://example.com/report.json\n\nhttps://example.com/coverage.xml\n"
    )
    step = report_step("qa.run")
    env = {
        "RUNNER_TEMP": str(out.parent), "SHIPYARD_URL": api.url + "/", "SHIPYARD_TOKEN": TOKEN,
        "RUN_ID": run_id, "NODE_ID": "17", "PHASE": "QA", "DISPATCH_ID": DISPATCH_ID,
        "STATE": "FAILED", "PROGRESS": "",  # what the step's expressions give for a failed job
    }  # fmt: skip
    for _ in range(2):  # a resend (curl's retry, a re-run) is recorded once
        code, output = await run_step(step, env)
        assert code == 0, output
    [entry] = await reports(api, run_id)
    assert entry["level"] == "error"
    assert entry["data"] == {
        "runId": run_id, "nodeId": "17", "phase": "QA", "state": "FAILED", "progress": None,
        "metrics": {"tests": 18, "passed": 17},
        "artifacts": ["https://example.com/report.json", "https://example.com/coverage.xml"],
        "dispatchId": DISPATCH_ID,
    }  # fmt: skip


async def test_the_written_report_step_fails_the_job_on_a_refusal(api: Api, tmp_path: Path) -> None:
    step = report_step("ai.spec")
    env = {
        "RUNNER_TEMP": str(tmp_path), "SHIPYARD_URL": api.url, "SHIPYARD_TOKEN": "wrong" * 4,
        "RUN_ID": await new_run(api), "NODE_ID": "", "PHASE": "SPEC_WRITING", "DISPATCH_ID": "d-1",
        "STATE": "SUCCEEDED", "PROGRESS": "1",
    }  # fmt: skip
    code, output = await run_step(step, env)
    assert code != 0
    assert "missing or wrong bearer token" in output  # --fail-with-body shows Shipyard's answer
    code, output = await run_step(step, {**env, "SHIPYARD_URL": ""})
    assert code == 1
    assert "::error::set the repository variable SHIPYARD_URL" in output
