"""Many work orders at once: N posted together, each one `sleep 5` step (git_worktree, shell agent).

Per round: the makespan (first creation to last completion, server clocks), the queue wait of each
work order (creation to its step starting), how many did not complete, and the peak resident
memory of the Shipyard processes (server, workers, embedded Temporal, git; beside it, with the
steps' `sleep` commands, and the peak by process name). Rounds run on
SQLite (the embedded default) and PostgreSQL, with the server's own worker or two `shipyard
worker` processes. A worker runs SHIPYARD_WORKER_SLOTS activities at once (default 8): the rounds
give the workers slots for all N, so they measure Shipyard, not the slot limit; one round keeps
the default to show that limit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

from bench.harness import (
    fresh_postgres,
    make_repo,
    peak_memory,
    seconds_between,
    serve,
    shell_step_body,
    summary,
    tree_cpu_s,
    wait_ended,
)

SLEEP_S = 5


async def run(quick: bool) -> dict[str, Any]:
    rounds: list[tuple[str, str, int, int, int | None]] = (
        [("sqlite_50", "sqlite", 50, 0, None)]
        if quick
        else [
            ("sqlite_100", "sqlite", 100, 0, None),
            ("sqlite_300", "sqlite", 300, 0, None),
            ("postgres_100", "postgres", 100, 0, None),
            ("postgres_300", "postgres", 300, 0, None),
            ("sqlite_300_two_workers", "sqlite", 300, 2, None),
            ("postgres_300_two_workers", "postgres", 300, 2, None),
            ("sqlite_100_default_8_slots", "sqlite", 100, 0, 8),
        ]
    )
    figures: dict[str, Any] = {"sleep_s": SLEEP_S}
    for name, database, n, workers, slots in rounds:
        async with _database(database) as url:
            per_worker = slots or -(-n // max(workers, 1))
            figures[name] = await _round(url, n, workers, per_worker)
    return figures


@contextlib.asynccontextmanager
async def _database(kind: str) -> AsyncIterator[str | None]:
    """None for the server's own SQLite file; else a fresh PostgreSQL database, dropped after."""
    if kind == "sqlite":
        yield None
        return
    async with fresh_postgres("shipyard_bench_concurrency") as url:
        yield url


async def _round(database_url: str | None, n: int, workers: int, slots: int) -> dict[str, Any]:
    body = shell_step_body(make_repo(), "nap", f"sleep {SLEEP_S}")
    limits = httpx.Limits(max_connections=50)
    async with (
        serve(database_url, workers=workers, SHIPYARD_WORKER_SLOTS=str(slots)) as server,
        httpx.AsyncClient(base_url=server.url, timeout=300, limits=limits) as http,
        peak_memory(server.pids, commands=frozenset({"sleep"})) as memory,
    ):
        cpu_before = tree_cpu_s(server.pids)
        responses = await asyncio.gather(*(http.post("/api/agent-work-orders", json=body) for _ in range(n)))
        created = [resp.raise_for_status().json()["agent_work_order"] for resp in responses]
        ids = [wo["agent_work_order_id"] for wo in created]
        ended = await wait_ended(http, ids, timeout_s=1200)
        cpu_ms = (tree_cpu_s(server.pids) - cpu_before) * 1000 / n
        waits = []
        for wo_id in ids:
            step = (await http.get(f"/api/agent-work-orders/{wo_id}/steps")).json()["steps"]
            if step and step[0]["started_at"]:
                waits.append(seconds_between(ended[wo_id]["created_at"], step[0]["started_at"]))
    first = min(wo["created_at"] for wo in ended.values())
    last = max(wo["execution_completed_at"] or wo["updated_at"] for wo in ended.values())
    return {
        "work_orders": n,
        "workers": workers or 1,
        "slots_per_worker": slots,
        "makespan_s": round(seconds_between(first, last), 1),
        "queue_wait": summary(waits),
        "failed": sum(wo["status"] != "completed" for wo in ended.values()),
        "peak_memory_mb": memory["peak_mb"],  # Shipyard's processes, not the steps' `sleep`s
        "peak_memory_with_commands_mb": memory["peak_with_commands_mb"],
        "memory_at_peak_mb": memory["at_peak_mb"],
        # every Shipyard process (API, workers, Temporal) and what they ran, `sleep` included (~1 ms)
        "cpu_ms_per_work_order": round(cpu_ms, 1),
    }
