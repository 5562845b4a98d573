"""What a work order leaves uncommitted at its end: an agent's files reach the branch, listed in
the commit; what a `run` step left without `commit:`, and caches, do not."""

from __future__ import annotations

import httpx
import yaml

from support import MakeRepo, git, wait_done

LEAVE = "mkdir -p pkg/__pycache__ && echo x > pkg/__pycache__/app.cpython-311.pyc && echo r > report.txt"
STEPS = [
    {"id": "tests", "run": f"{LEAVE} && echo tested >> README.md"},
    {"id": "agent", "prompt": "echo notes > NOTES.md && echo y > stray.pyc && echo z > report.txt && "
     "mkdir -p node_modules/left && echo m > node_modules/left/index.js"},
    {"id": "again", "run": "echo again > pkg/__pycache__/app.cpython-311.pyc"},
]  # fmt: skip


async def test_only_what_the_agent_left_is_committed_at_the_end(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    repo = make_repo()
    body = {
        "repository_url": str(repo), "agent": "shell",
        "workflow_definition": yaml.safe_dump({"name": "leftovers", "steps": STEPS}),
    }  # fmt: skip
    resp = await api.post("/api/agent-work-orders", json=body)
    assert resp.status_code == 201, resp.text
    wo = await wait_done(api, resp.json()["agent_work_order"]["agent_work_order_id"])
    assert wo["status"] == "completed", wo["error_message"]
    branch = wo["git_branch_name"]
    assert git(repo, "diff", "--name-only", f"main..{branch}").split() == ["NOTES.md", "report.txt"]
    assert git(repo, "show", f"{branch}:report.txt") == "z\n"  # the agent's, though a command wrote it too
    assert git(repo, "show", f"{branch}:README.md") == "# demo\n"  # the test run's change is not taken
    message = git(repo, "log", "-1", "--format=%B", branch)
    assert message.startswith(f"chore: uncommitted changes of {wo['agent_work_order_id']}\n\n")
    assert "Left uncommitted by agents:\n- NOTES.md\n- report.txt\n" in message


async def test_nothing_is_committed_when_only_commands_left_something(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    steps = [{"id": "tests", "run": LEAVE}]
    body = {
        "repository_url": str(make_repo()),
        "workflow_definition": yaml.safe_dump({"name": "t", "steps": steps}),
    }
    resp = await api.post("/api/agent-work-orders", json=body)
    wo = await wait_done(api, resp.json()["agent_work_order"]["agent_work_order_id"])
    assert (wo["status"], wo["git_commit_count"]) == ("completed", 0)
