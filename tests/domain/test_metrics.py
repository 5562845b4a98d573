"""Metrics over finished work orders: success rate, runtimes, spend, failure causes, groups and
series over time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from shipyard.domain.errors import InvalidInput
from shipyard.domain.metrics import (
    MAX_BUCKETS,
    Finished,
    bucket_of,
    compute_metrics,
    failure_cause,
    percentile,
    series,
)

START = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # a Monday


def finished(
    status: str,
    seconds: float,
    workflow: str = "plan",
    agent: str = "claude",
    error: str | None = None,
    **more: Any,
) -> Finished:
    return Finished(workflow=workflow, agent=agent, status=status, started_at=START,
                    completed_at=START + timedelta(seconds=seconds), error=error, **more)  # fmt: skip


def on(day: date, status: str = "completed", seconds: float = 60, **more: Any) -> Finished:
    """A work order that finished on `day` (at 23:30 UTC) after `seconds`."""
    end = datetime(day.year, day.month, day.day, 23, 30, tzinfo=UTC)
    return Finished(workflow="plan", agent="claude", status=status,
                    started_at=end - timedelta(seconds=seconds), completed_at=end, **more)  # fmt: skip


def test_percentiles_interpolate_between_ranks() -> None:
    assert percentile([], 50) is None
    assert percentile([7], 90) == 7
    assert percentile([10, 20, 30, 40], 50) == 25
    assert percentile([float(n) for n in range(1, 11)], 90) == 9.1


def test_failure_causes_are_named_from_the_message() -> None:
    assert failure_cause("budget_exceeded: max_turns 2 crossed") == "budget exceeded"
    assert failure_cause("step 'x' failed: timed out after 30 s") == "timeout"
    assert (
        failure_cause("step 'plan' failed: claude agent failed (auth): Not logged in")
        == "agent not logged in"
    )
    assert failure_cause("step 'b' failed: codex agent failed (rate_limit): slow down") == "agent rate limit"
    assert failure_cause("step 'test' failed: exit code 1: 3 failed") == "command failed"
    assert failure_cause("cannot clone repository http://x") == "repository"
    assert failure_cause(None) == "other" and failure_cause("¯\\_(ツ)_/¯") == "other"


def test_groups_overall_per_workflow_and_per_agent() -> None:
    metrics = compute_metrics([
        finished("completed", 60), finished("completed", 120), finished("completed", 600, workflow="build"),
        finished("failed", 5, agent="codex", error="exit code 2"), finished("cancelled", 1, workflow="build"),
    ])  # fmt: skip
    overall = metrics.overall
    assert (overall.total, overall.completed, overall.failed, overall.cancelled) == (5, 3, 1, 1)
    assert overall.success_rate == 0.75  # cancelled ones are not counted
    assert overall.runtime_p50_s == 120 and overall.runtime_p90_s == 504  # of the completed ones
    assert overall.failure_causes == {"command failed": 1}
    assert [(g.name, g.total) for g in metrics.by_workflow] == [("plan", 3), ("build", 2)]
    assert [(g.name, g.success_rate) for g in metrics.by_agent] == [("claude", 1.0), ("codex", 0.0)]
    assert compute_metrics([]).overall.success_rate is None


def test_mean_runtime_and_spend_per_group() -> None:
    metrics = compute_metrics([
        finished("completed", 60, cost_usd=0.25, input_tokens=1000, output_tokens=200),
        finished("completed", 180, cost_usd=1.5, input_tokens=4000, output_tokens=800),
        finished("failed", 900, agent="codex", cost_usd=0.5, input_tokens=10, output_tokens=5),
        finished("cancelled", 5, agent="codex"),  # no cost known
    ])  # fmt: skip
    overall = metrics.overall
    assert overall.runtime_mean_s == 120  # of the completed ones, like the percentiles
    assert overall.cost_usd == 2.25 and overall.unpriced == 1
    assert (overall.input_tokens, overall.output_tokens) == (5010, 1005)
    claude, codex = metrics.by_agent
    assert (claude.name, claude.cost_usd, claude.input_tokens, claude.unpriced) == ("claude", 1.75, 5000, 0)
    assert (codex.cost_usd, codex.unpriced, codex.runtime_mean_s) == (0.5, 1, None)
    empty = compute_metrics([]).overall
    assert (empty.runtime_mean_s, empty.cost_usd, empty.unpriced) == (None, 0, 0)


def test_runners_group_only_the_work_orders_a_runner_started() -> None:
    metrics = compute_metrics([
        finished("completed", 60, runner="claude-fixer", cost_usd=0.5),
        finished("failed", 30, runner="claude-fixer", error="exit code 1"),
        finished("completed", 90, runner="codex-fixer"),
        finished("completed", 10),  # started some other way
    ])  # fmt: skip
    assert [(g.name, g.total, g.success_rate) for g in metrics.by_runner] == [
        ("claude-fixer", 2, 0.5), ("codex-fixer", 1, 1.0),
    ]  # fmt: skip
    assert metrics.by_runner[0].cost_usd == 0.5 and metrics.overall.total == 4


def test_days_run_from_the_first_to_the_last_with_empty_ones_between() -> None:
    first = date(2026, 11, 28)
    metrics = compute_metrics([
        on(first, seconds=60, cost_usd=0.5), on(first, seconds=120, cost_usd=0.25),
        on(first, status="failed", error="exit code 1"),
        on(first + timedelta(days=3), seconds=30, cost_usd=1.0),
        Finished(workflow="plan", agent="claude", status="cancelled"),  # never ran: in no day
    ])  # fmt: skip
    assert metrics.bucket == "day"
    days = metrics.series
    assert [p.start for p in days] == [first + timedelta(days=n) for n in range(4)]
    assert [(p.runs, p.completed, p.failed) for p in days] == [(3, 2, 1), (0, 0, 0), (0, 0, 0), (1, 1, 0)]
    assert days[0].success_rate == 2 / 3 and days[0].runtime_p50_s == 90 and days[0].cost_usd == 0.75
    assert (days[1].success_rate, days[1].runtime_p50_s, days[1].cost_usd) == (None, None, 0)


def test_days_are_utc_days_and_weeks_start_on_monday() -> None:
    late = datetime(2026, 12, 2, 23, 30, tzinfo=UTC)
    in_tokyo = late.astimezone(timezone(timedelta(hours=9)))  # December 3 there
    item = Finished(workflow="w", agent="a", status="completed", completed_at=in_tokyo)
    assert [p.start for p in series([item], "day")] == [date(2026, 12, 2)]
    assert [p.start for p in series([item], "week")] == [date(2026, 11, 30)]  # Wednesday's Monday


def test_weeks_fill_the_gaps_and_keep_the_most_recent() -> None:
    sunday, monday = date(2026, 12, 6), date(2026, 12, 7)
    weeks = compute_metrics([on(sunday), on(sunday), on(monday + timedelta(days=14))], "week").series
    assert [(p.start, p.runs) for p in weeks] == [
        (date(2026, 11, 30), 2), (date(2026, 12, 7), 0), (date(2026, 12, 14), 0), (date(2026, 12, 21), 1),
    ]  # fmt: skip
    long_ago = on(date(2020, 1, 1))
    capped = series([long_ago, on(monday)], "week")
    assert len(capped) == MAX_BUCKETS["week"] and capped[-1].start == monday
    assert sum(p.runs for p in capped) == 1  # the oldest fell outside the kept weeks
    assert series([], "day") == []


def test_a_bucket_is_a_day_or_a_week() -> None:
    assert bucket_of("day") == "day" and bucket_of("week") == "week"
    for bad in ("month", "Day", "", "x" * 1000):
        with pytest.raises(InvalidInput, match=r"unknown bucket .*; one of: day, week"):
            bucket_of(bad)
