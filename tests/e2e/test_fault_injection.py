"""Fault injection: at a random point of a three-step work order, `serve`, the worker process or the
Temporal dev server is SIGKILLed; what died is started again (the dev server by its supervisor).
The work order completes, no completed step runs again, no commit is doubled, no event is lost."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from test_durability import answers, finished_work_order, start_serve, stop, wait_for, wait_healthy
from test_faults import devserver_pid

from shipyard.engine.devserver import free_port
from support import MakeRepo, git

SHIPYARD = str(Path(sys.executable).parent / "shipyard")
STEPS = ("s1", "s2", "s3")


def spawn(data: Path, port: int, log: Path, *argv: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SHIPYARD_DATA_DIR": str(data),
        "SHIPYARD_PORT": str(port),
        "SHIPYARD_HEARTBEAT_TIMEOUT_S": "3",
    }
    with log.open("ab") as out:
        return subprocess.Popen([SHIPYARD, *argv], env=env, stdout=out, stderr=out)


class Shipyard:
    """`serve --no-worker` and one `shipyard worker` on the same data dir, restartable."""

    def __init__(self, tmp_path: Path) -> None:
        self.data, self.port, self.log = tmp_path / "data", free_port(), tmp_path / "shipyard.log"
        self.url = f"http://127.0.0.1:{self.port}"
        self.serve = self.start_serve()
        self.worker = self.start_worker()

    def start_serve(self) -> subprocess.Popen[bytes]:
        serve = spawn(self.data, self.port, self.log, "serve", "--no-worker")
        wait_healthy(self.url, self.log)
        return serve

    def start_worker(self) -> subprocess.Popen[bytes]:
        return spawn(self.data, self.port, self.log, "worker")

    @property
    def temporal(self) -> str:
        return str(json.loads((self.data / "server.json").read_text())["temporal"])

    def kill(self, target: str) -> None:
        """SIGKILL `target` and start again what does not come back by itself."""
        if target == "temporal":
            os.kill(devserver_pid(self.serve.pid), signal.SIGKILL)
        elif target == "worker":
            self.worker.send_signal(signal.SIGKILL)
            self.worker.wait(10)
            self.worker = self.start_worker()
        else:
            temporal = self.temporal
            self.serve.send_signal(signal.SIGKILL)
            self.serve.wait(10)
            wait_for(lambda: not answers(temporal), 30, "the dev server to exit with serve")
            self.serve = self.start_serve()
            assert self.temporal == temporal  # the same port: the worker finds it again

    def close(self) -> None:
        stop(self.worker)
        stop(self.serve)


def flow(counts: Path) -> dict[str, object]:
    steps = [
        {
            "id": sid,
            "run": f"echo run >> {counts}/{sid} && sleep 1 && echo {sid} >> {sid}.txt",
            "commit": sid,
        }
        for sid in STEPS
    ]
    return {"name": "three", "steps": steps}


@pytest.mark.parametrize(("target", "seed"), [("serve", 1), ("worker", 2), ("temporal", 3)])
def test_a_kill_at_a_random_point_loses_nothing(
    target: str, seed: int, make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo, counts = make_repo(), tmp_path / "counts"
    counts.mkdir()
    shipyard = Shipyard(tmp_path)
    try:
        body = {
            "repository_url": str(repo),
            "workflow_definition": yaml.safe_dump(flow(counts)),
            "agent": "shell",
        }
        created = httpx.post(f"{shipyard.url}/api/agent-work-orders", json=body)
        wid = created.json()["agent_work_order"]["agent_work_order_id"]
        wait_for(lambda: (counts / "s1").exists(), 60, "the first step to start")
        # Somewhere in the three steps (each about a second) or the finish after them.
        time.sleep(random.Random(seed).uniform(0.0, 4.0))
        shipyard.kill(target)

        wo = finished_work_order(shipyard.url, wid, 150)
        logs = httpx.get(f"{shipyard.url}/api/agent-work-orders/{wid}/logs", params={"limit": 1000}).json()
    finally:
        shipyard.close()
    assert wo["status"] == "completed", (wo["error_message"], shipyard.log.read_text()[-3000:])
    subjects = git(repo, "log", "--format=%s", wo["git_branch_name"]).split("\n")
    assert [subjects.count(sid) for sid in STEPS] == [1, 1, 1], subjects  # no commit doubled
    runs = [(counts / sid).read_text().count("run") for sid in STEPS]
    assert sum(runs) <= len(STEPS) + 1, runs  # only the step the kill interrupted ran again
    events = logs["log_entries"]
    completed = [e["step_id"] for e in events if e["event"] == "workflow.step.completed"]
    assert sorted(completed) == list(STEPS), completed  # each step's end told once
    assert events[-1]["event"] == "workflow.completed"
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)


def test_a_worker_killed_in_the_finish_is_replaced_within_seconds(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    """The finish pushes the branch; the origin's hook holds that push while the worker is killed.
    The finish runs inside a workflow task, and runs again on the restarted worker once that task
    times out (10 s), not after the finish's 10-minute limit."""
    repo, pushing = make_repo(), tmp_path / "pushing"
    hook = repo / ".git" / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\ntouch {pushing}\nsleep 3\n")
    hook.chmod(0o755)
    shipyard = Shipyard(tmp_path)
    try:
        definition = {"name": "one", "steps": [{"id": "s1", "run": "echo 1 > one.txt", "commit": "s1"}]}
        body = {"repository_url": str(repo), "workflow_definition": yaml.safe_dump(definition)}
        created = httpx.post(f"{shipyard.url}/api/agent-work-orders", json=body)
        wid = created.json()["agent_work_order"]["agent_work_order_id"]
        wait_for(pushing.exists, 60, "the finish to push")
        shipyard.kill("worker")
        wo = finished_work_order(shipyard.url, wid, 90)
    finally:
        shipyard.close()
    assert wo["status"] == "completed", (wo["error_message"], shipyard.log.read_text()[-3000:])
    assert git(repo, "log", "--format=%s", wo["git_branch_name"]).split("\n")[0] == "s1"


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def worker_running(serve_pid: int, marker: bytes) -> int:
    """The worker process under `serve_pid` whose descendants include a command line with `marker`."""
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit() or marker not in (entry / "cmdline").read_bytes():
                continue
            pid = int(entry.name)
            while pid > 1:
                parent = parent_of(pid)
                if parent == serve_pid and b" worker" in Path(f"/proc/{pid}/cmdline").read_bytes().replace(
                    b"\0", b" "
                ):
                    return pid
                pid = parent
        except OSError:  # ended meanwhile
            continue
    raise AssertionError(f"no worker of {serve_pid} runs {marker!r}")


def test_one_of_several_worker_processes_killed_mid_step_is_replaced_and_nothing_runs_twice(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo, counts = make_repo(), tmp_path / "counts"
    counts.mkdir()
    data, port, log = tmp_path / "data", free_port(), tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    definition = flow(counts)
    definition["steps"][1]["run"] = f"echo run >> {counts}/s2 && sleep 3 && echo s2 >> s2.txt"  # type: ignore[index]
    serve = start_serve(data, port, log, workers=2)
    try:
        wait_healthy(url, log)
        body = {"repository_url": str(repo), "workflow_definition": yaml.safe_dump(definition)}
        created = httpx.post(f"{url}/api/agent-work-orders", json=body)
        wid = created.json()["agent_work_order"]["agent_work_order_id"]
        wait_for(lambda: (counts / "s2").exists(), 60, "step s2 to start")
        victim = worker_running(serve.pid, b"sleep 3")
        os.kill(victim, signal.SIGKILL)
        wo = finished_work_order(url, wid, 120)
        logs = httpx.get(f"{url}/api/agent-work-orders/{wid}/logs", params={"limit": 1000}).json()
    finally:
        stop(serve)
    assert wo["status"] == "completed", (wo["error_message"], log.read_text()[-3000:])
    subjects = git(repo, "log", "--format=%s", wo["git_branch_name"]).split("\n")
    assert [subjects.count(sid) for sid in STEPS] == [1, 1, 1], subjects
    runs = [(counts / sid).read_text().count("run") for sid in STEPS]
    assert runs == [1, 2, 1], runs  # s2, interrupted, ran again; the completed s1 did not
    completed = [e["step_id"] for e in logs["log_entries"] if e["event"] == "workflow.step.completed"]
    assert sorted(completed) == list(STEPS), completed
    assert "worker_died" in log.read_text() and "worker_restarted" in log.read_text()
