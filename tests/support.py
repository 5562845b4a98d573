"""Helpers shared by tests (importable as `support`; fixtures stay in conftest.py)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

MakeRepo = Callable[..., Path]
TERMINAL = {"completed", "failed", "cancelled"}


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd` and return its stdout (fails the test on error)."""
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


async def wait_done(api: httpx.AsyncClient, work_order_id: str, timeout_s: float = 120) -> dict[str, Any]:
    """Poll the API until the work order ends; return its JSON."""
    async with asyncio.timeout(timeout_s):
        while True:
            resp = await api.get(f"/api/agent-work-orders/{work_order_id}")
            wo: dict[str, Any] = resp.json()["agent_work_order"]
            if wo["status"] in TERMINAL:
                return wo
            await asyncio.sleep(0.2)
