"""Health under bad input: `GET /api/health` one request after another while idle, then right
behind 20 requests that used to answer 500 (issue 14) sent at once, round after round. The figure
is the ratio of the two latencies.

The bad requests: a lone surrogate in a create, a NUL in a repository URL, offsets, pages and
pull-request numbers past SQLite's INTEGER, and the list of webhook deliveries holding one nested
900 deep (stored first through a signed webhook).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.harness import make_repo, serve, summary
from shipyard.triggers.github import sign

IN_FLIGHT = 20
SECRET = "bench-bad-input-secret"
HUGE = str(2**64)


Request = tuple[str, str, bytes | None]  # method, path, JSON body


def _bad_requests(repo: Path) -> list[Request]:
    """(method, path, JSON body) of each request that once answered 5xx."""
    surrogate = (
        '{"repository_url": "%s", "workflow_type": "agent_workflow_build", "inputs": {"prompt": "%s"}}'
    )
    return [
        ("POST", "/api/agent-work-orders", (surrogate % (repo, "\\ud800")).encode()),
        ("POST", "/api/agent-work-orders", b'{"repository_url": "/tmp/a\\u0000b", "workflow_type": "x"}'),
        ("GET", f"/api/agent-work-orders?offset={HUGE}", None),
        ("GET", f"/api/pull-requests/{HUGE}", None),
        ("GET", f"/?page={HUGE}", None),
        ("GET", "/api/webhooks/deliveries", None),
    ]


async def run(quick: bool) -> dict[str, Any]:
    rounds = 20 if quick else 100
    repo = make_repo()
    async with (
        serve(SHIPYARD_GITHUB_WEBHOOK_SECRET=SECRET) as server,
        httpx.AsyncClient(base_url=server.url, timeout=300) as http,
    ):
        await _store_deep_delivery(http)
        idle = await _health(http, rounds)
        loaded, statuses = await _under_bad_input(server.url, http, _bad_requests(repo), rounds)
    idle_s, loaded_s = summary(idle), summary(loaded)
    return {
        "idle": idle_s,
        "loaded": {**loaded_s, "in_flight": IN_FLIGHT, "bad_answers": dict(sorted(statuses.items()))},
        "ratio_p50": round(loaded_s["p50_ms"] / idle_s["p50_ms"], 2),
        "ratio_p99": round(loaded_s["p99_ms"] / idle_s["p99_ms"], 2),
    }


async def _under_bad_input(
    url: str, http: httpx.AsyncClient, bad: list[Request], rounds: int
) -> tuple[list[float], Counter[int]]:
    """`rounds` times: IN_FLIGHT bad requests sent at once (one per client, each on its own
    connection) and a health check right behind them; the health checks' latencies."""
    statuses, times = Counter[int](), []
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=300))
            for _ in range(IN_FLIGHT)
        ]
        await asyncio.gather(*(c.get("/api/health") for c in clients))  # connections opened
        for n in range(rounds):
            sent = [
                asyncio.create_task(_send(c, bad[(n + i) % len(bad)], statuses))
                for i, c in enumerate(clients)
            ]
            await asyncio.sleep(0)  # the bad requests go out first
            started = time.perf_counter()
            (await http.get("/api/health")).raise_for_status()
            times.append(time.perf_counter() - started)
            await asyncio.gather(*sent)
    return times, statuses


async def _store_deep_delivery(http: httpx.AsyncClient) -> None:
    body = json.dumps({"action": "opened", "nested": json.loads("[" * 900 + "]" * 900)}).encode()
    headers = {
        "X-GitHub-Event": "issues", "X-GitHub-Delivery": str(uuid.uuid4()), "X-GitHub-Hook-ID": "1",
        "X-Hub-Signature-256": sign(SECRET, body), "Content-Type": "application/json",
    }  # fmt: skip
    (await http.post("/api/webhooks/github", content=body, headers=headers)).raise_for_status()


async def _health(http: httpx.AsyncClient, count: int) -> list[float]:
    """`count` health checks one after another (after a few that warm up), in seconds each."""
    for _ in range(5):
        await http.get("/api/health")
    times = []
    for _ in range(count):
        started = time.perf_counter()
        (await http.get("/api/health")).raise_for_status()
        times.append(time.perf_counter() - started)
    return times


async def _send(http: httpx.AsyncClient, request: Request, statuses: Counter[int]) -> None:
    method, path, body = request
    try:
        resp = await http.request(method, path, content=body, headers={"content-type": "application/json"})
        statuses[resp.status_code] += 1
    except httpx.TransportError:
        statuses[0] += 1  # the server dropped the connection
