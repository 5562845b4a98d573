"""What Shipyard adds on top of the work itself, on a warm server (git_worktree, shell agent).

- overhead: one work order at a time of a single `run` step. From the client's POST to the step's
  command starting in the sandbox (the command prints its own start time), and to the client
  seeing `completed` on the event stream. Beside it, the floor: `git worktree add` from a mirror
  plus spawning the command, done directly; and the ratio.
- parallel_start: 1, 8 and 32 work orders posted at once on the same repository (3 or 5 rounds
  of each); per work order,
  from its creation to its `sandbox.ready` event (both stamped by the server). Setups that
  overlap keep the 8 and 32 medians near the single one; setups that queue make a staircase.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.harness import (
    TERMINAL,
    events_of,
    make_repo,
    seconds_between,
    serve,
    shell_step_body,
    summary,
    wait_ended,
)

STAMP = "date +%s.%N"  # as cheap as `true`, and says when it ran
TERMINAL_EVENTS = tuple(f"workflow.{status}" for status in TERMINAL)


async def run(quick: bool) -> dict[str, Any]:
    samples = 10 if quick else 30
    sizes = [1, 8] if quick else [1, 8, 32]
    figures: dict[str, Any] = {}
    async with serve() as server, httpx.AsyncClient(base_url=server.url, timeout=120) as http:
        repo = make_repo()
        await _one(http, repo)  # warm: the mirror exists, the worker has run a workflow
        started: list[float] = []
        completed: list[float] = []
        for _ in range(samples):
            to_start, to_end = await _one(http, repo)
            started.append(to_start)
            completed.append(to_end)
        floor = await asyncio.to_thread(_floor, repo, samples)
        figures["overhead"] = {
            "to_first_command": summary(started),
            "to_completed": summary(completed),
            "floor_worktree_add_and_spawn": summary(floor),
            "ratio_completed_to_floor_p50": round(statistics.median(completed) / statistics.median(floor), 1),
            "ratio_first_command_to_floor_p50": round(
                statistics.median(started) / statistics.median(floor), 1
            ),
        }
        parallel: dict[str, Any] = {}
        rounds = 3 if quick else 5  # one round is too few: a shared machine's noise swamps it
        for n in sizes:
            parallel[f"n_{n}"] = summary([s for _ in range(rounds) for s in await _parallel(http, repo, n)])
        one = parallel["n_1"]["p50_ms"]
        for n in sizes[1:]:
            parallel[f"ratio_{n}_to_1_p50"] = round(parallel[f"n_{n}"]["p50_ms"] / one, 2)
        figures["parallel_start"] = parallel
    return figures


async def _one(http: httpx.AsyncClient, repo: Path) -> tuple[float, float]:
    """(seconds to the command's start, seconds to `completed` on the stream), from the POST."""
    posted = time.time()
    created = (
        await http.post("/api/agent-work-orders", json=shell_step_body(repo, "stamp", STAMP))
    ).raise_for_status()
    wo_id = created.json()["agent_work_order"]["agent_work_order_id"]
    outcome, ended = "", 0.0
    async with http.stream("GET", f"/api/agent-work-orders/{wo_id}/events") as resp:
        async for line in resp.aiter_lines():
            if line.removeprefix("event: ") in TERMINAL_EVENTS:
                outcome, ended = line.removeprefix("event: "), time.time()
                break
    if outcome != "workflow.completed":
        raise RuntimeError(f"work order {wo_id} did not complete: {outcome or 'its stream ended'}")
    steps = (await http.get(f"/api/agent-work-orders/{wo_id}/steps")).json()["steps"]
    return float(steps[0]["output"]) - posted, ended - posted


def _floor(repo: Path, samples: int) -> list[float]:
    """`git worktree add` on a new branch of a bare mirror, then the command, by hand."""
    root = Path(tempfile.mkdtemp(prefix="shipyard-bench-floor-"))
    mirror = root / "mirror.git"
    subprocess.run(["git", "clone", "--quiet", "--mirror", str(repo), str(mirror)], check=True)
    times = []
    for n in range(samples):
        tree = root / f"wt{n}"
        began = time.monotonic()
        subprocess.run(
            ["git", "-C", str(mirror), "worktree", "add", "--quiet", "-b", f"b{n}", str(tree), "main"],
            check=True,
        )
        subprocess.run(["bash", "-c", STAMP], cwd=tree, check=True, capture_output=True)
        times.append(time.monotonic() - began)
    shutil.rmtree(root, ignore_errors=True)
    return times


async def _parallel(http: httpx.AsyncClient, repo: Path, n: int) -> list[float]:
    """Seconds from creation to `sandbox.ready` of each of `n` work orders posted at once."""
    posts = [
        http.post("/api/agent-work-orders", json=shell_step_body(repo, f"p{n}", "true")) for _ in range(n)
    ]
    created = [resp.raise_for_status().json()["agent_work_order"] for resp in await asyncio.gather(*posts)]
    ids = [wo["agent_work_order_id"] for wo in created]
    ended = await wait_ended(http, ids)
    failed = [wo_id for wo_id, wo in ended.items() if wo["status"] != "completed"]
    if failed:
        raise RuntimeError(f"{len(failed)} of {n} parallel work orders did not complete: {failed[:3]}")
    waits = []
    for wo in created:
        ready = next(
            e for e in await events_of(http, wo["agent_work_order_id"]) if e["event"] == "sandbox.ready"
        )
        waits.append(seconds_between(wo["created_at"], ready["timestamp"]))
    return waits
