"""The geometry of the dashboard's two pictures; templates draw it as inline SVG.

- `step_graph`: a workflow's steps as boxes in columns by layer (left to right, each column waits
  for the ones before it), with an arrow from each step to every step that depends on it.
- `time_chart`: a work order's steps on a time axis, one bar per step from its start to its end
  (a running one up to now). Steps that ran at the same time get rows of their own; a step that
  starts after another ended takes that one's row.

Every figure is in SVG user units (about pixels); the SVG's viewBox scales it to the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shipyard.workflows import graph
from shipyard.workflows.graph import GraphStep

BOX_W, BOX_H = 170, 44
COLUMN_GAP, ROW_GAP, MARGIN = 48, 14, 8
CHART_W, BAR_H, LANE_GAP, AXIS_H = 720, 22, 6, 22
CHART_PAD = 24  # left and right of the time axis, so its first and last labels fit
MIN_BAR_W = 3.0  # a step of no measurable length still shows
MAX_TICKS = 8
TICK_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400)
CHARS_PER_BOX = 20  # of a step id inside a box (a monospace font at 12 units)
CHAR_W = 7.0  # about, of the bars' 12-unit text


@dataclass(frozen=True)
class Box:
    """A step of the graph."""

    id: str
    label: str  # the id, cut to fit the box
    detail: str  # kind · phase
    x: float
    y: float
    w: float = BOX_W
    h: float = BOX_H


@dataclass(frozen=True)
class Arrow:
    """From a step to one that depends on it: an SVG path from the right edge to the left edge."""

    source: str
    target: str
    path: str


@dataclass(frozen=True)
class GraphPicture:
    boxes: list[Box]
    arrows: list[Arrow]
    width: float
    height: float


class GraphStepDef(GraphStep, Protocol):
    """What a graph box needs of a step besides its dependencies (StepDef has it)."""

    @property
    def kind(self) -> str: ...

    @property
    def phase(self) -> str | None: ...


def step_graph(steps: Sequence[GraphStepDef]) -> GraphPicture:
    """Boxes in columns by layer, each column centred on the tallest; arrows along depends_on."""
    deps = graph.dependencies(steps)
    layers = graph.layers(deps)
    tallest = max((len(layer) for layer in layers), default=0)
    by_id = {step.id: step for step in steps}
    boxes: dict[str, Box] = {}
    for column, layer in enumerate(layers):
        top = MARGIN + (tallest - len(layer)) * (BOX_H + ROW_GAP) / 2
        for row, step_id in enumerate(layer):
            step = by_id[step_id]
            boxes[step_id] = Box(
                id=step_id,
                label=_cut(step_id, CHARS_PER_BOX),
                detail=_cut(" · ".join(part for part in (step.kind, step.phase) if part), CHARS_PER_BOX + 2),
                x=MARGIN + column * (BOX_W + COLUMN_GAP),
                y=top + row * (BOX_H + ROW_GAP),
            )
    arrows = [
        Arrow(dep, step_id, _curve(boxes[dep], boxes[step_id]))
        for step_id, found in deps.items()
        for dep in found
        if dep in boxes and step_id in boxes
    ]
    width = 2 * MARGIN + len(layers) * BOX_W + max(0, len(layers) - 1) * COLUMN_GAP
    height = 2 * MARGIN + tallest * BOX_H + max(0, tallest - 1) * ROW_GAP
    return GraphPicture(list(boxes.values()), arrows, width, height)


def _curve(source: Box, target: Box) -> str:
    """A cubic curve leaving `source` rightwards and entering `target` from the left."""
    x1, y1 = source.x + source.w, source.y + source.h / 2
    x2, y2 = target.x, target.y + target.h / 2
    bend = (x2 - x1) / 2
    return f"M {x1:g} {y1:g} C {x1 + bend:g} {y1:g}, {x2 - bend:g} {y2:g}, {x2:g} {y2:g}"


@dataclass(frozen=True)
class Span:
    """A step as it ran: when it started and ended (None: still running)."""

    step_id: str
    status: str
    started_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class Bar:
    step_id: str
    status: str
    lane: int
    x: float
    y: float
    w: float
    h: float
    label: str  # what fits inside the bar ("" when nothing does)
    seconds: float


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class TimePicture:
    bars: list[Bar]
    ticks: list[Tick]
    width: float
    height: float
    axis_y: float  # where the time axis runs, below the bars


def time_chart(spans: Sequence[Span], now: datetime) -> TimePicture | None:
    """The spans as bars on a shared time axis from the first start to the last end (or now);
    None when nothing has started."""
    if not spans:
        return None
    start = min(span.started_at for span in spans)
    ends = {span.step_id: span.completed_at or now for span in spans}
    total_s = max(1.0, max((end - start).total_seconds() for end in ends.values()))
    scale = (CHART_W - 2 * CHART_PAD) / total_s
    lanes = lanes_of(spans, ends)
    bars = []
    for span in spans:
        offset_s = (span.started_at - start).total_seconds()
        seconds = max(0.0, (ends[span.step_id] - span.started_at).total_seconds())
        w = max(MIN_BAR_W, seconds * scale)
        bars.append(
            Bar(
                step_id=span.step_id,
                status=span.status,
                lane=lanes[span.step_id],
                x=CHART_PAD + offset_s * scale,
                y=MARGIN + lanes[span.step_id] * (BAR_H + LANE_GAP),
                w=w,
                h=BAR_H,
                label=_fitting(span.step_id, w),
                seconds=seconds,
            )
        )
    count = 1 + max(lanes.values())
    axis_y = MARGIN + count * (BAR_H + LANE_GAP)
    ticks = [Tick(CHART_PAD + s * scale, tick_label(s)) for s in tick_seconds(total_s)]
    return TimePicture(bars, ticks, CHART_W, axis_y + AXIS_H, axis_y)


def lanes_of(spans: Sequence[Span], ends: dict[str, datetime]) -> dict[str, int]:
    """Each step's row: the first row free when it starts (its last bar ended by then), else a new one."""
    free_at: list[datetime] = []  # per row: when its last bar ends
    lanes: dict[str, int] = {}
    for span in sorted(spans, key=lambda s: s.started_at):  # stable: ties keep their order
        row = next((i for i, end in enumerate(free_at) if end <= span.started_at), len(free_at))
        if row == len(free_at):
            free_at.append(ends[span.step_id])
        free_at[row] = ends[span.step_id]
        lanes[span.step_id] = row
    return lanes


def tick_seconds(total_s: float) -> list[float]:
    """Round offsets from the start, at most MAX_TICKS + 1 of them, the first at 0."""
    step = next((s for s in TICK_STEPS_S if total_s / s <= MAX_TICKS), None)
    if step is None:
        step = TICK_STEPS_S[-1] * (int(total_s / TICK_STEPS_S[-1] / MAX_TICKS) + 1)
    return [float(n * step) for n in range(int(total_s // step) + 1)]


def tick_label(seconds: float) -> str:
    """`0 s`, `45 s`, `2:30`, `1:05:00`: an offset from the first step's start (and, from 10 s on,
    how the step list says a duration)."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _fitting(text: str, width: float) -> str:
    """`text` if it fits in `width`, cut with … if some of it does, else nothing."""
    chars = int((width - 8) / CHAR_W)
    return _cut(text, chars) if chars >= 3 else ""


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"
