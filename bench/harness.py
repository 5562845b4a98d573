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
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import yaml

from shipyard.engine.devserver import free_port

SHIPYARD = str(Path(sys.executable).parent / "shipyard")
TERMINAL = ("completed", "failed", "cancelled")


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
    pids: list[int]  # `shipyard serve` and any `shipyard worker` processes started beside it


@contextlib.asynccontextmanager
async def serve(database_url: str | None = None, *, workers: int = 0, **env: str) -> AsyncIterator[Server]:
    """A `shipyard serve` on a fresh data dir and a free port, stopped (SIGINT) at the end. With
    `workers`, the server runs no worker of its own and that many `shipyard worker` processes do
    the work (same data dir, so they find its Temporal and database)."""
    data_dir = Path(tempfile.mkdtemp(prefix="shipyard-bench-"))
    port = free_port()
    full_env = {**os.environ, "SHIPYARD_DATA_DIR": str(data_dir), "SHIPYARD_AGENT": "shell", **env}
    if database_url:
        full_env["SHIPYARD_DATABASE_URL"] = database_url
    log = (data_dir / "serve.log").open("wb")
    serve_args = [SHIPYARD, "serve", "--port", str(port), *(["--no-worker"] if workers else [])]
    procs = [subprocess.Popen(serve_args, env=full_env, stdout=log, stderr=log)]  # noqa: ASYNC220
    url = f"http://127.0.0.1:{port}"
    try:
        await _healthy(url, procs[0], data_dir)
        one = {**full_env, "SHIPYARD_WORKERS": "1"}  # each `shipyard worker` one process, as counted
        for _ in range(workers):
            procs.append(subprocess.Popen([SHIPYARD, "worker"], env=one, stdout=log, stderr=log))  # noqa: ASYNC220
        await _workers_ready(data_dir, workers)
        yield Server(url, data_dir, [proc.pid for proc in procs])
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)


async def _workers_ready(data_dir: Path, workers: int) -> None:
    for _ in range(600):
        if (data_dir / "serve.log").read_text(errors="replace").count("worker ready") >= workers:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(
        f"{workers} worker(s) not ready in 60 s: {(data_dir / 'serve.log').read_text()[-2000:]}"
    )


def _parents() -> dict[int, int]:
    """Every process's parent, by pid."""
    parents = {}
    # Not Path.glob: it stats each entry, and a process that ends meanwhile fails the whole walk.
    for name in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
            parents[int(name)] = int(fields[1])
    return parents


def tree(pids: list[int], parents: dict[int, int] | None = None) -> list[int]:
    """`pids` and all their descendants."""
    children: dict[int, list[int]] = {}
    for pid, parent in (parents or _parents()).items():
        children.setdefault(parent, []).append(pid)
    found, todo = [], list(pids)
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def tree_cpu_s(pids: list[int]) -> float:
    """CPU seconds used by `pids`, their descendants, and the children they reaped (git, commands)."""
    ticks = 0
    for pid in tree(pids):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_memory_mb(pids: list[int]) -> dict[str, float]:
    """Memory of `pids` and all their descendants (the embedded Temporal, git, commands), in MB, by
    command name: each process's proportional set size (a page that n processes share counts 1/n
    to each, so libraries and copy-on-write pages count once in the sum, where resident sizes
    counted them in every process). A child forked but not yet running a program of its own (its
    command line still its parent's) is left out: made by vfork, it shares its parent's memory
    outright, and a sample that caught one counted the server twice."""
    by_name: dict[str, float] = {}
    parents = _parents()
    for pid in tree(pids, parents):
        with contextlib.suppress(OSError, ValueError):
            proc = Path(f"/proc/{pid}")
            if pid not in pids and (proc / "cmdline").read_bytes() == _cmdline(parents.get(pid)):
                continue
            rollup = (proc / "smaps_rollup").read_text().splitlines()
            pss_kb = next(int(line.split()[1]) for line in rollup if line.startswith("Pss:"))
            name = (proc / "comm").read_text().strip()
            by_name[name] = by_name.get(name, 0.0) + pss_kb / 1024
    return by_name


def _cmdline(pid: int | None) -> bytes | None:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes() if pid else None
    return None


PG_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432"  # trust auth, as on the CI machine


@contextlib.asynccontextmanager
async def fresh_postgres(name: str) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database `name` (an old one of that name dropped first); its URL.
    Dropped again at the end, connections and all."""
    admin = await asyncpg.connect(PG_SERVER.replace("+asyncpg", "") + "/postgres")
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {name}")
        yield f"{PG_SERVER}/{name}"
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


@contextlib.asynccontextmanager
async def peak_memory(
    pids: list[int], commands: frozenset[str] = frozenset(), every_s: float = 0.25
) -> AsyncIterator[dict[str, Any]]:
    """Samples tree_memory_mb(pids) while the block runs. The dict: `peak_mb`, the highest total seen
    of Shipyard's own processes (all but the `commands` the steps ran), `peak_with_commands_mb`,
    and `at_peak_mb`, that peak by process name."""
    seen: dict[str, Any] = {"peak_mb": 0.0, "peak_with_commands_mb": 0.0, "at_peak_mb": {}}

    def look(by_name: dict[str, float]) -> None:
        own = sum(mb for name, mb in by_name.items() if name not in commands)
        if own > seen["peak_mb"]:
            seen["peak_mb"] = round(own, 1)
            seen["at_peak_mb"] = {
                name: round(mb, 1) for name, mb in sorted(by_name.items(), key=lambda i: -i[1])
            }
        seen["peak_with_commands_mb"] = max(seen["peak_with_commands_mb"], round(sum(by_name.values()), 1))

    async def sample() -> None:
        while True:
            look(await asyncio.to_thread(tree_memory_mb, pids))
            await asyncio.sleep(every_s)

    look(tree_memory_mb(pids))
    task = asyncio.create_task(sample())
    try:
        yield seen
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def wait_ended(
    http: httpx.AsyncClient, ids: list[str], timeout_s: float = 900
) -> dict[str, dict[str, Any]]:
    """Poll until every work order of `ids` has ended; their JSON by id."""
    ended: dict[str, dict[str, Any]] = {}
    async with asyncio.timeout(timeout_s):
        while len(ended) < len(ids):
            listed = (await http.get("/api/agent-work-orders", params={"limit": 500})).json()
            for wo in listed["agent_work_orders"]:
                if wo["agent_work_order_id"] in ids and wo["status"] in TERMINAL:
                    ended[wo["agent_work_order_id"]] = wo
            if len(ended) < len(ids):
                await asyncio.sleep(1.0)  # each look costs the server: keep the probe light
    return ended


async def events_of(http: httpx.AsyncClient, wo_id: str) -> list[dict[str, Any]]:
    """Every event of the work order, oldest first (the `logs` endpoint, page by page)."""
    entries: list[dict[str, Any]] = []
    while True:
        page = (
            await http.get(
                f"/api/agent-work-orders/{wo_id}/logs", params={"limit": 1000, "offset": len(entries)}
            )
        ).json()
        entries += page["log_entries"]
        if not page["has_more"]:
            return entries


def seconds_between(start: str, end: str) -> float:
    """Seconds from one of the API's ISO timestamps to another."""
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


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


def shell_step_body(repo: Path, step_id: str, script: str) -> dict[str, Any]:
    """The POST body of a work order of one `run` step (shell agent) on `repo`."""
    flow = {"name": step_id, "steps": [{"id": step_id, "run": script}]}
    return {"repository_url": str(repo), "workflow_definition": yaml.safe_dump(flow), "agent": "shell"}


async def start_shell_step(http: httpx.AsyncClient, repo: Path, step_id: str, script: str) -> str:
    """Create a work order of one `run` step (shell agent) on `repo`; its id."""
    body = shell_step_body(repo, step_id, script)
    created = (await http.post("/api/agent-work-orders", json=body)).raise_for_status()
    wo_id: str = created.json()["agent_work_order"]["agent_work_order_id"]
    return wo_id
