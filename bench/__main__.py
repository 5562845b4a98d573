"""`python -m bench [--quick] [--only events] [--save]`: run the benchmarks, print a table and JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import (
    api,
    bad_input,
    cancel,
    concurrency,
    events,
    hops,
    overhead,
    sandbox_setup,
    startup,
    webhooks,
)
from bench.harness import commit, machine

BENCHMARKS: dict[str, Callable[[bool], Coroutine[Any, Any, dict[str, Any]]]] = {
    "overhead": overhead.run,
    "sandbox_setup": sandbox_setup.run,
    "concurrency": concurrency.run,
    "hops": hops.run,
    "events": events.run,
    "api": api.run,
    "cancel": cancel.run,
    "webhooks": webhooks.run,
    "startup": startup.run,
    "bad_input": bad_input.run,
}
RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs (under three minutes)")
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument(
        "--save", action="store_true", help="write the JSON to bench/results/ (with --only: NAME.json)"
    )
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
    console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
    for name in chosen:
        console.print(f"[bold]{name}[/] …")
        started = time.monotonic()
        report["results"][name] = asyncio.run(BENCHMARKS[name](args.quick))
        report["results"][name]["seconds"] = round(time.monotonic() - started, 1)
    report["targets"] = targets(report["results"])
    console.print(table(report["results"]))
    console.print(targets_table(report["targets"]))
    text = json.dumps(report, indent=2)
    print(text)
    if args.save:
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / _results_file(chosen if args.only else None, args.quick)
        path.write_text(text + "\n")
        console.print(f"saved to {path}")


def _results_file(only: list[str] | None, quick: bool) -> str:
    """latest.json (quick.json) for a full run; a run of some, e.g. startup.json, leaves those alone."""
    if only:
        return "+".join(only) + ("-quick" if quick else "") + ".json"
    return "quick.json" if quick else "latest.json"


# The targets (issue 15's middle column; issue 7's where 15 set none): (what, benchmark, path to
# the figure, the most it may be).
TARGETS: list[tuple[str, str, tuple[str, ...], float]] = [
    ("overhead p50 to completed, ms", "overhead", ("overhead", "to_completed", "p50_ms"), 150),
    ("overhead over the floor, times", "overhead", ("overhead", "ratio_completed_to_floor_p50"), 3),
    ("created to sandbox.ready, one, p50 ms", "overhead", ("parallel_start", "n_1", "p50_ms"), 40),
    ("8 parallel starts over one, times", "overhead", ("parallel_start", "ratio_8_to_1_p50"), 1.5),
    ("32 parallel starts over one, times", "overhead", ("parallel_start", "ratio_32_to_1_p50"), 3),
    ("300 sleep-5 work orders, makespan s (SQLite)", "concurrency", ("sqlite_300", "makespan_s"), 30),
    ("300 sleep-5 work orders, makespan s (PostgreSQL)", "concurrency", ("postgres_300", "makespan_s"), 30),
    ("300 sleep-5 work orders, failed (SQLite)", "concurrency", ("sqlite_300", "failed"), 0),
    ("300 sleep-5 work orders, failed (PostgreSQL)", "concurrency", ("postgres_300", "failed"), 0),
    ("CPU per work order at 300, ms (SQLite)", "concurrency", ("sqlite_300", "cpu_ms_per_work_order"), 60),
    ("peak memory at 300, MB (SQLite)", "concurrency", ("sqlite_300", "peak_memory_mb"), 600),
    ("event latency p99 at 100 clients, ms", "events", ("clients_100", "p99_ms"), 250),
    ("API GET one p99 at 50 clients, ms (SQLite)", "api", ("sqlite_get_50_clients", "p99_ms"), 50),
    ("API list p99 at 50 clients, ms (SQLite)", "api", ("sqlite_list_50_clients", "p99_ms"), 100),
    ("API GET one p99 at 50 clients, ms (PostgreSQL)", "api", ("postgresql_get_50_clients", "p99_ms"), 50),
    ("API list p99 at 50 clients, ms (PostgreSQL)", "api", ("postgresql_list_50_clients", "p99_ms"), 100),
    ("webhook ack p99 at 20 clients, ms", "webhooks", ("ack_20_clients", "p99_ms"), 100),
    ("shipyard --help p50, ms", "startup", ("help", "p50_ms"), 300),
    ("shipyard report event --help p50, ms", "startup", ("report_help", "p50_ms"), 300),
    ("shipyard report (refused) p50, ms", "startup", ("report_unreachable", "p50_ms"), 300),
    ("health p50 with 20 bad requests in flight over idle, times", "bad_input", ("ratio_p50",), 3),
]


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target whose figure this run measured: the figure, whether it is met, and by how much
    it is missed (the figure over the limit)."""
    out = []
    for what, bench, path, limit in TARGETS:
        value: Any = results.get(bench)
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if not isinstance(value, int | float):
            continue
        met = value <= limit
        entry: dict[str, Any] = {"target": what, "limit": limit, "measured": value, "met": met}
        if not met and limit:
            entry["missed_by"] = f"{value / limit:.1f} times the limit"
        out.append(entry)
    return out


def targets_table(rows: list[dict[str, Any]]) -> Table:
    out = Table("target", "limit", "measured", "met")
    for row in rows:
        out.add_row(
            row["target"],
            str(row["limit"]),
            str(row["measured"]),
            "yes" if row["met"] else f"no ({row['missed_by']})" if "missed_by" in row else "no",
        )
    return out


def table(results: dict[str, Any]) -> Table:
    """One row per figure: benchmark, case (dotted where figures nest), then its statistics."""
    out = Table("benchmark", "case", "count", "p50 ms", "p99 ms", "max ms", "other")
    for name, figures in results.items():
        _rows(out, name, "", figures)
    return out


def _rows(out: Table, name: str, prefix: str, figures: dict[str, Any]) -> None:
    stats = ("count", "p50_ms", "p99_ms", "max_ms")
    for case, value in figures.items():
        label = f"{prefix}{case}"
        if isinstance(value, dict) and any(isinstance(v, dict) for v in value.values()):
            _rows(out, name, f"{label}.", value)
        elif isinstance(value, dict):
            extra = ", ".join(f"{k}={v}" for k, v in value.items() if k not in stats)
            out.add_row(name, label, *(str(value.get(k, "")) for k in stats), extra)
        else:
            out.add_row(name, label, "", "", "", "", str(value))


if __name__ == "__main__":
    main()
