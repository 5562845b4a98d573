"""The geometry of the metrics page's charts over time: round axes, a bar per bucket, a line
broken where a bucket has no figure."""

from __future__ import annotations

from datetime import date, timedelta

from shipyard.domain.metrics import Period
from shipyard.web.pictures import TICK_STEPS_S
from shipyard.web.trends import BOTTOM, TOP, WHOLE_STEPS, axis_ticks, runs_chart, trend_charts

DAY = date(2026, 11, 28)


def periods(*runs: tuple[int, int, int]) -> list[Period]:
    """A day each of (completed, failed, cancelled) runs."""
    return [
        Period(start=DAY + timedelta(days=n), runs=c + f + x, completed=c, failed=f,
               success_rate=c / (c + f) if c + f else None)
        for n, (c, f, x) in enumerate(runs)
    ]  # fmt: skip


def test_axes_end_on_a_round_step_at_or_above_the_top() -> None:
    assert axis_ticks(6, WHOLE_STEPS) == [0, 2, 4, 6]
    assert axis_ticks(7, WHOLE_STEPS) == [0, 2, 4, 6, 8]
    assert axis_ticks(1, WHOLE_STEPS) == [0, 1]
    assert axis_ticks(0, WHOLE_STEPS) == [0, 1]  # nothing yet still draws an axis
    assert axis_ticks(130, TICK_STEPS_S) == [0, 60, 120, 180]  # minutes for runtimes


def test_runs_are_bars_and_the_success_rate_a_line_with_gaps() -> None:
    chart = runs_chart(periods((3, 1, 0), (0, 0, 0), (0, 0, 2), (2, 0, 0)), "day")
    heights = [column.h for column in chart.columns]
    assert len(heights) == 4 and heights[0] == BOTTOM - TOP and heights[1] == 0
    assert heights[2] == heights[3] == (BOTTOM - TOP) / 2  # 2 of an axis to 4
    xs = [column.x for column in chart.columns]
    assert xs == sorted(set(xs))  # left to right, oldest first
    assert len(chart.marks) == 2 and chart.line.count("M") == 2  # days 2 and 3 have no rate
    assert chart.marks[1].y == TOP  # 100 %
    assert chart.summary.startswith("8 runs from 2026-11-28 to 2026-12-01, per day: 5 completed, 1 failed")
    assert trend_charts([], "week") == []
