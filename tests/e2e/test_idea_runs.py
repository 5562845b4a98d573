"""An idea run (seed 002) end to end on the local forge: the real engine, real git, the replay
agent as spec writer, planner, developer and release manager. The planner's tree carries, in
each task's body, the script the developer replays for it (a ```replay block)."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from test_deployments import DEPLOY

from shipyard.config import Settings
from support import MakeRepo, MakeSettings

IDEA = "Greeting helpers\n\nSay hello and goodbye from the command line."
SPEC = "specs/greeting-helpers-say-hello-and-goodbye.md"


def task(title: str, path: str, text: str) -> dict[str, Any]:
    script = yaml.safe_dump([{"write": path, "content": text}, {"message": f"wrote {path}"}])
    return {
        "title": title,
        "body": f"Make {path}.\n\n```replay\n{script}```\n",
        "acceptance_criteria": [f"{path} exists"],
    }


PLAN = {
    "features": [
        {
            "title": "Hello",
            "body": "Greet people.",
            "tasks": [
                task("Hello module", "hello.py", "def hello():\n    return 'hello'\n"),
                task("Hello tests", "test_hello.py", "from hello import hello\n"),
            ],
        },
        {
            "title": "Goodbye",
            "body": "Part from people.",
            "tasks": [task("Bye module", "bye.py", "BYE = 1\n")],
        },
    ]
}


@pytest.fixture
def settings(make_settings: MakeSettings, tmp_path: Path) -> Settings:
    replay = tmp_path / "replay.yaml"
    replay.write_text(
        yaml.safe_dump(
            {
                "spec": [{"write": SPEC, "content": "# Greeting helpers\n"}, {"message": "spec written"}],
                "plan": [{"message": json.dumps(PLAN)}],
                "review": [{"message": json.dumps({"defects": []})}],
                "notes": [
                    {"write": "RELEASE_NOTES.md", "content": "# Notes\n"},
                    {"message": "Hello and goodbye."},
                ],
            }
        )
    )
    return make_settings(agent="replay", replay_file=replay)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


async def wait_run(api: httpx.AsyncClient, run_id: str, timeout_s: float = 240) -> dict[str, Any]:
    async with asyncio.timeout(timeout_s):
        while True:
            run: dict[str, Any] = (await api.get(f"/api/runs/{run_id}")).json()
            if run["state"] in ("DONE", "FAILED", "CANCELLED"):
                return run
            await asyncio.sleep(0.3)


def flatten(issue: dict[str, Any]) -> list[dict[str, Any]]:
    return [issue, *(i for child in issue["children"] for i in flatten(child))]


async def test_an_idea_runs_to_done_building_its_tree_branch_by_branch_into_integration(
    api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = make_repo(
        "greet", {"README.md": "# greet\n", ".shipyard/workflows/deploy.yaml": yaml.safe_dump(DEPLOY)}
    )
    # The project deploys each release to staging, once a person approves.
    staging = {"workflow": "deploy", "inputs": {"target": str(tmp_path / "staging")}}
    deployment = {
        "environments": {"staging": staging},
        "deployment_strategy": "auto",
        "require_approval": True,
    }
    project = await api.post(
        "/api/projects", json={"name": "greet", "repository_url": str(repo), "deployment": deployment}
    )
    assert project.status_code == 201, project.text

    # QA (test_idea_qa.py) is asked for none here: the tree, the branches and the merges are the point.
    body = {"ideaText": IDEA, "repo": str(repo), "project": "greet", "options": {"qaRounds": 0}}
    created = await api.post("/api/ideas", json=body)
    assert created.status_code == 201, created.text
    run_id = created.json()["runId"]
    async with asyncio.timeout(240):
        while not (held := (await api.get(f"/api/runs/{run_id}")).json())["interrupt"]["paused"]:
            await asyncio.sleep(0.3)
    assert held["state"] == "RELEASE" and "waiting for approval to deploy" in held["interrupt"]["reason"]
    assert not (tmp_path / "staging").exists()  # nothing deployed before the approval
    approved = await api.post(f"/api/runs/{run_id}/interrupt", json={"action": "resume", "reason": "ship it"})
    assert approved.status_code == 200, approved.text
    run = await wait_run(api, run_id)

    assert run["state"] == "DONE", run["error"]
    states = [e["data"]["state"] for e in run["timeline"] if e["type"] == "run.state" and e["data"]]
    assert states == ["SPEC_WRITING", "ISSUE_TREE", "EXECUTION_LOOP", "MERGE", "RELEASE", "DONE"]
    [epic] = (await api.get(f"/api/runs/{run['runId']}/issues")).json()["issues"]
    issues = flatten(epic)
    assert [(i["type"], i["title"]) for i in issues] == [
        ("epic", "Greeting helpers"), ("feature", "Hello"), ("task", "Hello module"),
        ("task", "Hello tests"), ("feature", "Goodbye"), ("task", "Bye module"),
    ]  # fmt: skip
    assert all(i["status"] == "DONE" for i in issues)
    assert epic["branch"] == f"epic/{epic['id']}-greeting-helpers"
    hello, goodbye = epic["children"]
    assert hello["branch"] == f"feature/{hello['id']}-hello"
    assert hello["children"][0]["branch"] == f"task/{hello['children'][0]['id']}-hello-module"

    async def base_of(issue: dict[str, Any]) -> str:
        pull = (await api.get(f"/api/pull-requests/{issue['prNumber']}")).json()["pull_request"]
        assert pull["head_branch"] == issue["branch"] and pull["state"] == "merged"
        return str(pull["base_branch"])

    assert await base_of(epic) == "integration"
    for feature in (hello, goodbye):
        assert await base_of(feature) == epic["branch"]
        for leaf in feature["children"]:
            assert await base_of(leaf) == feature["branch"]

    # Siblings one after another: each task's work order started after the one before it ended.
    windows = []
    for leaf in [*hello["children"], *goodbye["children"]]:
        wo = (await api.get(f"/api/agent-work-orders/{leaf['workOrderId']}")).json()["agent_work_order"]
        windows.append((wo["execution_started_at"], wo["execution_completed_at"]))
    assert all(earlier[1] <= later[0] for earlier, later in itertools.pairwise(windows))

    files = git(repo, "ls-tree", "-r", "--name-only", "integration").splitlines()
    assert {"hello.py", "test_hello.py", "bye.py", SPEC, "RELEASE_NOTES.md"} <= set(files)
    tag = f"release/{run['runId']}"
    assert git(repo, "rev-parse", f"{tag}^{{commit}}") == git(repo, "rev-parse", "integration")
    assert "Hello and goodbye." in git(repo, "tag", "-l", "--format=%(contents)", tag)
    notes_wo = next(e for e in run["timeline"] if e["data"].get("work") == "release")["data"]["work_order_id"]
    merged = (await api.get(f"/api/agent-work-orders/{notes_wo}")).json()["agent_work_order"]["inputs"][
        "merged"
    ]
    assert all(i["prUrl"] in merged for i in issues)

    [deployed] = (await api.get("/api/projects/greet/deployments")).json()["deployments"]
    assert (deployed["version"], deployed["env"], deployed["status"]) == (tag, "staging", "success")
    assert (tmp_path / "staging" / "live").read_text() == f"{tag}\n"
    assert run["timeline"][-1]["msg"] == f"released {tag}, deployed to staging"


async def test_bad_ideas_are_refused_and_nothing_is_made(api: httpx.AsyncClient, tmp_path: Path) -> None:
    for body, says in [
        ({"ideaText": "", "repo": "/tmp"}, "ideaText"),
        ({"ideaText": "x", "repo": str(tmp_path / "nope")}, "nope"),
        ({"ideaText": "x", "repo": "/tmp", "options": {"size": "huge"}}, "size"),
    ]:
        resp = await api.post("/api/ideas", json=body)
        assert resp.status_code == 422, resp.text
        assert says in resp.text
    assert (await api.get("/api/runs/run-00000000")).status_code == 404
