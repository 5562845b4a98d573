"""Faults mid-work-order: a step whose completion was stored before its process died is not run
(nor committed) again when its activity is retried; a dev server killed mid-step is restarted on
its port and database, says so, and the work order completes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sqlite3
import time
from pathlib import Path

import httpx
import yaml
from test_durability import answers, finished_work_order, start_serve, stop, wait_for, wait_healthy

from shipyard.cli.server import RunningServer
from shipyard.config import Settings
from shipyard.engine.devserver import free_port
from support import MakeRepo, git, wait_done


def three_steps(counts: Path) -> dict[str, object]:
    """Three steps, each counting its runs outside the sandbox and appending to a file it commits."""
    steps = [
        {"id": sid, "run": f"echo run >> {counts}/{sid} && echo {sid} >> {sid}.txt", "commit": sid}
        for sid in ("s1", "s2", "s3")
    ]
    return {"name": "three", "steps": steps}


def step_status(db: Path, work_order_id: str, step_id: str) -> str | None:
    with sqlite3.connect(db, timeout=30) as conn:
        row = conn.execute(
            "SELECT status FROM step WHERE work_order_id = ? AND step_id = ?", (work_order_id, step_id)
        ).fetchone()
    return row[0] if row else None


def hold_writes_once_completed(db: Path, work_order_id: str, step_id: str) -> sqlite3.Connection:
    """As soon as the step is stored completed, take the database's write lock (so the activity
    cannot go on to report the result) and return the connection holding it."""
    deadline = time.monotonic() + 60
    while step_status(db, work_order_id, step_id) != "completed":
        assert time.monotonic() < deadline, f"step {step_id} never completed"
        time.sleep(0.002)
    lock = sqlite3.connect(db, timeout=30, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    return lock


def completed_events(lock: sqlite3.Connection, work_order_id: str, step_id: str) -> int:
    query = "SELECT count(*) FROM event WHERE work_order_id = ? AND step_id = ? AND type = ?"
    return int(lock.execute(query, (work_order_id, step_id, "workflow.step.completed")).fetchone()[0])


def test_step_completed_before_a_kill_is_not_run_again(make_repo: MakeRepo, tmp_path: Path) -> None:
    repo = make_repo()
    data, port, log = tmp_path / "data", free_port(), tmp_path / "serve.log"
    counts = tmp_path / "counts"
    counts.mkdir()
    url = f"http://127.0.0.1:{port}"
    # The worker in serve's own process: the lock below must be taken between two writes of the
    # activity, and a worker process of its own makes them too close together to catch.
    serve = start_serve(data, port, log, workers=0)
    try:
        wait_healthy(url, log)
        body = {
            "repository_url": str(repo),
            "workflow_definition": yaml.safe_dump(three_steps(counts)),
            "agent": "shell",
        }
        created = httpx.post(f"{url}/api/agent-work-orders", json=body).json()
        wid = created["agent_work_order"]["agent_work_order_id"]
        lock = hold_writes_once_completed(data / "shipyard.db", wid, "s2")
        try:
            # The activity stored the step, but could not report it: its next write waits on us.
            assert completed_events(lock, wid, "s2") == 0
            serve.send_signal(signal.SIGKILL)
            serve.wait(10)
        finally:
            lock.execute("ROLLBACK")
            lock.close()

        serve = start_serve(data, port, log)  # restarted with worker processes
        wait_healthy(url, log, "serve to restart")

        wo = finished_work_order(url, wid, 120)
        assert wo["status"] == "completed", (wo["error_message"], log.read_text()[-3000:])
        subjects = git(repo, "log", "--format=%s", wo["git_branch_name"]).split("\n")
        assert subjects.count("s2") == 1, subjects
        assert wo["git_commit_count"] == 3
        for sid in ("s1", "s2", "s3"):
            assert (counts / sid).read_text().count("run") == 1, sid
    finally:
        stop(serve)


def devserver_pid(parent_pid: int) -> int:
    """The `temporal server start-dev` child of `parent_pid`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat, argv = (entry / "stat").read_text(), (entry / "cmdline").read_bytes()
        except OSError:  # ended meanwhile
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent_pid and b"start-dev" in argv:
            return int(entry.name)
    raise AssertionError(f"no dev server under {parent_pid}")


def watch_health(url: str, timeout_s: float) -> list[str]:
    """The `temporal` states health reports, in order, until it is ok after something else."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not (len(seen) > 1 and seen[-1] == "ok"):
        try:
            state = httpx.get(f"{url}/api/health", timeout=10).json()["temporal"]
        except httpx.TransportError:
            continue
        if not seen or seen[-1] != state:
            seen.append(state)
        time.sleep(0.05)
    return seen


def test_dev_server_killed_mid_step_is_restarted_and_the_work_order_completes(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = make_repo()
    data, port, log = tmp_path / "data", free_port(), tmp_path / "serve.log"
    counts = tmp_path / "counts"
    counts.mkdir()
    flow = three_steps(counts)
    flow["steps"][1]["run"] = f"echo run >> {counts}/s2 && sleep 2 && echo s2 >> s2.txt"  # type: ignore[index]
    url = f"http://127.0.0.1:{port}"
    serve = start_serve(data, port, log)
    try:
        wait_healthy(url, log)
        body = {"repository_url": str(repo), "workflow_definition": yaml.safe_dump(flow), "agent": "shell"}
        created = httpx.post(f"{url}/api/agent-work-orders", json=body).json()
        wid = created["agent_work_order"]["agent_work_order_id"]
        wait_for(lambda: (counts / "s2").exists(), 60, "step s2 to start")
        temporal = json.loads((data / "server.json").read_text())["temporal"]
        os.kill(devserver_pid(serve.pid), signal.SIGKILL)

        states = watch_health(url, 60)
        assert states[0] == "restarting" and states[-1] == "ok", states

        wo = finished_work_order(url, wid, 120)
        assert wo["status"] == "completed", (wo["error_message"], log.read_text()[-3000:])
        subjects = git(repo, "log", "--format=%s", wo["git_branch_name"]).split("\n")
        assert [subjects.count(sid) for sid in ("s1", "s2", "s3")] == [1, 1, 1], subjects
        assert (counts / "s1").read_text().count("run") == 1
        assert (counts / "s3").read_text().count("run") == 1
        health = httpx.get(f"{url}/api/health").json()
        assert health["temporal"] == "ok" and health["temporal_restarts"] == 1
        assert answers(temporal)  # on the same port as before
        assert "was restarted (once" in httpx.get(f"{url}/").text
        assert "temporal_died" in log.read_text() and "temporal_restarted" in log.read_text()
    finally:
        stop(serve)


FULL_AT_S2 = (
    "CREATE TRIGGER full BEFORE UPDATE OF status ON step WHEN NEW.step_id = 's2' AND NEW.status = 'completed'"
    " BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
)


def execute(db: Path, sql: str) -> None:
    """One statement on the store's database, from outside (in a thread when the server is in-process:
    it may hold the write lock across an await)."""
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
        conn.execute(sql)


async def test_step_committed_but_not_stored_is_not_run_again(
    api: httpx.AsyncClient, server: RunningServer, settings: Settings, make_repo: MakeRepo, tmp_path: Path
) -> None:
    """The store refuses the step's completion once (a full disk): the retried attempt finds the
    step's commit on the branch and records it instead of running the step again."""
    repo, counts = make_repo(), tmp_path / "counts"
    counts.mkdir()
    db = settings.data_dir / "shipyard.db"
    await asyncio.to_thread(execute, db, FULL_AT_S2)
    body = {"repository_url": str(repo), "workflow_definition": yaml.safe_dump(three_steps(counts))}
    wid = (await api.post("/api/agent-work-orders", json=body)).json()["agent_work_order"][
        "agent_work_order_id"
    ]
    handle = server.engine.client.get_workflow_handle(wid)

    async def refused() -> bool:
        pending = (await handle.describe()).raw_description.pending_activities
        return any("disk is full" in str(p.last_failure) for p in pending)

    async with asyncio.timeout(60):
        while not await refused():
            await asyncio.sleep(0.05)
    await asyncio.to_thread(execute, db, "DROP TRIGGER full")  # room again, before the retry
    done = await wait_done(api, wid, timeout_s=90)
    assert done["status"] == "completed", done["error_message"]
    subjects = git(repo, "log", "--format=%s", done["git_branch_name"]).split("\n")
    assert [subjects.count(sid) for sid in ("s1", "s2", "s3")] == [1, 1, 1], subjects
    assert [(counts / sid).read_text().count("run") for sid in ("s1", "s2", "s3")] == [1, 1, 1]


def hold_port_after_kill(serve_pid: int, address: str) -> socket.socket:
    """SIGKILL serve's dev server and bind its port before the supervisor starts it again (killing
    the replacement when the supervisor was quicker), so that it stays down until released."""
    port = int(address.rsplit(":", 1)[1])
    for _ in range(20):
        os.kill(devserver_pid(serve_pid), signal.SIGKILL)
        holder = socket.socket()
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            try:
                holder.bind(("127.0.0.1", port))
                holder.listen()  # listening: a server binding with SO_REUSEADDR is refused too
                return holder
            except OSError:
                time.sleep(0.001)
        holder.close()
        wait_for(lambda: answers(address), 30, "the supervisor's replacement to answer")
    raise AssertionError("the dev server's port could not be held")


def test_while_temporal_is_down_creates_and_controls_answer_503_and_store_nothing(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = make_repo()
    data, port, log = tmp_path / "data", free_port(), tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    waiting = {"name": "gated", "steps": [{"id": "hold", "gate": {"message": "hold"}}]}
    body = {"repository_url": str(repo), "workflow_definition": yaml.safe_dump(waiting)}
    serve = start_serve(data, port, log)
    try:
        wait_healthy(url, log)
        created = httpx.post(f"{url}/api/agent-work-orders", json=body).json()
        wid = created["agent_work_order"]["agent_work_order_id"]
        status = lambda: httpx.get(f"{url}/api/agent-work-orders/{wid}").json()["agent_work_order"]["status"]  # noqa: E731
        wait_for(lambda: status() == "running", 60, "the work order to wait at its gate")
        temporal = json.loads((data / "server.json").read_text())["temporal"]
        holder = hold_port_after_kill(serve.pid, temporal)
        try:
            wait_for(
                lambda: httpx.get(f"{url}/api/health").json()["temporal"] == "down", 30, "a failed restart"
            )
            refused = httpx.post(f"{url}/api/agent-work-orders", json=body)
            paused = httpx.post(f"{url}/api/agent-work-orders/{wid}/interrupt", json={"action": "pause"})
            listed = httpx.get(f"{url}/api/agent-work-orders").json()
        finally:
            holder.close()
        for answer in (refused, paused):
            assert answer.status_code == 503, answer.text
            assert answer.headers["retry-after"] == "5"
            error = answer.json()["error"]
            assert error["code"] == "unavailable" and "Temporal is not answering" in error["message"]
        assert [w["agent_work_order_id"] for w in listed["agent_work_orders"]] == [wid]  # nothing recorded

        wait_for(lambda: httpx.get(f"{url}/api/health").json()["temporal"] == "ok", 60, "Temporal back")
        again = httpx.post(f"{url}/api/agent-work-orders/{wid}/interrupt", json={"action": "cancel"})
        assert again.status_code == 200, again.text
        wait_for(lambda: status() == "cancelled", 60, "the work order to be cancelled")
        assert httpx.post(f"{url}/api/agent-work-orders", json=body).status_code == 201
    finally:
        stop(serve)
