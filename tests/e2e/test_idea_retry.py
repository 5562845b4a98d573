"""Retrying an idea run from the issue that stopped it: what is done stays done, completed work
orders are not run again, the failed one runs again in place, and the run goes on to DONE."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml
from test_idea_control import started
from test_idea_runs import SPEC, flatten, task, wait_run

from shipyard.config import Settings
from support import MakeRepo, MakeSettings


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "go-ahead"


@pytest.fixture
def settings(make_settings: MakeSettings, tmp_path: Path, marker: Path) -> Settings:
    flaky = task("B", "b.py", "B = 1\n")  # fails until the marker exists
    flaky["body"] = flaky["body"].replace("```replay\n", f"```replay\n- run: test -f {marker}\n")
    plan = {
        "features": [
            {"title": "Parts", "tasks": [task("A", "a.py", "A = 1\n"), flaky, task("C", "c.py", "C = 1\n")]}
        ]
    }
    replay = tmp_path / "replay.yaml"
    replay.write_text(
        yaml.safe_dump(
            {
                "spec": [{"write": SPEC, "content": "# spec\n"}, {"message": "ok"}],
                "plan": [{"message": json.dumps(plan)}],
                "review": [{"message": json.dumps({"defects": []})}],
                "notes": [{"message": "notes"}],
            }
        )
    )
    return make_settings(agent="replay", replay_file=replay)


async def test_a_failed_run_retried_from_its_failed_issue_reruns_that_alone(
    api: httpx.AsyncClient, make_repo: MakeRepo, marker: Path
) -> None:
    repo = make_repo("greet", {"README.md": "# greet\n"})
    run_id = (
        await api.post(
            "/api/ideas", json={"ideaText": "Greeting helpers", "repo": str(repo), "options": {"qaRounds": 0}}
        )
    ).json()["runId"]
    failed = await wait_run(api, run_id)
    assert failed["state"] == "FAILED"
    [epic] = (await api.get(f"/api/runs/{run_id}/issues")).json()["issues"]
    a, b, c = epic["children"][0]["children"]
    assert (a["status"], b["status"], c["status"]) == ("DONE", "BLOCKED", "NEW")
    assert f"implement of task #{b['id']} (B)" in failed["error"]
    done_already = await api.post(f"/api/runs/{run_id}/retry/{a['id']}")
    assert done_already.status_code == 409 and "is done" in done_already.json()["error"]["message"]

    marker.touch()
    retried = await api.post(f"/api/runs/{run_id}/retry/{b['id']}")
    assert retried.status_code == 200, retried.text
    run = await wait_run(api, run_id)

    assert run["state"] == "DONE", run["error"]
    [epic] = (await api.get(f"/api/runs/{run_id}/issues")).json()["issues"]
    assert all(issue["status"] == "DONE" for issue in flatten(epic))
    made = [(w["issue_id"], w["work_order_id"]) for w in started(run, "implement")]
    assert [issue for issue, _ in made] == [a["id"], b["id"], b["id"], c["id"]]  # A once, B twice, C once
    assert made[1][1] == made[2][1]  # B's work order ran again in place
    assert len(started(run, "spec")) == 1  # the spec and plan were kept
    again = await api.post(f"/api/runs/{run_id}/retry/{b['id']}")
    assert again.status_code == 409 and "only a failed or cancelled run" in again.json()["error"]["message"]
