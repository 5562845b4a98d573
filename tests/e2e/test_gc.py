"""Garbage collection: after many work orders (some cancelled, one whose workflow vanished with its
worker), gc leaves no sandbox, no worktree record and no process behind."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from temporalio.client import WorkflowFailureError

from cli_kit import shipyard
from shipyard.cli.server import RunningServer, running_server
from shipyard.config import Settings
from shipyard.engine.gc import LOST, collect
from support import MakeRepo, MakeSettings, git, nap, napping, wait_done


async def start(api: httpx.AsyncClient, repo: Path, run: str, name: str = "job") -> str:
    definition = yaml.safe_dump({"name": name, "steps": [{"id": "job", "run": run, "commit": "job"}]})
    resp = await api.post(
        "/api/agent-work-orders", json={"repository_url": str(repo), "workflow_definition": definition}
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["agent_work_order"]["agent_work_order_id"])


async def until(check: Any, timeout_s: float = 60) -> None:
    async with asyncio.timeout(timeout_s):
        while not await check():
            await asyncio.sleep(0.1)


async def test_after_twenty_work_orders_gc_leaves_nothing_behind(
    api: httpx.AsyncClient, server: RunningServer, settings: Settings, make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = make_repo()
    sleep = nap(600)
    quick = [await start(api, repo, f"echo {n} > f{n}.txt") for n in range(13)]
    failing = await start(api, repo, "exit 1")
    sleepers = [await start(api, repo, sleep) for _ in range(6)]
    sandboxes = settings.sandboxes_dir

    async def all_napping() -> bool:
        return all((sandboxes / wid).is_dir() for wid in sleepers) and napping(sleep)

    await until(all_napping)
    cancelled, lost = sleepers[:5], sleepers[5]
    for wid in cancelled:
        resp = await api.post(f"/api/agent-work-orders/{wid}/interrupt", json={"action": "cancel"})
        assert resp.status_code == 200, resp.text
    await server.engine.client.get_workflow_handle(lost).terminate(
        "the worker was lost"
    )  # as a dead worker leaves it
    for wid in [*quick, failing, *cancelled]:
        await wait_done(api, wid)
    (sandboxes / "wo-deadbeef").mkdir()  # a directory no work order owns
    (sandboxes / "wo-deadbeef" / "left.txt").write_text("over")
    (sandboxes / quick[0]).mkdir()  # and one a cleanup missed
    assert (await api.get(f"/api/agent-work-orders/{lost}")).json()["agent_work_order"]["status"] == "running"

    done = await collect(settings, server.service.store, server.engine.client)
    assert sorted(done.removed) == sorted([lost, quick[0], "wo-deadbeef"]) and done.kept == []
    assert done.marked_failed == [lost]
    assert list(sandboxes.iterdir()) == []
    record = (await api.get(f"/api/agent-work-orders/{lost}")).json()["agent_work_order"]
    assert record["status"] == "failed" and record["error_message"] == LOST
    logs = await api.get(f"/api/agent-work-orders/{lost}/logs", params={"limit": 500})
    # The log says so too. (The lost work order's step may still report its own cancellation after
    # it: its activity learns that the workflow is gone at its next heartbeat.)
    ended = [e for e in logs.json()["log_entries"] if e["event"] == "workflow.failed"]
    assert [(e.get("recorded_by"), e.get("error")) for e in ended] == [("gc", LOST)]
    (mirror,) = [p for p in settings.mirrors_dir.iterdir() if p.is_dir()]
    assert git(mirror, "worktree", "list", "--porcelain").count("worktree ") == 1  # the mirror alone

    async def nothing_sleeps() -> bool:
        return not napping(sleep)

    await until(nothing_sleeps)  # the lost one's step was stopped too
    again = await collect(settings, server.service.store, server.engine.client)
    assert again.removed == [] and again.kept == []


def test_shipyard_gc_by_hand_without_a_server(make_repo: MakeRepo, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "sandboxes" / "wo-deadbeef").mkdir(parents=True)
    path = str(Path(sys.executable).parent) + ":/usr/bin:/bin"
    dry = shipyard(data, "gc", "--dry-run", PATH=path)
    assert dry.returncode == 0, dry.stderr
    assert (
        "would remove 1 sandbox(es): wo-deadbeef" in dry.stdout
        and (data / "sandboxes" / "wo-deadbeef").exists()
    )
    real = shipyard(data, "gc", PATH=path)
    assert real.returncode == 0 and "removed 1 sandbox(es): wo-deadbeef" in real.stdout
    assert not (data / "sandboxes" / "wo-deadbeef").exists()


async def refuse_endings(db: Path, refuse: bool = True) -> None:
    """Make the store refuse to record any work order's end, as a full disk would (or stop it).
    In a thread: the in-process server may hold the write lock across an await."""
    await asyncio.to_thread(_refuse_endings, db, refuse)


def _refuse_endings(db: Path, refuse: bool) -> None:
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
        if not refuse:
            conn.execute("DROP TRIGGER refuse_endings")
            return
        conn.execute(
            "CREATE TRIGGER refuse_endings BEFORE UPDATE OF status ON work_order"
            " WHEN NEW.status IN ('completed', 'failed', 'cancelled')"
            " BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )


async def test_a_failure_the_store_could_not_record_is_recorded_once_it_can_be(
    api: httpx.AsyncClient, server: RunningServer, settings: Settings, make_repo: MakeRepo
) -> None:
    db = settings.data_dir / "shipyard.db"
    await refuse_endings(db)
    wid = await start(api, make_repo(), "echo no room left >&2; exit 3")
    handle = server.engine.client.get_workflow_handle(wid)
    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(handle.result(), 120)
    assert "recording it failed: " in str(failed.value.cause)  # the finish kept failing
    record = (await api.get(f"/api/agent-work-orders/{wid}")).json()["agent_work_order"]
    assert record["status"] == "running"

    await refuse_endings(db, refuse=False)  # room again
    done = await collect(settings, server.service.store, server.engine.client)
    assert done.marked_failed == [wid]
    record = (await api.get(f"/api/agent-work-orders/{wid}")).json()["agent_work_order"]
    assert record["status"] == "failed", record
    assert record["error_message"].startswith("step 'job' failed: ") and "exit" in record["error_message"]
    events = (await api.get(f"/api/agent-work-orders/{wid}/logs")).json()["log_entries"]
    assert events[-1]["event"] == "workflow.failed" and events[-1]["error"] == record["error_message"]


async def test_a_running_engine_records_a_missed_end_as_soon_as_the_store_takes_it(
    make_settings: MakeSettings, make_repo: MakeRepo
) -> None:
    settings = make_settings(gc_interval_s=1)
    db = settings.data_dir / "shipyard.db"
    async with (
        running_server(settings, persistent=False, port=0, announce=False) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=30) as api,
    ):
        await refuse_endings(db)
        wid = await start(api, make_repo(), "exit 3")
        with pytest.raises(WorkflowFailureError):
            await asyncio.wait_for(srv.engine.client.get_workflow_handle(wid).result(), 120)
        await asyncio.sleep(2)  # rounds of the reconciler that the store refused
        record = (await api.get(f"/api/agent-work-orders/{wid}")).json()["agent_work_order"]
        assert record["status"] == "running"
        await refuse_endings(db, refuse=False)
        done = await wait_done(api, wid, timeout_s=30)
    assert done["status"] == "failed" and done["error_message"].startswith("step 'job' failed: ")
