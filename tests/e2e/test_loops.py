"""Loop steps through the real API, engine, Temporal dev server and git: a loop's steps run in
order, iteration after iteration, until its `until` holds; at `max_iterations` it fails or goes on
as asked; each run is a row of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import yaml

from support import MakeRepo, wait_done

# Each try notes its iteration and what the last check said (pending and empty before the first).
TRY = {
    "id": "fix",
    "run": "echo {{ loop.iteration }} >> tries.txt; echo {{ steps.check.status }} {{ steps.check.output }}"
    " >> seen.txt",
}


def check(at_least: int) -> dict[str, Any]:
    """A loop step that passes once `tries.txt` has `at_least` lines, saying how many it has."""
    run = f"n=$(wc -l < tries.txt); echo have $n; test $n -ge {at_least}"
    return {"id": "check", "run": run, "continue_on_error": True}


async def run(
    api: httpx.AsyncClient, repo: Path, steps: list[dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    body = {
        "repository_url": str(repo),
        "workflow_definition": yaml.safe_dump({"name": "loops", "steps": steps}),
    }
    resp = await api.post("/api/agent-work-orders", json=body)
    assert resp.status_code == 201, resp.text
    wo = await wait_done(api, resp.json()["agent_work_order"]["agent_work_order_id"])
    rows = (await api.get(f"/api/agent-work-orders/{wo['agent_work_order_id']}/steps")).json()["steps"]
    return wo, {row["step_id"]: row for row in rows}


def loop(until: str, max_iterations: int, at_least: int, **spec: Any) -> dict[str, Any]:
    return {
        "id": "polish",
        "loop": {"until": until, "max_iterations": max_iterations, **spec},
        "steps": [TRY, check(at_least)],
    }


async def test_a_loop_stops_when_until_holds(api: httpx.AsyncClient, make_repo: MakeRepo) -> None:
    wo, steps = await run(
        api,
        make_repo(),
        [
            loop("steps.check.exit_code == 0", max_iterations=5, at_least=3),
            {"id": "after", "run": "cat tries.txt seen.txt", "commit": "three tries"},
        ],
    )

    assert wo["status"] == "completed", wo["error_message"]
    assert list(steps) == ["polish", "fix#1", "check#1", "fix#2", "check#2", "fix#3", "check#3", "after"]
    assert [steps[f"check#{i}"]["status"] for i in (1, 2, 3)] == ["failed", "failed", "completed"]
    assert steps["polish"]["status"] == "completed"
    assert steps["polish"]["output"] == "until held after iteration 3"
    # loop.iteration, once per run; then what each try saw of the check before it, failed ones too.
    assert steps["after"]["output"].splitlines() == [
        "1",
        "2",
        "3",
        "pending ",
        "failed have 1",
        "failed have 2",
    ]


async def test_a_loop_at_max_iterations_fails_or_goes_on_as_asked(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    never = "steps.check.status == 'completed'"
    failing, failing_steps = await run(
        api, make_repo("failing"), [loop(never, 2, at_least=9), {"id": "after", "run": "true"}]
    )
    going_on, going_steps = await run(
        api,
        make_repo("going-on"),
        [loop(never, 2, at_least=9, on_max="continue"), {"id": "after", "run": "cat tries.txt"}],
    )

    assert failing["status"] == "failed"
    assert failing["error_message"] == (
        "step 'polish' failed: ran 2 iterations and until never held (steps.check.status == 'completed')"
    )
    assert "fix#3" not in failing_steps and "after" not in failing_steps
    assert going_on["status"] == "completed", going_on["error_message"]
    assert going_steps["after"]["output"].split() == ["1", "2"]


async def test_a_failing_step_inside_ends_the_loop(api: httpx.AsyncClient, make_repo: MakeRepo) -> None:
    broken = {
        "id": "polish",
        "loop": {"until": "false", "max_iterations": 3},
        "steps": [{"id": "boom", "run": "exit 5"}],
    }
    wo, steps = await run(api, make_repo(), [broken])

    assert wo["status"] == "failed"
    assert wo["error_message"] == "step 'polish' failed: step 'boom#1' failed: exit code 5"
    assert list(steps) == ["polish", "boom#1"]
