"""What every benchmark needs: a `shipyard serve` of its own, statistics, the machine's description."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from shipyard.engine.devserver import free_port

SHIPYARD = str(Path(sys.executable).parent / "shipyard")


def summary(samples_s: list[float]) -> dict[str, Any]:
    """p50 / p99 / max in milliseconds, and the count."""
    if not samples_s:
        return {"count": 0}
    ordered = sorted(samples_s)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 2)

    return {
        "count": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": pct(0.99),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "src", "bench"], capture_output=True, text=True
    )
    return done.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


@dataclass
class Server:
    url: str
    data_dir: Path


@contextlib.asynccontextmanager
async def serve(database_url: str | None = None, **env: str) -> AsyncIterator[Server]:
    """A `shipyard serve` on a fresh data dir and a free port, stopped (SIGINT) at the end."""
    data_dir = Path(tempfile.mkdtemp(prefix="shipyard-bench-"))
    port = free_port()
    full_env = {**os.environ, "SHIPYARD_DATA_DIR": str(data_dir), "SHIPYARD_AGENT": "shell", **env}
    if database_url:
        full_env["SHIPYARD_DATABASE_URL"] = database_url
    log = (data_dir / "serve.log").open("wb")
    proc = subprocess.Popen(  # noqa: ASYNC220 - a long-lived server, started once
        [SHIPYARD, "serve", "--port", str(port)], env=full_env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await _healthy(url, proc, data_dir)
        yield Server(url, data_dir)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)


async def _healthy(url: str, proc: subprocess.Popen[bytes], data_dir: Path) -> None:
    async with httpx.AsyncClient(base_url=url) as client:
        for _ in range(1200):
            if proc.poll() is not None:
                raise RuntimeError(f"shipyard serve exited: {(data_dir / 'serve.log').read_text()[-2000:]}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/api/health")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError("shipyard serve did not become healthy in 120 s")


def make_repo() -> Path:
    """A one-commit git repository in a temp dir."""
    path = Path(tempfile.mkdtemp(prefix="shipyard-bench-repo-"))
    for args in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "initial"]):
        subprocess.run(
            ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", *args], cwd=path, check=True
        )
    return path


async def start_shell_step(http: httpx.AsyncClient, repo: Path, step_id: str, script: str) -> str:
    """Create a work order of one `run` step (shell agent) on `repo`; its id."""
    flow = {"name": step_id, "steps": [{"id": step_id, "run": script}]}
    body = {"repository_url": str(repo), "workflow_definition": yaml.safe_dump(flow), "agent": "shell"}
    created = (await http.post("/api/agent-work-orders", json=body)).raise_for_status()
    wo_id: str = created.json()["agent_work_order"]["agent_work_order_id"]
    return wo_id
