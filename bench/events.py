"""Event latency: from an event's append (its `ts`, stamped by the server as it writes the row)
to its arrival at each of N clients following the work order over SSE; then, with one client,
the step printing ever faster, to find how many events per second one work order can emit
before the p99 latency passes 250 ms."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench.harness import Server, make_repo, serve, start_shell_step, summary

RATE_PER_S = 50  # lines the step prints per second, for the client counts
RAMP_S = 4  # seconds at each rate of the ramp
LATENCY_LIMIT_MS = 250


async def run(quick: bool) -> dict[str, Any]:
    clients = [1, 100] if quick else [1, 100, 500]
    lines = 50 if quick else 300
    rates = [400, 1600] if quick else [100, 400, 1600, 3200, 6400]
    seconds_per_rate = 2 if quick else RAMP_S
    figures: dict[str, Any] = {"lines_per_work_order": lines, "rate_per_s": RATE_PER_S}
    async with serve() as server:
        repo = make_repo()
        for n in clients:
            figures[f"clients_{n}"] = await _latency(server, repo, n, lines, RATE_PER_S)
        ramp: dict[str, Any] = {}
        for rate in rates:
            # under the 10,000 lines a step keeps live (SHIPYARD_MAX_LOG_LINES_PER_STEP)
            ramp[f"rate_{rate}"] = await _latency(server, repo, 1, min(rate * seconds_per_rate, 8000), rate)
        within = [rate for rate in rates if ramp[f"rate_{rate}"].get("p99_ms", 1e9) < LATENCY_LIMIT_MS]
        ramp[f"highest_rate_with_p99_under_{LATENCY_LIMIT_MS}_ms"] = max(within, default=0)
        figures["one_client_ramp"] = ramp
    return figures


async def _latency(server: Server, repo: Path, clients: int, lines: int, rate: int) -> dict[str, Any]:
    go = Path(tempfile.mkdtemp(prefix="shipyard-bench-go-")) / "go"
    # Python paces the lines (a `sleep` process per line cannot keep up with fast rates).
    printer = (
        "import sys, time\n"
        f"start = time.monotonic()\nfor i in range({lines}):\n"
        f"    time.sleep(max(0.0, start + i / {rate} - time.monotonic()))\n"
        "    print(f'line-{i}', flush=True)\n"
    )
    script = f'while [ ! -e {go} ]; do sleep 0.02; done; python3 -c "{printer}"'
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(base_url=server.url, timeout=None, limits=limits) as http:
        wo_id = await start_shell_step(http, repo, "emit", script)
        connected = [asyncio.Event() for _ in range(clients)]
        readers = [asyncio.create_task(_read(http, wo_id, ready)) for ready in connected]
        await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in connected)), 120)
        go.touch()  # every client is live before the first line is printed
        per_client = await asyncio.wait_for(asyncio.gather(*readers), 600)
    samples = [s for got in per_client for s in got]
    missing = clients * lines - len(samples)
    return {**summary(samples), "missing": missing}


async def _read(http: httpx.AsyncClient, wo_id: str, ready: asyncio.Event) -> list[float]:
    """Latencies of the step's output lines as this client receives them."""
    latencies: list[float] = []
    async with http.stream("GET", f"/api/agent-work-orders/{wo_id}/events") as resp:
        async for line in resp.aiter_lines():
            if not line.startswith("data: "):
                continue
            arrived = time.time()
            ready.set()
            event = json.loads(line[6:])
            if event["type"] == "log" and event["step_id"] == "emit":
                latencies.append(arrived - datetime.fromisoformat(event["ts"]).timestamp())
    return latencies
