"""An `actions` step (seed 002 §9): the work runs in the repository's GitHub Actions. The real
engine sends one `repository_dispatch` to the fake GitHub (real HTTP, GitHub's JSON) and the step
waits for the `orchestrator.status` reports that `POST /api/runs/:runId/status` takes, as the
workflows of `shipyard actions init` send them: it ends on SUCCEEDED (its output the report),
fails on FAILED (a report may also come as a `repository_dispatch` webhook), and fails on its
timeout when nothing reports."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import SecretStr
from test_github import SECRET, deliver, processed

from fakes import github_payloads
from fakes.github_api import Dispatch
from forge_kit import REPO, TOKEN, GitHub, hosted
from shipyard.config import Settings
from support import MakeRepo, MakeSettings, wait_done


@pytest.fixture
def source(make_repo: MakeRepo) -> Path:
    return make_repo("widgets", {"README.md": "# widgets\n"})


@pytest.fixture
def github(tmp_path: Path, source: Path) -> Iterator[GitHub]:
    with hosted(tmp_path / "git-http", source, TOKEN) as hub:
        yield hub


@pytest.fixture
def settings(make_settings: MakeSettings, github: GitHub) -> Settings:
    return make_settings(
        github_token=SecretStr(TOKEN), github_api_url=github.fake.base_url, agent="shell",
        github_webhook_secret=SecretStr(SECRET),
    )  # fmt: skip


IN_ACTIONS = {
    "name": "in_actions",
    "inputs": {"target": {"type": "string", "default": "unit"}},
    "steps": [
        {
            "id": "tests",
            "actions": {
                "event_type": "qa.run.request", "node_id": "17",
                "params": {"suite": "{{ inputs.target }}", "coverage": 0.8},
            },
            "timeout": 120,
        },
        {"id": "after", "run": "echo passed={{ steps.tests.output.metrics.passed }}"},
    ],
}  # fmt: skip


async def create(api: httpx.AsyncClient, github: GitHub, workflow: dict[str, Any], **body: Any) -> str:
    body = {
        "repository_url": github.url,
        "forge": "github",
        "workflow_definition": yaml.safe_dump(workflow),
        **body,
    }
    resp = await api.post("/api/agent-work-orders", json=body)
    assert resp.status_code == 201, resp.text
    wid: str = resp.json()["agent_work_order"]["agent_work_order_id"]
    return wid


async def dispatched(github: GitHub, count: int = 1) -> list[Dispatch]:
    async with asyncio.timeout(60):
        while len(github.fake.dispatches) < count:
            await asyncio.sleep(0.1)
    return github.fake.dispatches


def report(run_id: str, dispatch: Dispatch, state: str, **fields: Any) -> dict[str, Any]:
    return {
        "runId": run_id, "nodeId": "17", "phase": "QA", "state": state,
        "dispatchId": dispatch.client_payload["dispatch_id"], **fields,
    }  # fmt: skip


async def test_the_step_dispatches_once_and_ends_on_the_reported_success(
    api: httpx.AsyncClient, github: GitHub
) -> None:
    wid = await create(api, github, IN_ACTIONS, inputs={"target": "e2e"})
    [sent] = await dispatched(github)
    wo = (await api.get(f"/api/agent-work-orders/{wid}")).json()["agent_work_order"]
    assert sent.event_type == "qa.run.request"
    assert sent.client_payload == {
        "runId": wid, "nodeId": "17", "repo": REPO, "branch": wo["git_branch_name"],
        "params": {"suite": "e2e", "coverage": 0.8}, "work_order_id": wid,
        "dispatch_id": sent.client_payload["dispatch_id"],
    }  # fmt: skip

    url = f"/api/runs/{wid}/status"
    started = await api.post(url, json=report(wid, sent, "IN_PROGRESS", progress=0.5))
    assert started.status_code == 202, started.text
    assert started.json() == {"duplicate": False, "entry": None, "workOrderId": wid}
    again = await api.post(url, json=report(wid, sent, "IN_PROGRESS", progress=0.6))
    assert again.json()["duplicate"] is True
    stranger = await api.post("/api/runs/wo-00000000/status", json=report("wo-00000000", sent, "SUCCEEDED"))
    assert stranger.status_code == 422 and f"was sent by work order {wid}" in stranger.text
    await asyncio.sleep(1.5)  # the step reads the reports: it must still be waiting
    assert (await api.get(f"/api/agent-work-orders/{wid}")).json()["agent_work_order"]["status"] == "running"

    metrics = {"tests": 18, "passed": 17}
    done = await api.post(url, json=report(wid, sent, "SUCCEEDED", progress=1, metrics=metrics))
    assert done.status_code == 202 and done.json()["duplicate"] is False
    wo = await wait_done(api, wid)

    assert wo["status"] == "completed", wo["error_message"]
    steps = {s["step_id"]: s for s in (await api.get(f"/api/agent-work-orders/{wid}/steps")).json()["steps"]}
    assert steps["tests"]["output"] == "qa.run.request: QA SUCCEEDED"
    assert "passed=17" in steps["after"]["output"]
    assert len(github.fake.dispatches) == 1
    logs = (await api.get(f"/api/agent-work-orders/{wid}/logs", params={"limit": 1000})).json()["log_entries"]
    heard = [(e["state"], e.get("progress")) for e in logs if e["event"] == "actions.status"]
    assert heard == [("IN_PROGRESS", 0.5), ("SUCCEEDED", 1)]
    assert [e["event_type"] for e in logs if e["event"] == "github.dispatched"] == ["qa.run.request"]


async def test_a_reported_failure_fails_the_step_and_silence_times_it_out(
    api: httpx.AsyncClient, github: GitHub
) -> None:
    quiet = {
        "id": "quiet",
        "actions": {"event_type": "ai.spec.request"},
        "timeout": 2,
        "continue_on_error": True,
    }
    failing = {"id": "qa", "actions": {"event_type": "qa.run.request"}}
    wid = await create(api, github, {"name": "two", "steps": [quiet, failing]})

    _, sent = await dispatched(github, 2)  # the quiet one's wait timed out; then the second went out
    # This time the workflow reports with a repository_dispatch of its own, which reaches Shipyard
    # as a webhook (seed 002 §9.2's other way back); another repository's naming it counts for nothing.
    failed = report(wid, sent, "FAILED", metrics={"failed": 3})
    callback = {
        "action": "orchestrator.status", "branch": "main", "client_payload": failed,
        "repository": github_payloads.repository(REPO), "sender": github_payloads.user(),
    }  # fmt: skip
    other = {**callback, "repository": github_payloads.repository("evil/elsewhere")}
    assert (await deliver(api, "repository_dispatch", other, "d-other")).status_code == 202
    assert (await processed(api, "d-other"))["status"] == "ignored"
    assert (await deliver(api, "repository_dispatch", callback, "d-report")).status_code == 202
    wo = await wait_done(api, wid)
    assert (await processed(api, "d-report"))["result"] == {"actions_report_for": wid, "duplicate": False}

    assert wo["status"] == "failed"
    assert "GitHub Actions reported qa.run.request: QA FAILED" in wo["error_message"]
    steps = {s["step_id"]: s for s in (await api.get(f"/api/agent-work-orders/{wid}/steps")).json()["steps"]}
    assert steps["quiet"]["status"] == "failed"
    assert "did not report the end of ai.spec.request" in steps["quiet"]["error"]
    assert "within 2 s" in steps["quiet"]["error"]
    late = await api.post(f"/api/runs/{wid}/status", json=report(wid, sent, "SUCCEEDED"))
    assert late.json()["duplicate"] is True  # the work ended with the FAILED report


async def test_on_the_local_forge_the_step_fails_saying_it_needs_github(
    api: httpx.AsyncClient, source: Path
) -> None:
    body = {"repository_url": str(source), "workflow_definition": yaml.safe_dump(IN_ACTIONS)}
    resp = await api.post("/api/agent-work-orders", json=body)
    assert resp.status_code == 201, resp.text
    wo = await wait_done(api, resp.json()["agent_work_order"]["agent_work_order_id"])
    assert wo["status"] == "failed"
    assert "runs in GitHub Actions: its work order needs the github forge, not 'local'" in wo["error_message"]
