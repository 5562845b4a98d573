"""Cancel latency: `POST …/interrupt {action: cancel}` during a step running `sleep 600` → the work
order is `cancelled` (its process group killed and its worktree removed)."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.harness import make_repo, serve, summary


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
    flow = {"name": "nap", "steps": [{"id": "nap", "run": f"touch {marker} && sleep 600"}]}
    body = {"repository_url": str(repo), "workflow_definition": yaml.safe_dump(flow), "agent": "shell"}
    created = (await http.post("/api/agent-work-orders", json=body)).raise_for_status()
    wo_id = created.json()["agent_work_order"]["agent_work_order_id"]
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
