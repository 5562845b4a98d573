"""Metrics over finished work orders: success rate, runtime percentiles, failure causes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shipyard.domain.metrics import Finished, compute_metrics, failure_cause, percentile

START = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def finished(
    status: str, seconds: float, workflow: str = "plan", agent: str = "claude", error: str | None = None
) -> Finished:
    return Finished(workflow=workflow, agent=agent, status=status, started_at=START,
                    completed_at=START + timedelta(seconds=seconds), error=error)  # fmt: skip


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
