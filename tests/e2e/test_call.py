"""`call` steps and `fan_out`, through the real API, engine, Temporal dev server and git: child work
orders with parent_id, each on a branch of its own made from the parent's, at most max_parallel at
once, their commits merged back (or a conflict named), and cancelled with their parent."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import yaml

from shipyard.config import Settings
from support import MakeRepo, git, nap, napping, wait_done

CHILD = """\
name: child
inputs:
  n: {type: string, required: true}
steps:
  - id: write
    run: "sleep 0.2; echo {{ inputs.n }} > file-{{ inputs.n }}.txt"
    commit: "child {{ inputs.n }}"
"""

SHARED = """\
name: shared
steps:
  - id: write
    run: "echo from the child > shared.txt"
    commit: "child writes shared.txt"
"""


async def start(api: httpx.AsyncClient, repo: Path, steps: list[dict[str, Any]]) -> str:
    body = {
        "repository_url": str(repo),
        "workflow_definition": yaml.safe_dump({"name": "parent", "steps": steps}),
    }
    resp = await api.post("/api/agent-work-orders", json=body)
    assert resp.status_code == 201, resp.text
    return str(resp.json()["agent_work_order"]["agent_work_order_id"])


async def work_order(api: httpx.AsyncClient, wid: str) -> dict[str, Any]:
    resp = await api.get(f"/api/agent-work-orders/{wid}")
    assert resp.status_code == 200, resp.text
    answer: dict[str, Any] = resp.json()["agent_work_order"]
    return answer


async def steps_of(api: httpx.AsyncClient, wid: str) -> dict[str, dict[str, Any]]:
    rows = (await api.get(f"/api/agent-work-orders/{wid}/steps")).json()["steps"]
    return {row["step_id"]: row for row in rows}


def most_at_once(spans: list[tuple[str, str]]) -> int:
    """The most spans (start, end) open at one moment; one ending as another starts is not overlap."""
    edges = sorted([(end, -1) for _, end in spans] + [(begin, 1) for begin, _ in spans])
    running = most = 0
    for _, change in edges:
        running += change
        most = max(most, running)
    return most


async def test_a_fan_out_runs_one_child_per_item_two_at_a_time_and_merges_all_five(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    repo = make_repo(files={"README.md": "# demo\n", ".shipyard/workflows/child.yaml": CHILD})
    wid = await start(
        api,
        repo,
        [
            {"id": "seed", "run": "echo parent > parent.txt", "commit": "parent seed"},
            {
                "id": "fan",
                "call": {"workflow": "child", "inputs": {"n": "{{ letter }}"}, "merge": "merge"},
                "fan_out": {"over": "{{ ['a', 'b', 'c', 'd', 'e'] }}", "as": "letter", "max_parallel": 2},
            },
            {"id": "after", "run": "ls file-*.txt; echo {{ steps.fan.output[2].branch }}"},
        ],
    )
    parent = await wait_done(api, wid, timeout_s=180)
    assert parent["status"] == "completed", parent["error_message"]

    children = [await work_order(api, cid) for cid in parent["children"]]
    assert len(children) == 5
    assert {child["parent_id"] for child in children} == {wid}
    assert all(child["status"] == "completed" and child["children"] == [] for child in children)
    listed = (await api.get("/api/agent-work-orders", params={"parent_id": wid})).json()
    assert sorted(row["agent_work_order_id"] for row in listed["agent_work_orders"]) == sorted(
        parent["children"]
    )
    assert listed["total_count"] == 5 and all(row["children"] is None for row in listed["agent_work_orders"])
    branches = [child["git_branch_name"] for child in children]
    assert len(set(branches)) == 5 and parent["git_branch_name"] not in branches
    assert {child["base_branch"] for child in children} == {parent["git_branch_name"]}
    spans = []
    for child in children:
        write = (await steps_of(api, child["agent_work_order_id"]))["write"]
        spans.append((write["started_at"], write["completed_at"]))
        # Made from the parent's branch as it was: its seed commit is in every child's history.
        assert "parent seed" in git(repo, "log", "--format=%s", child["git_branch_name"])
    assert most_at_once(spans) <= 2

    branch = parent["git_branch_name"]
    for letter in "abcde":
        assert git(repo, "show", f"{branch}:file-{letter}.txt").strip() == letter
    assert git(repo, "show", f"{branch}:parent.txt").strip() == "parent"
    after = (await steps_of(api, wid))["after"]["output"].split()
    third = next(child for child in children if child["inputs"]["n"] == "c")  # the list's order
    assert after == [*(f"file-{letter}.txt" for letter in "abcde"), third["git_branch_name"]]


async def test_a_child_that_conflicts_with_its_parent_fails_the_call_naming_the_file(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    repo = make_repo(files={"README.md": "# demo\n", ".shipyard/workflows/shared.yaml": SHARED})
    wid = await start(
        api,
        repo,
        [
            {"id": "mine", "run": "echo from the parent > shared.txt", "commit": "parent"},
            # From main, not the parent's branch: the child writes shared.txt its own way.
            {"id": "call", "call": {"workflow": "shared", "base": "main", "merge": "merge"}},
            {"id": "never", "run": "true"},
        ],
    )
    parent = await wait_done(api, wid, timeout_s=120)

    assert parent["status"] == "failed"
    [child_id] = parent["children"]
    child = await work_order(api, child_id)
    assert child["status"] == "completed" and child["parent_id"] == wid and child["base_branch"] == "main"
    expected = (
        f"step 'call' failed: merging {child_id} ({child['git_branch_name']}) into"
        f" {parent['git_branch_name']} conflicts in: shared.txt"
    )
    assert parent["error_message"] == expected
    steps = await steps_of(api, wid)
    assert "never" not in steps
    call = steps["call"]
    assert call["status"] == "failed" and call["error"] == expected.removeprefix("step 'call' failed: ")
    # Nothing of the child was left on the parent's branch: the merge was undone.
    assert git(repo, "show", f"{parent['git_branch_name']}:shared.txt").strip() == "from the parent"


async def test_cancelling_the_parent_cancels_its_running_child(
    api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path, settings: Settings
) -> None:
    started, sleep = tmp_path / "started", nap(600)
    napper = f"name: napper\nsteps:\n  - id: nap\n    run: touch {started} && {sleep}\n"
    repo = make_repo(files={"README.md": "# demo\n", ".shipyard/workflows/napper.yaml": napper})
    wid = await start(api, repo, [{"id": "call", "call": {"workflow": "napper", "merge": "none"}}])
    async with asyncio.timeout(60):
        while not started.exists():
            await asyncio.sleep(0.1)
    [child_id] = (await work_order(api, wid))["children"]

    resp = await api.post(
        f"/api/agent-work-orders/{wid}/interrupt", json={"action": "cancel", "reason": "test"}
    )
    assert resp.status_code == 200, resp.text
    parent = await wait_done(api, wid, timeout_s=60)
    child = await work_order(api, child_id)

    assert parent["status"] == "cancelled" and parent["error_message"] == "cancelled: test"
    assert child["status"] == "cancelled"
    assert child["error_message"] == f"cancelled: parent {wid}: cancelled: test"
    assert not napping(sleep)  # the child's step was stopped, not left sleeping
    assert not (settings.sandboxes_dir / child_id).exists()
    assert (await steps_of(api, child_id))["nap"]["status"] == "cancelled"
    assert (await steps_of(api, wid))["call"]["status"] == "cancelled"


async def test_a_child_in_a_clone_of_its_own_is_merged_from_the_repository(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    """With `git_branch` each work order clones the repository: the child starts from the parent's
    branch as pushed there, and its branch is fetched back from there to be merged."""
    repo = make_repo(files={"README.md": "# demo\n", ".shipyard/workflows/child.yaml": CHILD})
    steps = [
        {"id": "seed", "run": "echo parent > parent.txt", "commit": "parent seed"},
        {"id": "call", "call": {"workflow": "child", "inputs": {"n": "x"}}},
        {"id": "both", "run": "cat parent.txt file-x.txt"},
    ]
    body = {
        "repository_url": str(repo),
        "workflow_definition": yaml.safe_dump({"name": "parent", "steps": steps}),
        "sandbox_type": "git_branch",
    }
    resp = await api.post("/api/agent-work-orders", json=body)
    assert resp.status_code == 201, resp.text
    parent = await wait_done(api, resp.json()["agent_work_order"]["agent_work_order_id"], timeout_s=120)

    assert parent["status"] == "completed", parent["error_message"]
    [child_id] = parent["children"]
    child = await work_order(api, child_id)
    assert child["sandbox_type"] == "git_branch" and child["base_branch"] == parent["git_branch_name"]
    steps_by_id = await steps_of(api, parent["agent_work_order_id"])
    assert steps_by_id["both"]["output"].split() == ["parent", "x"]
    call = steps_by_id["call"]
    merged = git(repo, "log", "-1", "--format=%H %s", parent["git_branch_name"]).split(" ", 1)
    assert merged == [
        call["commit_sha"],
        f"Merge {child_id} ({child['git_branch_name']}) into {parent['git_branch_name']}\n",
    ]


async def test_pausing_the_parent_pauses_its_running_child_and_resuming_resumes_it(
    api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    started, go = tmp_path / "started", tmp_path / "go"
    waiting = f"touch {started}; until [ -e {go} ]; do sleep 0.05; done"
    stepper = yaml.safe_dump(
        {"name": "stepper", "steps": [{"id": "one", "run": waiting}, {"id": "two", "run": "echo two"}]}
    )
    repo = make_repo(files={"README.md": "# demo\n", ".shipyard/workflows/stepper.yaml": stepper})
    wid = await start(api, repo, [{"id": "call", "call": {"workflow": "stepper", "merge": "none"}}])
    async with asyncio.timeout(60):
        while not started.exists():
            await asyncio.sleep(0.1)
    [child_id] = (await work_order(api, wid))["children"]

    paused = await api.post(f"/api/agent-work-orders/{wid}/interrupt", json={"action": "pause"})
    assert paused.status_code == 200, paused.text
    go.touch()  # the child's running step ends; with the pause passed on, its next does not start
    async with asyncio.timeout(60):
        while (await work_order(api, child_id))["status"] != "paused":
            await asyncio.sleep(0.1)
    assert "two" not in await steps_of(api, child_id)
    resumed = await api.post(f"/api/agent-work-orders/{wid}/interrupt", json={"action": "resume"})
    assert resumed.status_code == 200, resumed.text
    parent = await wait_done(api, wid, timeout_s=60)

    assert parent["status"] == "completed", parent["error_message"]
    assert (await work_order(api, child_id))["status"] == "completed"
    assert (await steps_of(api, child_id))["two"]["output"].strip() == "two"
