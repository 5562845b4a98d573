"""`shipyard serve` killed with SIGKILL mid-step, started again: the work order resumes and completes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from shipyard.engine.devserver import free_port
from support import MakeRepo

SHIPYARD = str(Path(sys.executable).parent / "shipyard")


def start_serve(data: Path, port: int, log: Path, workers: int = 2) -> subprocess.Popen[bytes]:
    """`shipyard serve` with `workers` worker processes (0: the worker in serve's own process)."""
    env = {
        **os.environ,
        "SHIPYARD_DATA_DIR": str(data),
        "SHIPYARD_PORT": str(port),
        "SHIPYARD_HEARTBEAT_TIMEOUT_S": "3",
        "SHIPYARD_WORKERS": str(workers),
    }
    with log.open("ab") as out:
        return subprocess.Popen([SHIPYARD, "serve"], env=env, stdout=out, stderr=out)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL when it has not ended within 30 s."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def answers(address: str) -> bool:
    """Whether something accepts connections on host:port."""
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return False
    return True


def wait_for(predicate: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if predicate():  # type: ignore[operator]
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def wait_healthy(url: str, log: Path, what: str = "serve to start", timeout_s: float = 60) -> None:
    """Until the server at `url` answers its health check 200; else fail with its last answer and
    the end of its log."""
    answer: list[httpx.Response] = []

    def healthy() -> bool:
        answer[:] = [httpx.get(f"{url}/api/health")]
        return answer[0].status_code == 200

    try:
        wait_for(healthy, timeout_s, what)
    except AssertionError as err:
        said = f"{answer[0].status_code} {answer[0].text}" if answer else "no answer"
        tail = log.read_text()[-3000:]
        raise AssertionError(f"{err}: its health said {said}; its log ends:\n{tail}") from None


def finished_work_order(url: str, work_order_id: str, timeout_s: float) -> dict[str, Any]:
    """The work order once it has completed or failed (polled over the API)."""

    def get() -> dict[str, Any]:
        answer = httpx.get(f"{url}/api/agent-work-orders/{work_order_id}").json()
        wo: dict[str, Any] = answer["agent_work_order"]
        return wo

    wait_for(lambda: get()["status"] in ("completed", "failed"), timeout_s, "the work order to finish")
    return get()


def test_sigkill_serve_mid_step_then_restart_completes(make_repo: MakeRepo, tmp_path: Path) -> None:
    repo = make_repo()
    data, port, log = tmp_path / "data", free_port(), tmp_path / "serve.log"
    counts = tmp_path / "counts"
    counts.mkdir()
    flow = {
        "name": "nap",
        "steps": [
            {
                "id": "first",
                "run": f"echo run >> {counts}/first && echo one > one.txt",
                "commit": "one",
            },
            {
                "id": "nap",
                "run": f"echo run >> {counts}/nap && sleep 4 && echo two > two.txt",
                "commit": "two",
            },
        ],
    }
    url = f"http://127.0.0.1:{port}"
    serve = start_serve(data, port, log)
    try:
        wait_healthy(url, log)
        body = {
            "repository_url": str(repo),
            "workflow_definition": yaml.safe_dump(flow),
            "agent": "shell",
        }
        wid = httpx.post(f"{url}/api/agent-work-orders", json=body).json()["agent_work_order"][
            "agent_work_order_id"
        ]
        wait_for(lambda: (counts / "nap").exists(), 60, "the nap step to start")
        temporal = json.loads((data / "server.json").read_text())["temporal"]
        serve.send_signal(signal.SIGKILL)
        serve.wait(10)
        # The embedded dev server dies with its parent; once it has, its database is free again.
        wait_for(lambda: not answers(temporal), 30, "the dev server to exit")

        serve = start_serve(data, port, log)
        wait_healthy(url, log, "serve to restart")

        wo = finished_work_order(url, wid, 90)
        assert wo["status"] == "completed", (wo["error_message"], log.read_text()[-3000:])
        assert wo["git_commit_count"] == 2
        assert (counts / "first").read_text().count("run") == 1  # the completed step never re-ran
        assert (counts / "nap").read_text().count("run") == 2  # the interrupted one ran again
    finally:
        stop(serve)
    assert (
        not (data / "server.json").exists()
        or json.loads((data / "server.json").read_text())["pid"] != serve.pid
    )
