"""`python -m bench [--quick] [--only events] [--save]`: run the benchmarks, print a table and JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import cancel, events, webhooks
from bench.harness import commit, machine

BENCHMARKS: dict[str, Callable[[bool], Coroutine[Any, Any, dict[str, Any]]]] = {
    "events": events.run,
    "cancel": cancel.run,
    "webhooks": webhooks.run,
}
RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs (under three minutes)")
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--save", action="store_true", help="write the JSON to bench/results/")
    args = parser.parse_args()
    chosen = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit(),
        "quick": args.quick,
        "machine": machine(),
        "results": {},
    }
    console = Console(stderr=True)
    for name in chosen:
        console.print(f"[bold]{name}[/] …")
        started = time.monotonic()
        report["results"][name] = asyncio.run(BENCHMARKS[name](args.quick))
        report["results"][name]["seconds"] = round(time.monotonic() - started, 1)
    console.print(table(report["results"]))
    text = json.dumps(report, indent=2)
    print(text)
    if args.save:
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / ("quick.json" if args.quick else "latest.json")
        path.write_text(text + "\n")
        console.print(f"saved to {path}")


def table(results: dict[str, Any]) -> Table:
    """One row per figure: benchmark, case, then its statistics."""
    out = Table("benchmark", "case", "count", "p50 ms", "p99 ms", "max ms", "other")
    for name, figures in results.items():
        for case, value in figures.items():
            if isinstance(value, dict):
                extra = {k: v for k, v in value.items() if k not in ("count", "p50_ms", "p99_ms", "max_ms")}
                out.add_row(
                    name, case, *(str(value.get(k, "")) for k in ("count", "p50_ms", "p99_ms", "max_ms")),
                    ", ".join(f"{k}={v}" for k, v in extra.items()),
                )  # fmt: skip
            else:
                out.add_row(name, case, "", "", "", "", str(value))
    return out


if __name__ == "__main__":
    main()
