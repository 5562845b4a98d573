"""The geometry of the metrics page's charts over time; the template draws it as inline SVG.

One column slot per bucket of the series (a day or a week), oldest on the left:
- `runs_chart`: the runs of each bucket as bars, their success rate as a line on a 0 to 100 % scale
  of its own (the right axis). A bucket with nothing completed or failed breaks the line.
- `runtime_chart`: the median runtime of each bucket's completed work orders as a line.
- `spend_chart`: each bucket's spend in USD as bars.

Figures are in SVG user units (about pixels); the SVG's viewBox scales them to the page.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from shipyard.domain.metrics import Bucket, Period
from shipyard.web.pictures import TICK_STEPS_S, tick_label
from shipyard.web.views import duration, usd

WIDTH, HEIGHT = 480, 208
LEFT, RIGHT, TOP, BOTTOM = 70, 418, 14, 168  # the plot area; the axes' labels go outside it
COLUMN_SHARE, MAX_COLUMN_W = 0.7, 36  # of a slot a bar fills; a lone bucket's bar stays slim
MAX_X_LABELS = 6
Y_TICKS = 4  # at most, above 0
ROUND_STEPS = tuple(m * 10.0**e for e in range(-2, 13) for m in (1, 2, 5))  # of the spend axis
WHOLE_STEPS = tuple(s for s in ROUND_STEPS if s >= 1)  # of the runs axis


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Column:
    """A bucket's bar; `title` says its figures when pointed at."""

    start: date
    x: float
    y: float
    w: float
    h: float
    value: float
    title: str


@dataclass(frozen=True)
class Mark:
    """A point of the line."""

    x: float
    y: float
    title: str


@dataclass(frozen=True)
class Chart:
    kind: str  # runs | runtime | spend: the class its colours hang on
    title: str
    summary: str  # the chart in words, for a screen reader
    x_labels: list[Label]
    y_labels: list[Label]  # the left axis
    y_title: Label
    x_title: Label
    columns: list[Column] = field(default_factory=list)
    line: str = ""  # an SVG path; a new "M" after each gap
    marks: list[Mark] = field(default_factory=list)
    y2_labels: list[Label] = field(default_factory=list)  # the right axis, the line's own
    y2_title: Label | None = None
    column_name: str = ""  # what the bars and the line show, for the legend
    line_name: str = ""
    width: float = WIDTH
    height: float = HEIGHT
    left: float = LEFT
    right: float = RIGHT
    top: float = TOP
    bottom: float = BOTTOM


def trend_charts(series: Sequence[Period], bucket: Bucket) -> list[Chart]:
    """The page's three charts over `series`; none when it is empty."""
    if not series:
        return []
    return [runs_chart(series, bucket), runtime_chart(series, bucket), spend_chart(series, bucket)]


def runs_chart(series: Sequence[Period], bucket: Bucket) -> Chart:
    ticks = axis_ticks(max(p.runs for p in series), WHOLE_STEPS)
    rates = [None if p.success_rate is None else p.success_rate * 100 for p in series]
    marks, line = _line(
        series, rates, 100.0, lambda p: f"{period_name(p.start, bucket)}: {percent(p)} succeeded"
    )
    completed, failed = sum(p.completed for p in series), sum(p.failed for p in series)
    return Chart(
        kind="runs",
        title=f"Runs per {bucket} and success rate",
        summary=f"{sum(p.runs for p in series)} runs {span_words(series, bucket)}: {completed} completed, "
        f"{failed} failed.",
        x_labels=x_labels(series),
        x_title=_x_title(series, bucket),
        y_labels=_y_labels(ticks, lambda value: f"{value:.0f}"),
        y_title=_y_title("runs"),
        columns=_columns(series, [p.runs for p in series], ticks[-1], lambda p: _runs_title(p, bucket)),
        line=line,
        marks=marks,
        y2_labels=[Label(RIGHT + 6, _y(t, 100), f"{t:.0f} %") for t in (0, 25, 50, 75, 100)],
        y2_title=Label(WIDTH - 6, (TOP + BOTTOM) / 2, "success rate"),
        column_name="runs",
        line_name="success rate",
    )


def runtime_chart(series: Sequence[Period], bucket: Bucket) -> Chart:
    medians = [p.runtime_p50_s for p in series]
    ticks = axis_ticks(max((m for m in medians if m is not None), default=0.0), TICK_STEPS_S)
    marks, line = _line(
        series,
        medians,
        ticks[-1],
        lambda p: f"{period_name(p.start, bucket)}: median {duration(p.runtime_p50_s)}",
    )
    known = [m for m in medians if m is not None]
    shortest, longest = (duration(min(known)), duration(max(known))) if known else ("", "")
    return Chart(
        kind="runtime",
        title=f"Median runtime per {bucket}",
        summary=f"Median runtime of completed work orders {span_words(series, bucket)}"
        + (f", from {shortest} to {longest}." if known else ": none completed."),
        x_labels=x_labels(series),
        x_title=_x_title(series, bucket),
        y_labels=_y_labels(ticks, tick_label),
        y_title=_y_title("median runtime"),
        line=line,
        marks=marks,
    )


def spend_chart(series: Sequence[Period], bucket: Bucket) -> Chart:
    costs = [p.cost_usd for p in series]
    ticks = axis_ticks(max(costs), ROUND_STEPS)
    return Chart(
        kind="spend",
        title=f"Spend per {bucket}",
        summary=f"{usd(sum(costs))} spent {span_words(series, bucket)}; "
        f"at most {usd(max(costs))} in one {bucket}.",
        x_labels=x_labels(series),
        x_title=_x_title(series, bucket),
        y_labels=_y_labels(ticks, usd),
        y_title=_y_title("USD"),
        columns=_columns(
            series, costs, ticks[-1], lambda p: f"{period_name(p.start, bucket)}: {usd(p.cost_usd)}"
        ),
    )


def axis_ticks(top: float, steps: Sequence[float]) -> list[float]:
    """0 and the first round step (of `steps`) that reaches `top` in at most Y_TICKS, then its
    multiples up to the first at or above `top` (which is where the axis ends). 0 draws as 1 step."""
    last = steps[-1]
    step = next((s for s in steps if top <= s * Y_TICKS), last * math.ceil(top / last / Y_TICKS))
    return [n * step for n in range(max(1, math.ceil(top / step)) + 1)]


def x_labels(series: Sequence[Period]) -> list[Label]:
    """A label under every n-th bucket, at most MAX_X_LABELS, the first one always."""
    every = math.ceil(len(series) / MAX_X_LABELS)
    slot = (RIGHT - LEFT) / len(series)
    return [
        Label(LEFT + slot * (i + 0.5), BOTTOM + 16, short_date(p.start))
        for i, p in enumerate(series)
        if i % every == 0
    ]


def short_date(day: date) -> str:
    return f"{day.day} {day:%b}"


def period_name(start: date, bucket: Bucket) -> str:
    return f"week of {start.isoformat()}" if bucket == "week" else start.isoformat()


def span_words(series: Sequence[Period], bucket: Bucket) -> str:
    """`from 2026-11-30 to 2026-12-02, per day`: the series' range in words."""
    return f"from {series[0].start.isoformat()} to {series[-1].start.isoformat()}, per {bucket}"


def percent(period: Period) -> str:
    return "—" if period.success_rate is None else f"{period.success_rate * 100:.0f} %"


def _y(value: float, maximum: float) -> float:
    return BOTTOM - value / maximum * (BOTTOM - TOP)


def _y_labels(ticks: list[float], text: Callable[[float], str]) -> list[Label]:
    return [Label(LEFT - 6, _y(t, ticks[-1]), text(t)) for t in ticks]


def _x_title(series: Sequence[Period], bucket: Bucket) -> Label:
    """What the x axis counts in, and the years it spans (its labels leave the year out)."""
    first, last = series[0].start.year, series[-1].start.year
    years = str(first) if first == last else f"{first} to {last}"
    size = "week, from Monday" if bucket == "week" else "day"
    return Label((LEFT + RIGHT) / 2, HEIGHT - 4, f"{size} (UTC), {years}")


def _y_title(text: str) -> Label:
    return Label(12, (TOP + BOTTOM) / 2, text)


def _columns(
    series: Sequence[Period], values: list[float], maximum: float, title: Callable[[Period], str]
) -> list[Column]:
    slot = (RIGHT - LEFT) / len(series)
    w = min(MAX_COLUMN_W, slot * COLUMN_SHARE)
    columns = []
    for i, (period, value) in enumerate(zip(series, values, strict=True)):
        y = round(_y(value, maximum), 2)
        x = round(LEFT + slot * (i + 0.5) - w / 2, 2)
        h = round(BOTTOM - y, 2)
        columns.append(Column(period.start, x, y, round(w, 2), h, value, title(period)))
    return columns


def _line(
    series: Sequence[Period], values: list[float | None], maximum: float, title: Callable[[Period], str]
) -> tuple[list[Mark], str]:
    """A mark per known value and the path through them, broken where a value is missing."""
    slot = (RIGHT - LEFT) / len(series)
    marks: list[Mark] = []
    path: list[str] = []
    previous: float | None = None
    for i, (period, value) in enumerate(zip(series, values, strict=True)):
        if value is not None:
            x, y = round(LEFT + slot * (i + 0.5), 2), round(_y(value, maximum), 2)
            marks.append(Mark(x, y, title(period)))
            path.append(f"{'L' if previous is not None else 'M'} {x:g} {y:g}")
        previous = value
    return marks, " ".join(path)


def _runs_title(period: Period, bucket: Bucket) -> str:
    return (
        f"{period_name(period.start, bucket)}: {period.runs} runs, {period.completed} completed, "
        f"{period.failed} failed, {percent(period)} succeeded"
    )
