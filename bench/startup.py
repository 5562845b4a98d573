"""How fast the CLI starts, each call a fresh process, the cases taking turns so noise hits all alike.

- help: `shipyard --help`.
- report_help: `shipyard report event --help`.
- report_unreachable: `shipyard report event tests passed=1` with SHIPYARD_URL on a loopback port
  nothing listens on: the whole path a sandbox step's report takes, up to the refused connection.
- python_floor: `python -c pass`, what any Python process costs here.

Wall time (p50, p90, p99) and the CPU time of the process (user + system), which a busy machine
inflates less than the wall time.
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

from bench.harness import SHIPYARD, summary
from shipyard.engine.devserver import free_port

CASES: dict[str, list[str]] = {
    "help": [SHIPYARD, "--help"],
    "report_help": [SHIPYARD, "report", "event", "--help"],
    "report_unreachable": [SHIPYARD, "report", "event", "tests", "passed=1"],
    "python_floor": [sys.executable, "-c", "pass"],
}
EXIT_CODES = {"report_unreachable": 1}  # refused, as it must be with no server; the rest exit 0


async def run(quick: bool) -> dict[str, Any]:
    return await asyncio.to_thread(_measure, 10 if quick else 40)


def _measure(runs: int) -> dict[str, Any]:
    env = {
        **os.environ,
        "SHIPYARD_URL": f"http://127.0.0.1:{free_port()}",
        "SHIPYARD_WORK_ORDER_ID": "wo-bench000",
        "SHIPYARD_TOKEN": "bench",
    }
    for name, argv in CASES.items():  # warm: .pyc files written, files in the page cache
        _once(name, argv, env)
    wall: dict[str, list[float]] = {name: [] for name in CASES}
    cpu: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(runs):
        for name, argv in CASES.items():
            wall_s, cpu_s = _once(name, argv, env)
            wall[name].append(wall_s)
            cpu[name].append(cpu_s)
    return {name: _figures(wall[name], cpu[name]) for name in CASES}


def _once(name: str, argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run; RuntimeError if it did not end as it should."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    wall_s = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != EXIT_CODES.get(name, 0):
        raise RuntimeError(f"{' '.join(argv[1:])} exited {done.returncode}: {done.stderr[-500:]}")
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall_s, cpu_s


def _figures(wall: list[float], cpu: list[float]) -> dict[str, Any]:
    ordered = sorted(wall)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return {
        **summary(wall),
        "p90_ms": round(p90 * 1000, 2),
        "cpu_p50_ms": round(statistics.median(cpu) * 1000, 2),
    }
