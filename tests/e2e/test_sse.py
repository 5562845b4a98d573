"""Live events over SSE: resume by id after dropped connections, heartbeats, the global stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from cli_kit import shipyard
from shipyard.cli.server import RunningServer, running_server
from shipyard.config import Settings
from support import MakeRepo, MakeSettings, wait_done


@pytest.fixture
def settings(make_settings: MakeSettings) -> Settings:
    return make_settings(sse_heartbeat_s=0.3)


async def frames(resp: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """SSE frames as dicts (`id`, `event`, `data`; comments as `comment`), parsed by the spec's rules."""
    frame: dict[str, Any] = {}
    async for line in resp.aiter_lines():
        if line == "":
            if frame:
                yield frame
            frame = {}
        elif line.startswith(":"):
            yield {"comment": line[1:].strip()}
        else:
            field, _, value = line.partition(":")
            frame[field] = value.removeprefix(" ")


async def start(api: httpx.AsyncClient, repo: Path, run: str) -> str:
    flow = {"name": "noisy", "steps": [{"id": "talk", "run": run}]}
    body = {"repository_url": str(repo), "workflow_definition": yaml.safe_dump(flow)}
    return str(
        (await api.post("/api/agent-work-orders", json=body)).json()["agent_work_order"][
            "agent_work_order_id"
        ]
    )


async def read(
    api: httpx.AsyncClient, wid: str, after: int, drop_after: int | None
) -> tuple[list[str], int, bool]:
    """Lines of `log` events; the last event id; whether the server ended the stream."""
    lines: list[str] = []
    headers = {"Last-Event-ID": str(after)} if after else {}
    async with api.stream("GET", f"/api/agent-work-orders/{wid}/events", headers=headers) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        async for frame in frames(resp):
            if "id" not in frame:
                continue
            after = int(frame["id"])
            event = json.loads(frame["data"])
            assert event["type"] == frame["event"] and event["id"] == after
            if frame["event"] == "log":
                lines.append(event["data"]["line"])
                if drop_after is not None and len(lines) >= drop_after:
                    return lines, after, False  # leaving the block drops the connection
    return lines, after, True


async def test_thousand_lines_arrive_once_and_in_order_across_three_reconnects(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    wid = await start(api, make_repo(), "for i in $(seq 1 1000); do echo line $i; sleep 0.002; done")
    received: list[str] = []
    after, ended = 0, False
    for drop_after in (150, 250, 300, None):
        lines, after, ended = await read(api, wid, after, drop_after)
        received += lines
    assert ended  # the server closed the stream after the terminal event
    assert received == [f"line {i}" for i in range(1, 1001)]
    done = await wait_done(api, wid)
    assert done["status"] == "completed"


async def test_heartbeat_query_resume_and_errors(api: httpx.AsyncClient, make_repo: MakeRepo) -> None:
    wid = await start(api, make_repo(), "echo one; echo two")
    await wait_done(api, wid)
    logs = (await api.get(f"/api/agent-work-orders/{wid}/logs", params={"limit": 100})).json()["log_entries"]
    second_to_last = logs[-2]["id"]
    async with api.stream(
        "GET", f"/api/agent-work-orders/{wid}/events", params={"after": second_to_last}
    ) as resp:
        ids = [int(f["id"]) async for f in frames(resp) if "id" in f]
    assert ids == [logs[-1]["id"]]  # only what came after, then the stream ended

    async def global_stream() -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        async with api.stream("GET", "/api/events") as resp:
            async for frame in frames(resp):
                got.append(frame)
                if sum("comment" in f for f in got) >= 2 and any(
                    f.get("event") == "workflow.completed" for f in got
                ):
                    return got
        return got

    reader = asyncio.create_task(global_stream())
    await asyncio.sleep(0.5)
    other = await start(api, make_repo("other"), "echo from-other")
    got = await asyncio.wait_for(reader, 30)
    assert any(f.get("comment") == "ping" for f in got)  # idle heartbeat
    assert {json.loads(f["data"])["work_order_id"] for f in got if "data" in f} == {other}  # live only

    assert (await api.get("/api/agent-work-orders/wo-00000000/events")).status_code == 404
    bad = await api.get(f"/api/agent-work-orders/{wid}/events", headers={"Last-Event-ID": "abc"})
    assert bad.status_code == 422 and "Last-Event-ID" in bad.json()["error"]["message"]


async def test_cli_logs_follow_prints_every_event_until_the_end(
    server: RunningServer, api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    wid = await start(api, make_repo(), "for i in $(seq 1 50); do echo line $i; sleep 0.02; done")
    args = ("logs", wid, "-f", "--server", server.url)
    done = await asyncio.wait_for(asyncio.to_thread(shipyard, tmp_path / "cli", *args), 60)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    lines = [line.split("line=", 1)[1] for line in text.splitlines() if "line=" in line]
    assert lines == [f"line {i}" for i in range(1, 51)]
    assert text.rstrip().splitlines()[-1].split()[2] == "workflow.completed"


async def test_long_output_keeps_head_and_tail_and_says_what_was_cut(
    settings: Settings, make_repo: MakeRepo
) -> None:
    bounded = settings.model_copy(update={"max_log_lines_per_step": 100})
    server = running_server(bounded, persistent=False, port=0, announce=False)
    async with server as srv, httpx.AsyncClient(base_url=srv.url, timeout=30) as api:
        wid = await start(api, make_repo(), "seq 1 1000")
        await wait_done(api, wid)
        entries = (await api.get(f"/api/agent-work-orders/{wid}/logs", params={"limit": 1000})).json()
    kept = [e["line"] for e in entries["log_entries"] if e["event"] == "log"]
    assert kept == [str(i) for i in range(1, 51)] + [str(i) for i in range(951, 1001)]
    cut = [e for e in entries["log_entries"] if e["event"] == "log.truncated"]
    assert len(cut) == 1 and cut[0]["lines_cut"] == 900
