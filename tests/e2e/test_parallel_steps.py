"""Steps by `depends_on`, through the real API, engine, Temporal dev server and git: independent
steps run at the same time in the shared sandbox, a step waits for everything it depends on, and
one failure stops its running siblings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import yaml

from support import MakeRepo, git, wait_done


def meets(me: str, other: str) -> str:
    """A command that marks its start, then waits (up to 30 s) for `other` to have started too;
    it succeeds only when both were running at once."""
    return (
        f"touch .marks/{me}.started; "
        f"for i in $(seq 600); do [ -e .marks/{other}.started ] && break; sleep 0.05; done; "
        f"[ -e .marks/{other}.started ] && touch .marks/{me}.met-{other}"
    )


async def run(api: httpx.AsyncClient, repo: Path, steps: list[dict[str, Any]]) -> dict[str, Any]:
    body = {
        "repository_url": str(repo),
        "workflow_definition": yaml.safe_dump({"name": "graph", "steps": steps}),
    }
    resp = await api.post("/api/agent-work-orders", json=body)
    assert resp.status_code == 201, resp.text
    return await wait_done(api, resp.json()["agent_work_order"]["agent_work_order_id"])


async def steps_of(api: httpx.AsyncClient, wo: dict[str, Any]) -> dict[str, dict[str, Any]]:
    rows = (await api.get(f"/api/agent-work-orders/{wo['agent_work_order_id']}/steps")).json()["steps"]
    return {row["step_id"]: row for row in rows}


async def test_independent_steps_overlap_and_a_join_waits_for_both(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    repo = make_repo()
    wo = await run(
        api,
        repo,
        [
            {"id": "setup", "run": "mkdir .marks"},
            {"id": "left", "depends_on": ["setup"], "run": meets("left", "right")},
            {"id": "right", "depends_on": ["setup"], "run": meets("right", "left")},
            {"id": "join", "depends_on": ["left", "right"], "run": "ls .marks", "commit": "both met"},
        ],
    )
    steps = await steps_of(api, wo)

    assert wo["status"] == "completed", wo["error_message"]
    # Each saw the other start before it ended: they ran at the same time.
    assert steps["join"]["output"].split() == [
        "left.met-right",
        "left.started",
        "right.met-left",
        "right.started",
    ]
    assert steps["join"]["started_at"] >= max(steps["left"]["completed_at"], steps["right"]["completed_at"])
    files = git(repo, "show", "--name-only", "--format=", wo["git_branch_name"]).split()
    assert files == [
        ".marks/left.met-right",
        ".marks/left.started",
        ".marks/right.met-left",
        ".marks/right.started",
    ]


async def test_a_failed_step_stops_its_running_sibling_and_what_waits(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    repo = make_repo()
    wo = await run(
        api,
        repo,
        [
            {"id": "slow", "depends_on": [], "run": "touch slow.started; sleep 120"},
            {
                "id": "broken",
                "depends_on": [],
                "run": "until [ -e slow.started ]; do sleep 0.05; done; exit 7",
            },
            {"id": "after", "depends_on": ["slow", "broken"], "run": "echo never"},
        ],
    )
    steps = await steps_of(api, wo)

    assert wo["status"] == "failed"
    assert wo["error_message"] == "step 'broken' failed: exit code 7"
    assert steps["broken"]["status"] == "failed"
    assert steps["slow"]["status"] == "cancelled"  # stopped, not waited for two minutes
    assert "after" not in steps


async def test_a_cycle_is_refused_naming_its_steps(api: httpx.AsyncClient, make_repo: MakeRepo) -> None:
    definition = {
        "name": "loop",
        "steps": [{"id": "a", "run": "x", "depends_on": ["b"]}, {"id": "b", "run": "y", "depends_on": ["a"]}],
    }
    body = {"repository_url": str(make_repo()), "workflow_definition": yaml.safe_dump(definition)}
    resp = await api.post("/api/agent-work-orders", json=body)

    assert resp.status_code == 422
    assert "steps[0] (a): depends_on: a cycle: a → b → a" in resp.text
