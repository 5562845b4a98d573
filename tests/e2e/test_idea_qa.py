"""QA in an idea run: a failing test run is filed as a defect under its task, fixed on its own
branch and merged into the task's before the task's own pull request merges; a QA tester that
keeps finding defects makes the run wait for a person, and `advance` says what blocks it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from test_idea_control import started, until
from test_idea_runs import SPEC, flatten, task, wait_run

from shipyard.config import Settings
from support import MakeRepo, MakeSettings

# The repository's test: when hello() is wrong it fails, printing (as a test double's hint) the
# script the developer replays to fix it: the defect's text carries the test's output.
CHECK = """\
import sys
import hello
if hello.hello() != "hello":
    print("hello() must answer 'hello', not " + repr(hello.hello()))
    print("```replay")
    print("- write: hello.py")
    print("  content: \\"def hello():\\\\n    return 'hello'\\\\n\\"")
    print("- message: hello() answers hello")
    print("```")
    sys.exit(1)
"""
PLAN = {
    "features": [
        {"title": "Hello", "tasks": [task("Hello module", "hello.py", "def hello():\n    return 'helo'\n")]}
    ]
}


@pytest.fixture
def review() -> list[dict[str, Any]]:
    return [{"message": json.dumps({"defects": []})}]


@pytest.fixture
def settings(make_settings: MakeSettings, tmp_path: Path, review: list[dict[str, Any]]) -> Settings:
    replay = tmp_path / "replay.yaml"
    replay.write_text(
        yaml.safe_dump(
            {
                "spec": [{"write": SPEC, "content": "# spec\n"}, {"message": "ok"}],
                "plan": [{"message": json.dumps(PLAN)}],
                "review": review,
                "notes": [{"message": "notes"}],
            }
        )
    )
    return make_settings(agent="replay", replay_file=replay)


def submit_body(repo: Path) -> dict[str, Any]:
    return {"ideaText": "Greeting helpers", "repo": str(repo), "options": {"testCommand": "python3 check.py"}}


async def test_a_failing_test_run_is_a_defect_fixed_and_merged_before_its_task(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    repo = make_repo("greet", {"check.py": CHECK, "hello.py": "def hello():\n    return ''\n"})
    run_id = (await api.post("/api/ideas", json=submit_body(repo))).json()["runId"]
    run = await wait_run(api, run_id)

    assert run["state"] == "DONE", run["error"]
    states = [e["data"]["state"] for e in run["timeline"] if e["type"] == "run.state" and e["data"]]
    qa = ["QA", "EXECUTION_LOOP"] * 2  # the task's two rounds, the defect fixed in the loop between
    assert states == ["SPEC_WRITING", "ISSUE_TREE", "EXECUTION_LOOP", *qa, "MERGE", "RELEASE", "DONE"]
    [epic] = (await api.get(f"/api/runs/{run_id}/issues")).json()["issues"]
    [feature] = epic["children"]
    [hello] = feature["children"]
    [defect] = hello["children"]
    assert (defect["type"], defect["status"], defect["labels"][:1]) == ("defect", "DONE", ["qa-round-1"])
    assert defect["title"] == "Tests fail: python3 check.py"
    assert defect["branch"] == f"defect/{defect['id']}-tests-fail-python3-check-py"
    pull = (await api.get(f"/api/pull-requests/{defect['prNumber']}")).json()["pull_request"]
    assert (pull["base_branch"], pull["state"]) == (hello["branch"], "merged")
    messages = [e["msg"] for e in run["timeline"]]
    filed = messages.index(f"QA round 1 of task #{hello['id']}: 1 defects")
    fixed = next(i for i, m in enumerate(messages) if m.startswith(f"merged #{defect['prNumber']} "))
    passed = messages.index(f"QA round 2 of task #{hello['id']} found no defect")
    merged = next(i for i, m in enumerate(messages) if m.startswith(f"merged #{hello['prNumber']} "))
    assert filed < fixed < passed < merged  # the task merged only once its defect was fixed and QA passed
    assert all(i["status"] == "DONE" for i in flatten(epic))


# Each round finds one more defect, whose text carries its fix's script (a ```replay block).
TERSE = {"title": "Too terse", "body": "Say more.\n\n```replay\n- message: said more\n```\n"}


@pytest.mark.parametrize("review", [[{"message": json.dumps({"defects": [TERSE]})}]])
async def test_a_qa_tester_who_keeps_finding_defects_makes_the_run_wait_for_a_person(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    repo = make_repo("greet", {"check.py": "pass\n", "hello.py": "def hello():\n    return 'hello'\n"})
    run_id = (await api.post("/api/ideas", json=submit_body(repo))).json()["runId"]
    run = await until(api, run_id, lambda run: run["interrupt"]["paused"] or run["state"] == "FAILED")
    assert run["state"] != "FAILED", run["error"]

    assert "waiting for a person" in run["interrupt"]["reason"]
    assert run["timeline"][-1]["type"] == "run.held"
    assert len(started(run, "qa")) == 2
    refused = await api.post(f"/api/runs/{run_id}/advance")
    assert refused.status_code == 409
    assert "cannot advance: open defects block it: #" in refused.json()["error"]["message"]
    assert "(Too terse)" in refused.json()["error"]["message"]
    cancelled = await api.post(f"/api/runs/{run_id}/interrupt", json={"action": "cancel", "reason": "enough"})
    assert cancelled.status_code == 200
    assert (await wait_run(api, run_id))["state"] == "CANCELLED"
