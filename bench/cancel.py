"""Cancel latency: `POST …/interrupt {action: cancel}` during a step running `sleep 600` → the work
order is `cancelled` (its process group killed and its worktree removed)."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.harness import make_repo, serve, start_shell_step, summary


async def run(quick: bool) -> dict[str, Any]:
    rounds = 3 if quick else 10
    samples: list[float] = []
    async with serve() as server, httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        repo = make_repo()
        for _ in range(rounds):
            samples.append(await _cancel_once(http, repo))
    return {"cancel_to_cancelled": summary(samples)}


async def _cancel_once(http: httpx.AsyncClient, repo: Path) -> float:
    marker = Path(tempfile.mkdtemp(prefix="shipyard-bench-")) / "started"
    wo_id = await start_shell_step(http, repo, "nap", f"touch {marker} && sleep 600")
    while not marker.exists():
        await asyncio.sleep(0.05)
    asked = time.monotonic()
    cancel = {"action": "cancel"}
    (await http.post(f"/api/agent-work-orders/{wo_id}/interrupt", json=cancel)).raise_for_status()
    while True:
        wo = (await http.get(f"/api/agent-work-orders/{wo_id}")).json()["agent_work_order"]
        if wo["status"] == "cancelled":
            return time.monotonic() - asked
        await asyncio.sleep(0.02)
