"""`"dry_run": true` on a real server (engine, Temporal, store): the plan comes back, nothing is
created, and bad input is refused exactly as a real create refuses it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import yaml

from shipyard.cli.server import RunningServer
from support import MakeRepo, git

FLOW: dict[str, Any] = {
    "name": "checks",
    "description": "Set up, lint and test at once, then report.",
    "secrets": ["NPM_TOKEN"],
    "inputs": {"who": {"required": True}, "times": {"type": "number", "default": 2}},
    "steps": [
        {"id": "setup", "phase": "setup", "run": "echo {{ inputs.who }} > who.txt"},
        {"id": "lint", "run": "make lint TIMES={{ inputs.times }}"},
        {"id": "test", "depends_on": ["setup"], "prompt": "Test it for {{ inputs.who }}.",
         "agent": "openai", "model": "gpt-4.1", "commit": "test: for {{ inputs.who }}"},
        {"id": "report", "depends_on": ["lint", "test"], "prompt": "Sum up: {{ steps.test.output }}",
         "when": "inputs.times > 1", "secrets": ["GH_TOKEN"]},
    ],
}  # fmt: skip


async def plan(api: httpx.AsyncClient, repo: Path, **body: Any) -> httpx.Response:
    return await api.post(
        "/api/agent-work-orders", json={"repository_url": str(repo), "dry_run": True, **body}
    )


async def test_a_dry_run_answers_the_plan_and_creates_nothing(
    api: httpx.AsyncClient, server: RunningServer, make_repo: MakeRepo
) -> None:
    repo = make_repo()
    resp = await plan(
        api, repo, workflow_definition=yaml.safe_dump(FLOW), inputs={"who": "ann lee"}, agent="shell"
    )
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert answer["dry_run"] is True
    assert (answer["repository_url"], answer["agent"], answer["sandbox_type"]) == (
        str(repo),
        "shell",
        "git_worktree",
    )
    workflow = answer["workflow"]
    assert workflow["name"] == "checks" and workflow["inputs"] == {"who": "ann lee", "times": 2}
    assert workflow["layers"] == [["setup"], ["lint", "test"], ["report"]]
    step = {s["id"]: s for s in workflow["steps"]}
    assert step["lint"]["depends_on"] == ["setup"]  # the default, the previous step, made explicit
    assert step["setup"]["depends_on"] == [] and step["report"]["depends_on"] == ["lint", "test"]
    assert step["setup"]["text"]["rendered"] == "echo 'ann lee' > who.txt"  # quoted for the shell
    assert step["test"]["text"]["rendered"] == "Test it for ann lee."
    assert (step["test"]["agent"], step["test"]["model"]) == ("openai", "gpt-4.1")
    assert step["test"]["commit"] == {
        "template": FLOW["steps"][2]["commit"],
        "rendered": "test: for ann lee",
        "note": None,
    }
    assert step["report"]["agent"] == "shell" and step["setup"]["agent"] is None  # only prompts have one
    report = step["report"]["text"]
    assert report["rendered"] is None and report["template"] == "Sum up: {{ steps.test.output }}"
    assert "steps" in report["note"]  # it reads what only a run knows
    assert step["report"]["when"] == "inputs.times > 1"
    assert step["report"]["secrets"] == ["GH_TOKEN", "NPM_TOKEN"] and step["lint"]["secrets"] == ["NPM_TOKEN"]
    assert [s["layer"] for s in workflow["steps"]] == [0, 1, 1, 2]
    listed = (await api.get("/api/agent-work-orders")).json()
    assert listed["total_count"] == 0  # no work order row
    assert git(repo, "branch", "--list", "--format=%(refname:short)").split() == ["main"]  # no branch
    assert git(repo, "worktree", "list").count("\n") == 1
    assert server.service.client is not None  # an engine was there to start things, and was not asked


async def test_a_dry_run_resolves_workflows_as_a_create_does(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    own = {"name": "local_flow", "steps": [{"id": "hello", "run": "echo hi"}]}
    repo = make_repo(
        "repo", {"README.md": "# r\n", ".shipyard/workflows/local_flow.yaml": yaml.safe_dump(own)}
    )
    mine = (await plan(api, repo, workflow_type="local_flow")).json()["workflow"]
    assert (mine["source"], mine["layers"]) == (".shipyard/workflows/local_flow.yaml", [["hello"]])
    built_in = (
        await plan(api, repo, workflow_type="agent_workflow_plan", initial_prompt="Add a flag")
    ).json()
    assert built_in["workflow"]["source"] == "builtin/agent_workflow_plan.yaml"
    assert "Add a flag" in built_in["workflow"]["steps"][0]["text"]["rendered"]


async def test_bad_input_is_refused_as_a_real_create_refuses_it(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    repo = make_repo()
    cycle = {"name": "loop", "steps": [{"id": "a", "run": "x", "depends_on": ["b"]}, {"id": "b", "run": "y"}]}
    two_commits = {"name": "both", "steps": [
        {"id": "a", "run": "x", "depends_on": [], "commit": "a"},
        {"id": "b", "run": "y", "depends_on": [], "commit": "b"}]}  # fmt: skip
    bad: list[dict[str, Any]] = [
        {"workflow_definition": yaml.safe_dump(FLOW)},  # the required input is missing
        {"workflow_definition": yaml.safe_dump(FLOW), "inputs": {"who": "x", "times": "many"}},
        {"workflow_definition": yaml.safe_dump(cycle)},
        {"workflow_definition": yaml.safe_dump(two_commits)},
        {"workflow_type": "nope"},
        {"workflow_type": "agent_workflow_plan", "agent": "nobody"},
        {"workflow_type": "agent_workflow_plan", "base_branch": "no-such-branch"},
    ]
    for body in bad:
        dry = await plan(api, repo, **body)
        real = await api.post("/api/agent-work-orders", json={"repository_url": str(repo), **body})
        assert 400 <= dry.status_code < 500 and (dry.status_code, dry.json()) == (
            real.status_code,
            real.json(),
        )
    missing = await plan(api, repo.parent / "nowhere", workflow_type="agent_workflow_plan")
    assert missing.status_code == 422 and "not found" in missing.json()["error"]["message"]
    assert (await api.get("/api/agent-work-orders")).json()["total_count"] == 0
