"""Retrying a parent whose call step failed, through the real API, engine, Temporal dev server and
git: the children that completed are kept (not run again, their merges not made again), the one
that failed is retried in place (the same id), and the step's output lists them all in order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import yaml
from test_call import start, steps_of, work_order

from support import MakeRepo, git, wait_done


def child_workflow(runs: Path, ok: Path) -> str:
    """A child that counts its runs and writes its file only once `ok/<n>` exists."""
    n = "{{ inputs.n }}"
    write = f"echo x >> {runs}/{n} && test -f {ok}/{n} && echo {n} > file-{n}.txt"
    inputs = {"n": {"type": "string", "required": True}}
    steps = [{"id": "write", "run": write, "commit": f"child {n}"}]
    return yaml.safe_dump({"name": "child", "inputs": inputs, "steps": steps})


async def children_by_input(api: httpx.AsyncClient, parent: dict[str, Any]) -> dict[str, dict[str, Any]]:
    children = [await work_order(api, child_id) for child_id in parent["children"]]
    return {child["inputs"]["n"]: child for child in children}


async def retry(api: httpx.AsyncClient, wid: str) -> dict[str, Any]:
    resp = await api.post(f"/api/agent-work-orders/{wid}/retry")
    assert resp.status_code == 200, resp.text
    return await wait_done(api, wid, timeout_s=180)


async def test_retrying_a_fan_out_keeps_the_children_that_completed_and_retries_the_failed_one(
    api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    runs, ok = tmp_path / "runs", tmp_path / "ok"
    runs.mkdir()
    ok.mkdir()
    for letter in "abde":
        (ok / letter).touch()
    workflows = {".shipyard/workflows/child.yaml": child_workflow(runs, ok)}
    repo = make_repo(files={"README.md": "# demo\n", **workflows})
    wid = await start(
        api,
        repo,
        [
            {"id": "seed", "run": "echo parent > parent.txt", "commit": "parent seed"},
            {
                "id": "fan",
                "call": {"workflow": "child", "inputs": {"n": "{{ letter }}"}, "merge": "merge"},
                "fan_out": {"over": "{{ ['a', 'b', 'c', 'd', 'e'] }}", "as": "letter", "max_parallel": 5},
            },
            {"id": "after", "run": "ls file-*.txt"},
        ],
    )
    failed = await wait_done(api, wid, timeout_s=180)
    assert failed["status"] == "failed" and "step 'fan' failed: 1 of 5" in failed["error_message"]
    first = await children_by_input(api, failed)
    assert {n: child["status"] for n, child in first.items()} == {
        "a": "completed", "b": "completed", "c": "failed", "d": "completed", "e": "completed",
    }  # fmt: skip
    first_writes = {n: (await steps_of(api, c["agent_work_order_id"]))["write"] for n, c in first.items()}
    first_fan = (await steps_of(api, wid))["fan"]["output_data"]

    (ok / "c").touch()
    done = await retry(api, wid)

    assert done["status"] == "completed", done["error_message"]
    assert sorted(done["children"]) == sorted(failed["children"])  # the same five, none new
    again = await children_by_input(api, done)
    assert all(child["status"] == "completed" for child in again.values())
    assert {n: (runs / n).read_text().count("x") for n in "abcde"} == {"a": 1, "b": 1, "c": 2, "d": 1, "e": 1}
    for n in "abde":  # kept: not started again
        assert again[n]["execution_started_at"] == first[n]["execution_started_at"]
        write = (await steps_of(api, again[n]["agent_work_order_id"]))["write"]
        assert (write["started_at"], write["attempt"]) == (first_writes[n]["started_at"], 1)
    assert again["c"]["execution_started_at"] > first["c"]["execution_started_at"]  # retried in place
    assert again["c"]["error_message"] is None

    logs = (await api.get(f"/api/agent-work-orders/{wid}/logs", params={"limit": 1000})).json()
    events = [entry for entry in logs["log_entries"] if entry["step_id"] == "fan"]
    started = [entry for entry in events if entry["event"] == "workflow.step.started"][-1]
    assert started["kept"] == [first[n]["agent_work_order_id"] for n in "abde"]
    retried = [entry for entry in events if entry["event"] == "workflow.call.child_retried"]
    assert [(e["work_order_id"], e["index"], e["from_step"]) for e in retried] == [
        (first["c"]["agent_work_order_id"], 2, "write")
    ]
    steps = await steps_of(api, wid)
    fan = steps["fan"]["output_data"]
    assert [entry["work_order_id"] for entry in fan] == [first[n]["agent_work_order_id"] for n in "abcde"]
    assert [entry["status"] for entry in fan] == ["completed"] * 5
    kept = [0, 1, 3, 4]  # their merges are the ones the first run made
    assert [fan[i]["merge_sha"] for i in kept] == [first_fan[i]["merge_sha"] for i in kept]
    branch = done["git_branch_name"]
    assert fan[2]["merge_sha"] == git(repo, "rev-parse", branch).strip()  # the one merge made now
    merges = git(repo, "log", "--merges", "--format=%s", branch).splitlines()
    for n in "abcde":
        assert git(repo, "show", f"{branch}:file-{n}.txt").strip() == n
        child_id = first[n]["agent_work_order_id"]
        assert sum(subject.startswith(f"Merge {child_id} ") for subject in merges) == 1
    assert len(merges) == 5
    assert steps["after"]["output"].split() == [f"file-{n}.txt" for n in "abcde"]


async def test_retrying_a_parent_retries_its_one_failed_child_in_place(
    api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    runs, ok = tmp_path / "runs", tmp_path / "ok"
    runs.mkdir()
    ok.mkdir()
    workflows = {".shipyard/workflows/child.yaml": child_workflow(runs, ok)}
    repo = make_repo(files={"README.md": "# demo\n", **workflows})
    wid = await start(api, repo, [{"id": "call", "call": {"workflow": "child", "inputs": {"n": "x"}}}])
    failed = await wait_done(api, wid, timeout_s=120)
    assert failed["status"] == "failed"
    [child_id] = failed["children"]

    (ok / "x").touch()
    done = await retry(api, wid)

    assert done["status"] == "completed", done["error_message"]
    assert done["children"] == [child_id]
    assert (await work_order(api, child_id))["status"] == "completed"
    assert (runs / "x").read_text().count("x") == 2
    call = (await steps_of(api, wid))["call"]["output_data"]
    assert (call["work_order_id"], call["status"]) == (child_id, "completed")
    assert git(repo, "show", f"{done['git_branch_name']}:file-x.txt").strip() == "x"
