"""The geometry of the dashboard's pictures: the step graph's boxes and arrows, the time chart's
bars, rows and ticks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shipyard.web.pictures import (
    BOX_W,
    CHART_PAD,
    CHART_W,
    MAX_TICKS,
    Span,
    step_graph,
    tick_label,
    tick_seconds,
    time_chart,
)
from shipyard.workflows.schema import StepDef

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def steps(*specs: tuple[str, list[str] | None]) -> list[StepDef]:
    return [StepDef(id=step_id, run="true", depends_on=deps, phase="p") for step_id, deps in specs]


def test_boxes_stand_in_columns_by_layer_and_arrows_follow_every_dependency() -> None:
    # setup → (lint, test) → report: the default dependency (the previous step) made explicit too.
    picture = step_graph(
        steps(("setup", None), ("lint", None), ("test", ["setup"]), ("report", ["lint", "test"]))
    )
    box = {b.id: b for b in picture.boxes}
    assert box["setup"].x < box["lint"].x == box["test"].x < box["report"].x
    assert box["lint"].y != box["test"].y  # the same column, one above the other
    assert box["setup"].y == (box["lint"].y + box["test"].y) / 2  # a shorter column is centred
    assert {(a.source, a.target) for a in picture.arrows} == {
        ("setup", "lint"), ("setup", "test"), ("lint", "report"), ("test", "report")
    }  # fmt: skip
    assert picture.width >= box["report"].x + BOX_W and picture.height >= box["test"].y + box["test"].h
    assert box["lint"].detail == "run · p"


def test_an_arrow_runs_from_the_right_edge_of_one_box_to_the_left_edge_of_the_next() -> None:
    picture = step_graph(steps(("a", None), ("b", None)))
    a, b = picture.boxes
    (arrow,) = picture.arrows
    numbers = [float(n) for n in arrow.path.replace(",", "").split() if n not in ("M", "C")]
    assert (numbers[0], numbers[1]) == (a.x + a.w, a.y + a.h / 2)
    assert (numbers[-2], numbers[-1]) == (b.x, b.y + b.h / 2)


def test_steps_that_start_at_once_share_the_first_column() -> None:
    picture = step_graph(steps(("a", []), ("b", []), ("c", [])))
    assert len({box.x for box in picture.boxes}) == 1 and len({box.y for box in picture.boxes}) == 3
    assert picture.arrows == []


def test_a_long_id_is_cut_to_fit_its_box() -> None:
    (box,) = step_graph(steps(("a-very-long-step-identifier", None))).boxes
    assert box.label.endswith("…") and len(box.label) < len(box.id)


def span(step_id: str, start_s: float, end_s: float | None, status: str = "completed") -> Span:
    end = None if end_s is None else T0 + timedelta(seconds=end_s)
    return Span(step_id, status, T0 + timedelta(seconds=start_s), end)


def test_steps_that_ran_at_the_same_time_get_rows_of_their_own() -> None:
    chart = time_chart(
        [span("setup", 0, 10), span("lint", 10, 40), span("test", 12, 30), span("report", 40, 50)],
        now=T0 + timedelta(hours=1),
    )
    assert chart is not None
    bar = {b.step_id: b for b in chart.bars}
    assert bar["lint"].lane != bar["test"].lane  # they overlapped
    assert bar["setup"].lane == bar["lint"].lane == bar["report"].lane == 0  # one after another
    assert bar["lint"].y != bar["test"].y and bar["lint"].x < bar["test"].x
    assert bar["setup"].x == CHART_PAD
    assert bar["report"].x + bar["report"].w == pytest.approx(CHART_W - CHART_PAD)
    assert bar["lint"].w == pytest.approx(3 * bar["setup"].w)  # 30 s against 10 s
    assert chart.axis_y >= bar["test"].y + bar["test"].h


def test_a_running_step_reaches_up_to_now() -> None:
    chart = time_chart(
        [span("build", 0, 20), span("test", 20, None, "running")], now=T0 + timedelta(seconds=60)
    )
    assert chart is not None
    build, test = chart.bars
    assert test.status == "running" and test.seconds == 40
    assert test.x + test.w == pytest.approx(CHART_W - CHART_PAD)
    assert test.w == pytest.approx(2 * build.w)


def test_a_step_of_no_length_still_shows_and_a_short_bar_carries_no_label() -> None:
    chart = time_chart([span("instant", 0, 0), span("long-running-step", 0, 600)], now=T0)
    assert chart is not None
    instant, long = chart.bars
    assert instant.w > 0 and instant.label == "" and long.label == "long-running-step"


def test_nothing_started_draws_nothing() -> None:
    assert time_chart([], now=T0) is None


def test_ticks_are_round_offsets_from_the_first_start() -> None:
    assert tick_seconds(50) == [0, 10, 20, 30, 40, 50]
    assert tick_seconds(3 * 3600) == [n * 1800.0 for n in range(7)]
    for total in (1, 7, 59, 61, 999, 86_400 * 3):
        assert 2 <= len(tick_seconds(total)) <= MAX_TICKS + 1
    assert [tick_label(s) for s in (0, 45, 150, 3900)] == ["0 s", "45 s", "2:30", "1:05:00"]
