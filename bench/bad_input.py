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
import functools
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.harness import make_repo, serve, summary, tree_cpu_s
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
        address = urlsplit(server.url)
        async with contextlib.AsyncExitStack() as stack:
            connect = functools.partial(RawConnection.open, str(address.hostname), int(address.port or 80))
            health = await stack.enter_async_context(connect())
            clients = [await stack.enter_async_context(connect()) for _ in range(IN_FLIGHT)]
            cpu_s = [tree_cpu_s(server.pids)]
            idle = await _health(health, rounds)
            cpu_s.append(tree_cpu_s(server.pids))
            loaded, statuses = await _under_bad_input(health, clients, _bad_requests(repo), rounds)
            cpu_s.append(tree_cpu_s(server.pids))
    idle_s, loaded_s = summary(idle), summary(loaded)
    # The server's CPU (its processes and the embedded Temporal) per request: what a health check
    # waits for is the CPU of the requests ahead of it.
    cpu_per_health_ms = 1000 * (cpu_s[1] - cpu_s[0]) / (rounds + 5)  # with the 5 that warm up
    cpu_per_bad_ms = (1000 * (cpu_s[2] - cpu_s[1]) - rounds * cpu_per_health_ms) / (rounds * IN_FLIGHT)
    loaded_figures = {**loaded_s, "in_flight": IN_FLIGHT, "bad_answers": dict(sorted(statuses.items()))}
    return {
        "idle": {**idle_s, "server_cpu_per_request_ms": round(cpu_per_health_ms, 2)},
        "loaded": {**loaded_figures, "server_cpu_per_bad_request_ms": round(cpu_per_bad_ms, 2)},
        "ratio_p50": round(loaded_s["p50_ms"] / idle_s["p50_ms"], 2),
        "ratio_p99": round(loaded_s["p99_ms"] / idle_s["p99_ms"], 2),
    }


class RawConnection:
    """One keep-alive HTTP/1.1 connection that writes prepared requests and reads answers with a
    Content-Length: next to nothing of the load generator's own CPU (an httpx request costs about
    as much as the server's answer) ends up in the figures."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, host: str, port: int) -> AsyncIterator[RawConnection]:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            yield cls(reader, writer, f"{host}:{port}")
        finally:
            writer.close()

    def send(self, method: str, path: str, body: bytes | None = None) -> None:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + (body or b""))

    async def answer(self) -> int:
        """The next answer's status (its body read and dropped)."""
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
        await self.reader.readexactly(int(headers["content-length"]))
        return int(lines[0].split()[1])

    async def request(self, method: str, path: str, body: bytes | None = None) -> int:
        self.send(method, path, body)
        return await self.answer()


async def _under_bad_input(
    health: RawConnection, clients: list[RawConnection], bad: list[Request], rounds: int
) -> tuple[list[float], Counter[int]]:
    """`rounds` times: IN_FLIGHT bad requests written at once (each on its own connection) and a
    health check right behind them; the health checks' latencies."""
    statuses, times = Counter[int](), []
    for n in range(rounds):
        for i, client in enumerate(clients):
            client.send(*bad[(n + i) % len(bad)])
        started = time.perf_counter()
        assert await health.request("GET", "/api/health") == 200
        times.append(time.perf_counter() - started)
        for status in await asyncio.gather(*(client.answer() for client in clients)):
            statuses[status] += 1
    return times, statuses


async def _store_deep_delivery(http: httpx.AsyncClient) -> None:
    body = json.dumps({"action": "opened", "nested": json.loads("[" * 900 + "]" * 900)}).encode()
    headers = {
        "X-GitHub-Event": "issues", "X-GitHub-Delivery": str(uuid.uuid4()), "X-GitHub-Hook-ID": "1",
        "X-Hub-Signature-256": sign(SECRET, body), "Content-Type": "application/json",
    }  # fmt: skip
    (await http.post("/api/webhooks/github", content=body, headers=headers)).raise_for_status()


async def _health(health: RawConnection, count: int) -> list[float]:
    """`count` health checks one after another (after a few that warm up), in seconds each."""
    for _ in range(5):
        await health.request("GET", "/api/health")
    times = []
    for _ in range(count):
        started = time.perf_counter()
        assert await health.request("GET", "/api/health") == 200
        times.append(time.perf_counter() - started)
    return times
