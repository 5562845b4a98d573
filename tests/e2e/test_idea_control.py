"""Steering an idea run: pause holds it before its next work order; a reorder of the children not
yet started, and a defect filed by hand, are followed; a pull request whose base moved meanwhile
is resolved in the loop (resolve_conflicts) and merged; resume goes on; cancel stops the running
work order and ends the run."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from test_idea_runs import SPEC, task, wait_run

from shipyard.config import Settings
from support import MakeRepo, MakeSettings

IDEA = "Greeting helpers"
RESOLVED = "LOUD, and from a person\n"
PLAN = {"features": [{"title": "Parts", "tasks": [task(n, f"{n.lower()}.py", f"{n} = 1\n") for n in "ABC"]}]}


@pytest.fixture
def spec_seconds() -> float:
    return 2.0


@pytest.fixture
def settings(make_settings: MakeSettings, tmp_path: Path, spec_seconds: float) -> Settings:
    replay = tmp_path / "replay.yaml"
    replay.write_text(
        yaml.safe_dump(
            {
                "spec": [{"sleep": spec_seconds}, {"write": SPEC, "content": "# spec\n"}, {"message": "ok"}],
                "plan": [{"message": json.dumps(PLAN)}],
                "review": [{"message": json.dumps({"defects": []})}],
                "resolve": [{"write": "shared.txt", "content": RESOLVED}, {"message": "kept both"}],
                "notes": [{"message": "notes"}],
            }
        )
    )
    return make_settings(agent="replay", replay_file=replay)


async def until(api: httpx.AsyncClient, run_id: str, seen: Any, timeout_s: float = 60) -> dict[str, Any]:
    """The run once `seen(run)` holds."""
    async with asyncio.timeout(timeout_s):
        while True:
            run: dict[str, Any] = (await api.get(f"/api/runs/{run_id}")).json()
            if seen(run):
                return run
            await asyncio.sleep(0.2)


async def spec_running(api: httpx.AsyncClient, run_id: str) -> str:
    """The run's spec work order, once it runs."""
    run = await until(api, run_id, lambda run: started(run, "spec"))
    spec_wo: str = started(run, "spec")[0]["work_order_id"]
    async with asyncio.timeout(30):
        while (await api.get(f"/api/agent-work-orders/{spec_wo}")).json()["agent_work_order"][
            "status"
        ] != "running":
            await asyncio.sleep(0.1)
    return spec_wo


def started(run: dict[str, Any], work: str) -> list[dict[str, Any]]:
    return [
        e["data"]
        for e in run["timeline"]
        if e["type"] == "workflow.step.started" and e["data"]["work"] == work
    ]


async def test_a_held_run_follows_a_reorder_a_defect_filed_by_hand_and_a_moved_base_then_goes_on(
    api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = make_repo("greet", {"README.md": "# greet\n"})
    made = await api.post("/api/projects", json={"name": "greet", "repository_url": str(repo)})
    assert made.status_code == 201, made.text
    body = {"ideaText": IDEA, "repo": str(repo), "project": "greet", "options": {"qaRounds": 0}}
    run_id = (await api.post("/api/ideas", json=body)).json()["runId"]
    await until(api, run_id, lambda run: started(run, "spec"))

    paused = await api.post(f"/api/runs/{run_id}/interrupt", json={"action": "pause", "reason": "lunch"})
    assert paused.status_code == 200, paused.text
    assert paused.json()["interrupt"] == {"paused": True, "reason": "lunch"}
    run = await until(api, run_id, lambda run: run["state"] == "EXECUTION_LOOP")
    await asyncio.sleep(1)  # time enough for a task's work order to start, were the run not held
    run = (await api.get(f"/api/runs/{run_id}")).json()
    assert started(run, "implement") == [] and run["state"] == "EXECUTION_LOOP"

    [epic] = (await api.get(f"/api/runs/{run_id}/issues")).json()["issues"]
    [feature] = epic["children"]
    a, b, c = (child["id"] for child in feature["children"])
    wrong = await api.post(f"/api/issues/{feature['id']}/reorder", json={"order": [c, a]})
    assert wrong.status_code == 422 and f"missing {b}" in wrong.json()["error"]["message"]
    moved = await api.post(f"/api/issues/{feature['id']}/reorder", json={"order": [c, a, b]})
    assert moved.status_code == 200, moved.text
    assert [child["title"] for child in moved.json()["children"]] == ["C", "A", "B"]
    fix = task("Say it louder", "shared.txt", "LOUD\n")
    filed = await api.post(
        f"/api/projects/greet/issues/{a}/defects", json={"title": fix["title"], "body": fix["body"]}
    )
    assert filed.status_code == 201, filed.text
    defect = filed.json()
    # Meanwhile a person changes `integration` where the defect's fix will write too.
    person = tmp_path / "person"
    git(repo, "worktree", "add", "-q", str(person), "integration")
    (person / "shared.txt").write_text("from a person\n")
    git(person, "add", "shared.txt")
    git(person, "commit", "-qm", "a person's change")
    theirs = git(person, "rev-parse", "HEAD")
    git(repo, "worktree", "remove", str(person))

    resumed = await api.post(f"/api/runs/{run_id}/interrupt", json={"action": "resume"})
    assert resumed.status_code == 200 and resumed.json()["interrupt"]["paused"] is False
    run = await wait_run(api, run_id)
    assert run["state"] == "DONE", run["error"]
    # A's defect, filed while the run was held, was fixed and merged into A's branch before A merged.
    assert [work["issue_id"] for work in started(run, "implement")] == [c, a, defect["id"], b]
    [epic] = (await api.get(f"/api/runs/{run_id}/issues")).json()["issues"]
    [fixed] = next(i for i in epic["children"][0]["children"] if i["id"] == a)["children"]
    assert (fixed["type"], fixed["status"]) == ("defect", "DONE")
    # The epic's pull request conflicted with the person's change: resolved in the loop, then merged.
    [conflict] = [e for e in run["timeline"] if e["type"] == "merge.conflict"]
    assert "shared.txt" in conflict["msg"] and conflict["data"]["issue_id"] == epic["id"]
    assert len(started(run, "resolve")) == 1
    assert git(repo, "show", "integration:shared.txt") == RESOLVED.strip()
    assert git(repo, "merge-base", "--is-ancestor", theirs, "integration") == ""
    again = await api.post(f"/api/runs/{run_id}/interrupt", json={"action": "resume"})
    assert again.status_code == 409 and "is DONE" in again.json()["error"]["message"]


@pytest.mark.parametrize("spec_seconds", [60.0])
async def test_cancel_stops_the_running_work_order_and_ends_the_run(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    repo = make_repo("greet", {"README.md": "# greet\n"})
    run_id = (
        await api.post("/api/ideas", json={"ideaText": IDEA, "repo": str(repo), "options": {"qaRounds": 0}})
    ).json()["runId"]
    spec_wo = await spec_running(api, run_id)

    cancelled = await api.post(
        f"/api/runs/{run_id}/interrupt", json={"action": "cancel", "reason": "wrong idea"}
    )
    assert cancelled.status_code == 200, cancelled.text
    run = await wait_run(api, run_id, timeout_s=60)
    assert run["state"] == "CANCELLED"
    assert "wrong idea" in run["timeline"][-1]["msg"]
    wo = (await api.get(f"/api/agent-work-orders/{spec_wo}")).json()["agent_work_order"]
    assert wo["status"] == "cancelled"
    late = await api.post(f"/api/runs/{run_id}/interrupt", json={"action": "pause"})
    assert late.status_code == 409


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()
