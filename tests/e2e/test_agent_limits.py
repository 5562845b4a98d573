"""SHIPYARD_AGENT_LIMITS across the worker processes of one install: with `shell=1`, three work
orders on two workers never run two shell steps at once, and the ones waiting say their place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from test_durability import finished_work_order, start_serve, stop, wait_for, wait_healthy

from shipyard.engine.devserver import free_port
from support import MakeRepo, wait_done

LINE = ("waiting for a shell slot — 1st in line", "waiting for a shell slot — 2nd in line")


def queued_notes(url: str, ids: list[str]) -> set[str]:
    """What the steps of these work orders in line say now."""
    notes = set()
    for wid in ids:
        for step in httpx.get(f"{url}/api/agent-work-orders/{wid}/steps").json()["steps"]:
            if step["status"] == "queued":
                notes.add(step["output"])
    return notes


def test_one_slot_runs_one_step_at_a_time_across_workers_and_the_rest_wait_in_line(
    make_repo: MakeRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPYARD_AGENT_LIMITS", "shell=1")
    lock = tmp_path / "held"
    # The shell agent runs its prompt as a script: two at once would find the directory there.
    hold = f"mkdir {lock} || exit 9; sleep 2; rmdir {lock}"
    definition = yaml.safe_dump(
        {"name": "one-at-a-time", "steps": [{"id": "work", "prompt": hold, "agent": "shell"}]}
    )
    data, port, log = tmp_path / "data", free_port(), tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    serve = start_serve(data, port, log, workers=2)
    seen: set[str] = set()
    try:
        wait_healthy(url, log)
        ids = []
        for i in range(3):
            body = {"repository_url": str(make_repo(f"repo{i}")), "workflow_definition": definition}
            ids.append(
                httpx.post(f"{url}/api/agent-work-orders", json=body).json()["agent_work_order"][
                    "agent_work_order_id"
                ]
            )
        wait_for(lambda: seen.update(queued_notes(url, ids)) or LINE[1] in seen, 60, "a step 2nd in line")
        done = [finished_work_order(url, wid, 120) for wid in ids]
        events: list[dict[str, Any]] = []
        for wid in ids:
            events += httpx.get(f"{url}/api/agent-work-orders/{wid}/logs", params={"limit": 1000}).json()[
                "log_entries"
            ]
    finally:
        stop(serve)

    assert [wo["status"] for wo in done] == ["completed"] * 3, (done, log.read_text()[-3000:])
    queued = [e for e in events if e["event"] == "workflow.step.queued"]
    assert {e["place"] for e in queued} == {1, 2}
    assert {e["agent"] for e in queued} == {"shell"}


async def test_a_projects_limit_holds_its_work_orders_to_it(
    api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo, lock = make_repo(), tmp_path / "held"
    refused = await api.post(
        "/api/projects", json={"name": "bad", "repository_url": str(repo), "limits": {"shell": 0}}
    )
    made = await api.post(
        "/api/projects", json={"name": "widgets", "repository_url": str(repo), "limits": {"shell": 1}}
    )
    hold = f"mkdir {lock} || exit 9; sleep 1; rmdir {lock}"
    definition = yaml.safe_dump(
        {"name": "one-at-a-time", "steps": [{"id": "work", "prompt": hold, "agent": "shell"}]}
    )
    body = {"repository_url": str(repo), "workflow_definition": definition, "project": "widgets"}
    ids = [
        (await api.post("/api/agent-work-orders", json=body)).json()["agent_work_order"][
            "agent_work_order_id"
        ]
        for _ in range(2)
    ]
    done = [await wait_done(api, wid) for wid in ids]
    events = [
        e
        for wid in ids
        for e in (await api.get(f"/api/agent-work-orders/{wid}/logs", params={"limit": 500})).json()[
            "log_entries"
        ]
    ]

    assert refused.status_code == 422 and made.status_code == 201, (refused.text, made.text)
    assert made.json()["project"]["limits"] == {"shell": 1}
    assert [wo["status"] for wo in done] == ["completed", "completed"], done  # never both at once
    queued = [e for e in events if e["event"] == "workflow.step.queued"]
    assert [(e["place"], e["slot"]) for e in queued] == [(1, f"shell@{made.json()['project']['id']}")]
