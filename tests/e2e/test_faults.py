"""Faults mid-work-order: a step whose completion was stored before its process died is not run
(nor committed) again when its activity is retried."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import yaml
from test_durability import start_serve, wait_for

from shipyard.engine.devserver import free_port
from support import MakeRepo, git


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
    serve = start_serve(data, port, log)
    try:
        wait_for(lambda: httpx.get(f"{url}/api/health").status_code == 200, 60, "serve to start")
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

        serve = start_serve(data, port, log)
        wait_for(lambda: httpx.get(f"{url}/api/health").status_code == 200, 60, "serve to restart")

        def finished() -> bool:
            wo = httpx.get(f"{url}/api/agent-work-orders/{wid}").json()["agent_work_order"]
            return wo["status"] in ("completed", "failed")

        wait_for(finished, 120, "the work order to finish")
        wo = httpx.get(f"{url}/api/agent-work-orders/{wid}").json()["agent_work_order"]
        assert wo["status"] == "completed", (wo["error_message"], log.read_text()[-3000:])
        subjects = git(repo, "log", "--format=%s", wo["git_branch_name"]).split("\n")
        assert subjects.count("s2") == 1, subjects
        assert wo["git_commit_count"] == 3
        for sid in ("s1", "s2", "s3"):
            assert (counts / sid).read_text().count("run") == 1, sid
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(30)
        except subprocess.TimeoutExpired:
            serve.kill()
