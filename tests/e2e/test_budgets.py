"""Budgets across a run: a step's own budget counts only its own agent runs; a child work order's
spend counts in its parent's, and a child is stopped when it crosses a budget of its parent's."""

from __future__ import annotations

from typing import Any

import httpx
import yaml

from support import MakeRepo, wait_done


def talk(turns: int) -> str:
    """A replay agent's script: `turns` turns of 100 + 10 tokens each."""
    actions: list[dict[str, Any]] = []
    for i in range(turns):
        actions += [
            {"write": f"turn{i}.txt", "content": f"{i}\n"},
            {"usage": {"turns": 1, "input_tokens": 100, "output_tokens": 10}},
        ]
    return yaml.safe_dump({"replay": actions})


async def run(api: httpx.AsyncClient, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    created = await api.post("/api/agent-work-orders", json={"agent": "replay", **body})
    assert created.status_code == 201, created.text
    wo = await wait_done(api, created.json()["agent_work_order"]["agent_work_order_id"])
    rows = (await api.get(f"/api/agent-work-orders/{wo['agent_work_order_id']}/steps")).json()["steps"]
    return wo, {row["step_id"]: row for row in rows}


async def test_a_step_budget_counts_only_that_steps_runs(api: httpx.AsyncClient, make_repo: MakeRepo) -> None:
    definition = {
        "name": "stepwise",
        "steps": [
            {"id": "first", "prompt": talk(3), "budget": {"max_turns": 5}},
            {"id": "second", "prompt": talk(10), "budget": {"max_turns": 2}},
        ],
    }
    wo, steps = await run(
        api, {"repository_url": str(make_repo()), "workflow_definition": yaml.safe_dump(definition)}
    )

    assert steps["first"]["status"] == "completed"  # 3 turns within its own 5
    assert wo["status"] == "failed"
    # The second crossed its own 2 at its own third turn, not counting the first step's three.
    assert (
        "step 'second' failed: budget_exceeded: the step's max_turns 2 crossed (spent 3 turns"
        in wo["error_message"]
    )
    assert wo["usage"]["turns"] == steps["first"]["usage_turns"] + steps["second"]["usage_turns"]
    assert steps["second"]["usage_turns"] == 3


async def test_a_childs_spend_counts_in_its_parent_and_stops_at_the_parents_budget(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    child = yaml.safe_dump({"name": "chatty", "steps": [{"id": "talk", "prompt": talk(10)}]})
    repo = make_repo(files={"README.md": "# demo\n", ".shipyard/workflows/chatty.yaml": child})
    parent = {
        "name": "delegating",
        "budget": {"max_turns": 3},
        "steps": [{"id": "delegate", "call": {"workflow": "chatty", "merge": "none"}}],
    }
    wo, _ = await run(api, {"repository_url": str(repo), "workflow_definition": yaml.safe_dump(parent)})
    children = (
        await api.get("/api/agent-work-orders", params={"parent_id": wo["agent_work_order_id"]})
    ).json()

    assert wo["status"] == "failed"
    (kid,) = children["agent_work_orders"]
    assert kid["status"] == "failed"
    assert (
        f"budget_exceeded: {wo['agent_work_order_id']}'s max_turns 3 crossed (spent 4 turns"
        in kid["error_message"]
    )
    assert wo["usage"]["turns"] == kid["usage"]["turns"] == 4  # the child's spend is the parent's too
