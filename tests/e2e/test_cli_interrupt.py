"""Ctrl-C in `shipyard run` against a server: a terminal is asked to cancel or detach."""

from __future__ import annotations

import asyncio
import os
import pty
import signal
import sys
from pathlib import Path
from typing import IO

import httpx
import yaml

from shipyard.cli.server import RunningServer
from support import MakeRepo, interruptible, wait_done

SHIPYARD = str(Path(sys.executable).parent / "shipyard")


async def start_run(
    server: RunningServer, repo: Path, tmp_path: Path, stdin: int | IO[bytes]
) -> asyncio.subprocess.Process:
    marker = tmp_path / "started"
    flow = tmp_path / "flow.yaml"
    flow.write_text(
        yaml.safe_dump({"name": "nap", "steps": [{"id": "nap", "run": f"touch {marker}; sleep 120"}]})
    )
    env = {**os.environ, "SHIPYARD_DATA_DIR": str(tmp_path / "cli"), "COLUMNS": "200"}
    proc = await asyncio.create_subprocess_exec(
        SHIPYARD, "run", str(repo), "--workflow-file", str(flow), "--server", server.url,
        stdin=stdin, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env,
        preexec_fn=interruptible,
    )  # fmt: skip
    async with asyncio.timeout(60):
        while not marker.exists():
            assert proc.returncode is None, "shipyard run ended before its step started"
            await asyncio.sleep(0.1)
    return proc


async def read_until(proc: asyncio.subprocess.Process, text: str) -> str:
    assert proc.stdout is not None
    out = ""
    async with asyncio.timeout(30):
        while text not in out:
            chunk = await proc.stdout.read(1024)
            assert chunk, f"output ended without {text!r}:\n{out}"
            out += chunk.decode()
    return out


def work_order_id(output: str) -> str:
    return next(word for word in output.split() if word.startswith("wo-") and len(word) == 11)


async def test_ctrl_c_in_a_terminal_asks_and_cancels_on_yes(
    server: RunningServer, api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    terminal, child_end = pty.openpty()
    proc = await start_run(server, make_repo(), tmp_path, child_end)
    os.close(child_end)
    try:
        proc.send_signal(signal.SIGINT)
        out = await read_until(proc, "detach and let it run")
        os.write(terminal, b"y\n")
        assert proc.stdout is not None
        out += (await proc.stdout.read()).decode()
        assert await proc.wait() == 130
    finally:
        os.close(terminal)
    assert "cancel requested" in out
    done = await wait_done(api, work_order_id(out), timeout_s=60)
    assert done["status"] == "cancelled"


async def test_ctrl_c_without_a_terminal_detaches_and_the_work_goes_on(
    server: RunningServer, api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    proc = await start_run(server, make_repo(), tmp_path, asyncio.subprocess.DEVNULL)
    proc.send_signal(signal.SIGINT)
    assert proc.stdout is not None
    out = (await proc.stdout.read()).decode()
    assert await proc.wait() == 130
    assert "detached" in out
    wid = work_order_id(out)
    wo = (await api.get(f"/api/agent-work-orders/{wid}")).json()["agent_work_order"]
    assert wo["status"] == "running"
    await api.post(f"/api/agent-work-orders/{wid}/interrupt", json={"action": "cancel"})
    assert (await wait_done(api, wid, timeout_s=60))["status"] == "cancelled"
