"""A run's event stream (seed 002 §6.3) over real HTTP: an idea run on the local forge, the replay
agent doing its work, watched live from its start to its end, then resumed from an event id."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from test_idea_runs import IDEA, flatten, settings  # noqa: F401 (the fixture: a replay agent's run)
from test_sse import frames

from shipyard.cli.server import running_server
from shipyard.config import Settings
from support import MakeRepo


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    """A server whose idle streams ping every 0.2 s."""
    quick = settings.model_copy(update={"sse_heartbeat_s": 0.2})
    async with (
        running_server(quick, persistent=False, port=0, announce=False) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=30) as client,
    ):
        yield client


async def read_stream(api: httpx.AsyncClient, run_id: str, **request: Any) -> list[dict[str, Any]]:
    """Every frame and comment of the run's stream, until the server ends it."""
    async with asyncio.timeout(120), api.stream("GET", f"/api/runs/{run_id}/stream", **request) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        return [frame async for frame in frames(resp)]


def events_of(got: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [frame for frame in got if "id" in frame]


async def test_a_run_streams_its_events_live_in_order_and_ends_after_the_last(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    repo = make_repo("greet", {"README.md": "# greet\n"})
    created = await api.post(
        "/api/ideas", json={"ideaText": IDEA, "repo": str(repo), "options": {"qaRounds": 0}}
    )
    assert created.status_code == 201, created.text
    run_id = created.json()["runId"]

    got = await read_stream(api, run_id)  # returns once the server has closed the stream

    run = (await api.get(f"/api/runs/{run_id}")).json()
    assert run["state"] == "DONE", run["error"]
    live = events_of(got)
    ids = [int(frame["id"]) for frame in live]
    assert ids == sorted(set(ids))
    named = [(frame["event"], json.loads(frame["data"])) for frame in live]
    entries = [entry for _, entry in named]
    assert entries == run["timeline"]  # every event, as the run's timeline shows it
    assert any(frame.get("comment") == "ping" for frame in got)  # heartbeats while agents worked

    states = [(name, e["data"].get("state")) for name, e in named if e["type"] == "run.state"]
    assert states == [
        ("run.state", None), ("workflow.started", "SPEC_WRITING"), ("run.state", "ISSUE_TREE"),
        ("run.state", "EXECUTION_LOOP"), ("run.state", "MERGE"), ("run.state", "RELEASE"),
        ("workflow.completed", "DONE"),
    ]  # fmt: skip
    assert live[-1]["event"] == "workflow.completed"
    assert all(name == e["type"] for name, e in named if e["type"] != "run.state")

    [epic] = (await api.get(f"/api/runs/{run_id}/issues")).json()["issues"]
    updated = {e["data"]["issue_id"] for e in entries if e["type"] == "issue.updated"}
    assert updated == {issue["id"] for issue in flatten(epic)}
    started = [e["data"]["work_order_id"] for e in entries if e["type"] == "workflow.step.started"]
    completed = [e["data"]["work_order_id"] for e in entries if e["type"] == "workflow.step.completed"]
    assert len(started) >= 5 and completed == started  # spec, plan, three tasks, … each ended in turn

    middle = ids[len(ids) // 2]
    rest = events_of(await read_stream(api, run_id, headers={"Last-Event-ID": str(middle)}))
    assert rest == live[len(ids) // 2 + 1 :]  # exactly the frames after it, then the end
    assert events_of(await read_stream(api, run_id, params={"after": middle})) == rest
    assert events_of(await read_stream(api, run_id, headers={"Last-Event-ID": str(ids[-1])})) == []
    bad = await api.get(f"/api/runs/{run_id}/stream", headers={"Last-Event-ID": "abc"})
    assert bad.status_code == 422 and "Last-Event-ID" in bad.json()["error"]["message"]


async def test_unknown_runs_and_bad_ids_are_refused(api: httpx.AsyncClient) -> None:
    missing = await api.get("/api/runs/run-00000000/stream")
    assert missing.status_code == 404 and "run-00000000" in missing.json()["error"]["message"]
    assert (await api.get("/api/runs/nope/stream")).status_code == 422
    bad = await api.get("/api/runs/run-00000000/stream", params={"after": -1})
    assert bad.status_code == 422
