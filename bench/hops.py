"""What one work order costs in hops, counted rather than timed: git processes, Temporal requests
and database transactions per one-step work order (a `true` step, git_worktree, shell agent).

N work orders are posted at once to a `shipyard serve` on a fresh PostgreSQL database, and each
figure is read before and after from the thing itself:
- git processes: every `git` the server runs goes through a counting wrapper first on its PATH;
- Temporal requests: the embedded dev server's own metrics (`service_requests` of its frontend,
  namespace `default`): starts, polls, completions, heartbeats, by operation;
- transactions: PostgreSQL's `pg_stat_database` for the database, committed and rolled back
  (reads included: a read in a transaction of its own rolled back, now one committed by itself);
  the bench watches for the end on Temporal's metrics, so it
  adds none.
The server's background work during the run (reconciler, health) is counted too; it is small
beside N work orders.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import stat
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.harness import PG_SERVER, fresh_postgres, make_repo, serve, shell_step_body, tree

_REQUESTS = re.compile(
    r'^service_requests\{namespace="default",operation="([^"]+)",service_name="frontend"\} (\d+)'
)
_ENDED = re.compile(r'^workflow_schedule_to_close_latency_count\{.*workflowType="WorkOrder".*\} (\d+)')


async def run(quick: bool) -> dict[str, Any]:
    n = 10 if quick else 30
    counter = Path(tempfile.mkdtemp(prefix="shipyard-bench-git-"))
    _git_wrapper(counter)
    try:
        async with fresh_postgres("shipyard_bench_hops") as url:
            return await _count(url, n, counter)
    finally:
        shutil.rmtree(counter, ignore_errors=True)


async def _count(url: str, n: int, counter: Path) -> dict[str, Any]:
    path = f"{counter}:{os.environ.get('PATH', '')}"
    body = shell_step_body(make_repo(), "t", "true")
    database = url.rsplit("/", 1)[1]
    async with (
        serve(url, PATH=path, SHIPYARD_GIT_COUNT=str(counter / "calls")) as server,
        httpx.AsyncClient(base_url=server.url, timeout=120) as http,
    ):
        metrics = _metrics_url(server.pids)
        # The mirror's first clone and the first workflow's start-up stay out of the figures.
        await http.post("/api/agent-work-orders", json=body)
        await _ended(metrics, 1)
        git_before, (temporal_before, ended) = _git_calls(counter), await _temporal(metrics)
        commits_before = await _commits(database)
        created = await asyncio.gather(*(http.post("/api/agent-work-orders", json=body) for _ in range(n)))
        for resp in created:
            resp.raise_for_status()
        await _ended(metrics, ended + n)  # watched on Temporal's metrics, so the bench adds no transactions
        await asyncio.sleep(1.5)  # PostgreSQL publishes its counters at most once a second
        commits = await _commits(database) - commits_before
        git_calls = _git_calls(counter) - git_before
        temporal = (await _temporal(metrics))[0] - temporal_before
    return {
        "work_orders": n,
        "git_processes_per_work_order": round(git_calls / n, 1),
        "temporal_requests_per_work_order": round(sum(temporal.values()) / n, 1),
        "temporal_requests_by_operation": {op: round(c / n, 1) for op, c in sorted(temporal.items()) if c},
        "transactions_per_work_order": round(commits / n, 1),
    }


def _git_wrapper(directory: Path) -> None:
    """A `git` in `directory` that notes each call, then runs the real one."""
    real = shutil.which("git")
    script = directory / "git"
    script.write_text(f'#!/bin/sh\necho >> "$SHIPYARD_GIT_COUNT"\nexec {real} "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def _git_calls(directory: Path) -> int:
    with contextlib.suppress(FileNotFoundError):
        return (directory / "calls").read_text().count("\n")
    return 0


async def _ended(metrics: str, count: int) -> None:
    """Until `count` WorkOrder workflows have ended on the dev server."""
    for _ in range(1200):
        if (await _temporal(metrics))[1] >= count:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{count} work orders did not end in 120 s")


def _metrics_url(pids: list[int]) -> str:
    """The embedded Temporal dev server's /metrics, from its command line."""
    for pid in tree(pids):
        with contextlib.suppress(OSError):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
            if "start-dev" in argv and "--metrics-port" in argv:
                return f"http://127.0.0.1:{argv[argv.index('--metrics-port') + 1]}/metrics"
    raise RuntimeError("no embedded Temporal dev server with a metrics port among the server's processes")


async def _temporal(metrics: str) -> tuple[Counter[str], int]:
    """The dev server's requests so far by operation, and how many WorkOrder workflows ended."""
    async with httpx.AsyncClient() as http:
        text = (await http.get(metrics)).text
    requests, ended = Counter[str](), 0
    for line in text.splitlines():
        if match := _REQUESTS.match(line):
            requests[match[1]] += int(match[2])
        elif match := _ENDED.match(line):
            ended += int(match[1])
    return requests, ended


async def _commits(database: str) -> int:
    """Transactions ended in `database` so far, committed or rolled back (asked from another
    database: not one of them)."""
    conn = await asyncpg.connect(PG_SERVER.replace("+asyncpg", "") + "/postgres")
    try:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        return int(
            await conn.fetchval(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1", database
            )
        )
    finally:
        await conn.close()
