"""API reads: `GET /api/agent-work-orders/{id}` and the list (`GET /api/agent-work-orders`: its
default page, a page filtered by status and repository, a search) with 10,000 work orders and
1,000,000 events in the store (quick: 1,000 and 100,000), on SQLite and on PostgreSQL.

The rows are bulk-inserted with SQLAlchemy Core into a database the project's migrations made, then
a `shipyard serve` on that database answers one client (sequential requests: the cost of one) and
50 clients at once (each on its own keep-alive connection, a fixed number of requests back to
back). The clients run on the same machine as the server and take CPU from it: `client_cpu_pct`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import ssl
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.harness import fresh_postgres, serve, summary
from shipyard.domain.models import SandboxHandle
from shipyard.store import Store
from shipyard.store.tables import Base, utc_now
from shipyard.workflows.loader import builtin_names, load_builtin

CLIENTS = 50
PREFIX = "/api/agent-work-orders"
BATCH_ROWS = 10_000
REPOSITORIES = [f"https://github.com/bench/service-{n:02d}" for n in range(20)]
STATUSES = {"completed": 70, "failed": 20, "cancelled": 10}  # ended, so no worker picks one up
LINE = "collecting tests ... 128 passed, 3 skipped in 4.21s (src/shipyard/store/store.py)"

# A path and its query parameters, drawn for one request.
Endpoint = Callable[[random.Random], tuple[str, dict[str, str | int]]]


@dataclass(frozen=True)
class Sizes:
    work_orders: int
    events: int
    sequential: int  # requests per endpoint from the one client
    per_client: int  # requests per endpoint from each of the CLIENTS


async def run(quick: bool) -> dict[str, Any]:
    sizes = Sizes(1_000, 100_000, 15, 4) if quick else Sizes(10_000, 1_000_000, 100, 20)
    figures: dict[str, Any] = {"work_orders": sizes.work_orders, "events": sizes.events, "clients": CLIENTS}
    data_dir = Path(tempfile.mkdtemp(prefix="shipyard-bench-api-"))
    try:
        figures |= await _measure("sqlite", f"sqlite+aiosqlite:///{data_dir / 'shipyard.db'}", sizes)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    async with fresh_postgres("shipyard_bench_api") as url:
        figures |= await _measure("postgresql", url, sizes)
    return figures


async def _admin(engine: AsyncEngine, *statements: str) -> None:
    async with engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))


async def _measure(name: str, url: str, sizes: Sizes) -> dict[str, Any]:
    """Seed the database at `url`, serve it, and time each endpoint with 1 and CLIENTS clients."""
    rng = random.Random(1)
    started = time.monotonic()
    ids, most_events = await _seed(url, sizes, rng)
    seeded = {"seconds": round(time.monotonic() - started, 1), "max_events_per_work_order": most_events}
    figures: dict[str, Any] = {f"{name}_seed": seeded}
    async with serve(database_url=url) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            await _check(http, ids, sizes.work_orders)
        for endpoint, draw in _endpoints(ids).items():
            figures[f"{name}_{endpoint}_1_client"] = await _alone(server.url, draw, sizes.sequential)
            figures[f"{name}_{endpoint}_{CLIENTS}_clients"] = await _crowd(server.url, draw, sizes.per_client)
    return figures


def _endpoints(ids: list[str]) -> dict[str, Endpoint]:
    """What each case asks for; `list_filtered` is a page of 20, one of its first five."""
    return {
        "get": lambda rng: (f"{PREFIX}/{rng.choice(ids)}", {}),
        "list": lambda rng: (PREFIX, {}),
        "list_filtered": _filtered_page,
        "list_search": lambda rng: (PREFIX, {"q": f"issue-{rng.randrange(100, 1000)}"}),
    }


def _filtered_page(rng: random.Random) -> tuple[str, dict[str, str | int]]:
    status, repository = rng.choice(list(STATUSES)), rng.choice(REPOSITORIES)
    return PREFIX, {"status": status, "repository": repository, "limit": 20, "offset": 20 * rng.randrange(5)}


async def _check(http: httpx.AsyncClient, ids: list[str], work_orders: int) -> None:
    """Fail early unless the server reads the seeded rows back as they were meant."""
    got = (await http.get(f"{PREFIX}/{ids[0]}")).raise_for_status().json()["agent_work_order"]
    if got["agent_work_order_id"] != ids[0] or got["status"] not in STATUSES or not got["sandbox_identifier"]:
        raise RuntimeError(f"a seeded work order reads back wrong: {got}")
    listed = (await http.get(PREFIX)).raise_for_status().json()
    if listed["total_count"] != work_orders or len(listed["agent_work_orders"]) != 50:
        raise RuntimeError(f"the list holds {listed['total_count']} work orders, not {work_orders}")


async def _alone(url: str, draw: Endpoint, count: int) -> dict[str, Any]:
    """`count` requests one after the other, after a few that warm the server's caches."""
    rng = random.Random(0)
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        for _ in range(5):
            await _timed(http, draw(rng))
        samples = [await _timed(http, draw(rng)) for _ in range(count)]
    return _figures(samples, sum(t for t, _ in samples))


async def _crowd(url: str, draw: Endpoint, per_client: int) -> dict[str, Any]:
    """CLIENTS clients at once, each on a connection of its own (a shared httpx pool costs the
    client several times the CPU), each making `per_client` requests back to back."""

    async def one_client(http: httpx.AsyncClient, seed: int) -> list[tuple[float, int]]:
        rng = random.Random(seed)
        return [await _timed(http, draw(rng)) for _ in range(per_client)]

    tls = ssl.create_default_context()  # unused on plain HTTP, but each client would load its own
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=60, verify=tls))
            for _ in range(CLIENTS)
        ]
        started, cpu_started = time.perf_counter(), time.process_time()
        results = await asyncio.gather(*(one_client(http, seed) for seed, http in enumerate(clients, 1)))
        elapsed = time.perf_counter() - started
        cpu_pct = round(100 * (time.process_time() - cpu_started) / elapsed)
    # The clients' own share of a core: what they take from a server on the same machine.
    return {**_figures([sample for got in results for sample in got], elapsed), "client_cpu_pct": cpu_pct}


async def _timed(http: httpx.AsyncClient, request: tuple[str, dict[str, str | int]]) -> tuple[float, int]:
    """How long the response took to arrive whole, and its status (0: the connection failed)."""
    path, params = request
    started = time.perf_counter()
    try:
        resp = await http.get(path, params=params)
    except httpx.TransportError:
        return time.perf_counter() - started, 0
    return time.perf_counter() - started, resp.status_code


def _figures(samples: list[tuple[float, int]], elapsed_s: float) -> dict[str, Any]:
    return {
        **summary([t for t, _ in samples]),
        "requests_per_s": round(len(samples) / elapsed_s, 1),
        "not_200": sum(1 for _, status in samples if status != 200),
    }


# -- seeding ----------------------------------------------------------------------------------


async def _seed(url: str, sizes: Sizes, rng: random.Random) -> tuple[list[str], int]:
    """Migrate the database at `url` and fill it; the work orders' ids and the most events one has."""
    store = await Store.open(url)
    try:
        orders = _work_orders(sizes.work_orders, rng)
        await _insert(store.engine, "work_order", _batches(iter(orders)))
        counts = _event_counts(sizes.work_orders, sizes.events, rng)
        await _insert(store.engine, "event", _batches(_events(orders, counts)))
        if store.engine.dialect.name == "postgresql":
            # Autovacuum would have analysed tables this size by the time anyone reads them.
            await _admin(store.engine, "ANALYZE work_order", "ANALYZE event")
    finally:
        await store.close()
    return [order["id"] for order in orders], max(counts)


async def _insert(engine: AsyncEngine, table: str, batches: Iterator[list[dict[str, Any]]]) -> None:
    statement = insert(Base.metadata.tables[table])
    for batch in batches:
        async with engine.begin() as conn:
            await conn.execute(statement, batch)


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    while batch := [row for _, row in zip(range(BATCH_ROWS), rows, strict=False)]:
        yield batch


def _work_orders(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """`count` ended work orders, one every few minutes over the last weeks, oldest first."""
    definitions = {name: load_builtin(name).model_dump(mode="json") for name in builtin_names()}
    ids = [f"wo-{n:08x}" for n in rng.sample(range(16**8), count)]
    first = utc_now() - timedelta(minutes=5 * count)
    times = [first + timedelta(minutes=5 * n) for n in range(count)]
    return [_work_order(wo_id, at, rng, definitions) for wo_id, at in zip(ids, times, strict=True)]


def _work_order(
    wo_id: str, created_at: datetime, rng: random.Random, definitions: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """One work order's columns, as the engine leaves them when it ends (every column given, as
    an executemany needs)."""
    workflow = rng.choice(list(definitions))
    status = rng.choices(list(STATUSES), weights=list(STATUSES.values()))[0]
    repository = rng.choice(REPOSITORIES)
    branch = f"wo/{wo_id}-fix-issue-{rng.randrange(100, 1000)}"
    ended_at = created_at + timedelta(seconds=rng.randrange(60, 1800))
    sandbox = SandboxHandle(
        sandbox_type="git_worktree", work_order_id=wo_id, repository_url=repository,
        path=f"/var/lib/shipyard/sandboxes/{wo_id}", branch=branch, base_branch="main", base_sha="a" * 40,
    )  # fmt: skip
    commits = rng.randrange(0, 6)
    return {
        "id": wo_id, "repository_url": repository, "workflow_type": workflow, "sandbox_type": "git_worktree",
        "agent": "claude", "status": status, "current_phase": "build", "git_branch_name": branch,
        "base_branch": "main", "agent_session_id": f"session-{wo_id}", "github_issue_number": None,
        "inputs": {"prompt": f"Fix issue {branch[-3:]}: the importer drops rows with empty dates."},
        "error_message": "step 'test' failed: exit code 1" if status == "failed" else None,
        "parent_id": None, "sandbox": sandbox.model_dump(mode="json"), "definition": definitions[workflow],
        "budget": None, "created_at": created_at, "updated_at": ended_at,
        "execution_started_at": created_at + timedelta(seconds=2), "execution_completed_at": ended_at,
        "git_commit_count": commits, "git_files_changed": 3 * commits, "git_lines_added": 40 * commits,
        "git_lines_removed": 9 * commits, "latest_commit_sha": "b" * 40 if commits else None,
        "latest_commit_message": "fix: keep rows with empty dates" if commits else None,
        "github_pull_request_url": None, "github_comment_id": None, "usage_turns": 12,
        "usage_input_tokens": 48_000, "usage_output_tokens": 3_500, "usage_cost_usd": 0.21,
        "project_id": None, "forge": "local", "trigger": {"source": "api"},
    }  # fmt: skip


def _event_counts(work_orders: int, events: int, rng: random.Random) -> list[int]:
    """Events per work order, `events` in all: Pareto-distributed, so most have a few dozen and a few
    have thousands."""
    weights = [rng.paretovariate(1.5) for _ in range(work_orders)]
    total = sum(weights)
    counts = [int(events * weight / total) for weight in weights]
    for n in rng.sample(range(work_orders), events - sum(counts)):
        counts[n] += 1
    return counts


def _events(orders: list[dict[str, Any]], counts: list[int]) -> Iterator[dict[str, Any]]:
    """Each work order's events in turn, so ids increase with time within each work order."""
    for order, count in zip(orders, counts, strict=True):
        started: datetime = order["execution_started_at"]
        for n in range(count):
            first, last = n == 0, n == count - 1
            yield {
                "work_order_id": order["id"],
                "step_id": None if first or last else "build",
                "type": "workflow.started" if first else f"workflow.{order['status']}" if last else "log",
                "level": "info",
                "ts": started + timedelta(milliseconds=20 * n),
                "data": {} if first or last else {"stream": "stdout", "line": f"{LINE} #{n}"},
            }
