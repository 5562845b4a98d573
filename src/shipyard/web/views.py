"""What the templates show, worked out in Python: durations, one line per event, step timelines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shipyard.domain.events import event_text
from shipyard.domain.work_orders import Step, WorkOrder
from shipyard.store.records import EventRecord
from shipyard.web.pictures import Span, tick_label

LOG_PAGE = 200  # events drawn at once in a log tail; earlier ones load on demand
# Events that change what the header, the step timeline or the list show (the rest are log lines).
STATE_EVENTS = ("workflow.", "sandbox.", "git.", "pr.", "agent.usage", "agent.prompt", "ci.status")
# What the detail page says after a control was accepted (`?done=`).
DONE = {
    "pause": "Pause requested: it takes effect when the running step ends.",
    "resume": "Resumed.",
    "cancel": "Cancel requested: the running step is being stopped.",
    "retry": "Started again from the step that failed.",
    "prompt": "Prompt queued: the agent gets it when the current step ends.",
    "approve": "Gate approved.",
    "advance": "Went past the gate.",
}
COMMIT_EVENTS = ("git.commit", "git.pushed", "pr.opened", "pr.updated", "workflow.completed")


def now() -> datetime:
    return datetime.now(UTC)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    """Seconds from `start` to `end` (to now while `end` is None); None before it starts."""
    if start is None:
        return None
    return max(0.0, (_aware(end or now()) - _aware(start)).total_seconds())


def duration(seconds: float | None) -> str:
    """`0.4 s`, `41 s`, `2:13`, `1:02:03`; an empty string for None."""
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.1f} s"
    return tick_label(seconds)


def usd(value: float) -> str:
    """`$12.50`; a small amount keeps its first digits (`$0.0042`)."""
    return f"${value:.2f}" if value == 0 or value >= 0.1 else f"${value:.2g}"


def work_order_duration(wo: WorkOrder) -> str:
    return duration(seconds_between(wo.execution_started_at, wo.execution_completed_at))


def step_duration(step: Step) -> str:
    return duration(seconds_between(step.started_at, step.completed_at))


def when(at: datetime | None) -> str:
    """A timestamp as people read it: `14:02:07` today, `2026-11-30 14:02` before."""
    if at is None:
        return ""
    local = _aware(at)
    if local.date() == now().date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M")


def engine_notice(state: str, restarts: int, changed_at: datetime | None) -> str | None:
    """What to say about the embedded Temporal: nothing while it never died."""
    engine = "The engine (Temporal)"
    if state == "restarting":
        return f"{engine} stopped and is being restarted; running work orders resume once it is back."
    if state == "down":
        return f"{engine} is down and restarting it keeps failing (see temporal.log in the data dir)."
    if restarts:
        times = "once" if restarts == 1 else f"{restarts} times"
        return f"{engine} stopped and was restarted ({times}, last at {when(changed_at)}); work orders go on."
    return None


def repository_name(url: str) -> str:
    """`acme/widgets` for a GitHub URL, the directory name for a local path."""
    trimmed = url.rstrip("/").removesuffix(".git")
    if "github.com" in trimmed:
        return "/".join(trimmed.replace(":", "/").split("/")[-2:])
    return trimmed.rsplit("/", 1)[-1] or url


@dataclass
class LogLine:
    id: int
    at: str
    level: str
    step: str
    kind: str
    text: str
    stream: str


def log_line(event: EventRecord) -> LogLine:
    return LogLine(
        id=event.id,
        at=when(event.ts),
        level=event.level,
        step=event.step_id or "",
        kind=event.type,
        text=event_text(event.type, event.data),
        stream=str(event.data.get("stream", "")) if event.type == "log" else "",
    )


def is_state_event(event_type: str) -> bool:
    return event_type.startswith(STATE_EVENTS)


@dataclass
class TimelineStep:
    id: str
    kind: str
    phase: str
    status: str
    duration: str
    attempt: int
    output: str
    error: str
    commit_sha: str


def timeline(wo: WorkOrder, steps: list[Step]) -> list[TimelineStep]:
    """The work order's steps in order: the ones that ran as stored, the planned rest `pending`,
    follow-up prompts after them."""
    ran = {step.step_id: _ran(step) for step in steps}
    planned = [s for s in (wo.definition or {}).get("steps", []) if isinstance(s, dict) and "id" in s]
    out = [ran.pop(str(s["id"])) if str(s["id"]) in ran else _pending(s) for s in planned]
    return out + list(ran.values())  # list_steps gives them in position order


def _ran(row: Step) -> TimelineStep:
    return TimelineStep(
        id=row.step_id, kind=row.kind, phase=row.phase or "", status=row.status.value,
        duration=step_duration(row), attempt=row.attempt, output=row.output or "",
        error=row.error or "", commit_sha=row.commit_sha or "",
    )  # fmt: skip


def _pending(step: dict[str, Any]) -> TimelineStep:
    kind = next((kind for kind in ("run", "prompt", "pr", "gate", "call") if step.get(kind)), "")
    return TimelineStep(
        id=str(step["id"]), kind=kind, phase=str(step.get("phase") or ""), status="pending",
        duration="", attempt=0, output="", error="", commit_sha="",
    )  # fmt: skip


def spans(steps: list[Step]) -> list[Span]:
    """The steps that started, for the time chart."""
    found = []
    for row in steps:
        if row.started_at is not None:
            end = _aware(row.completed_at) if row.completed_at else None
            found.append(Span(row.step_id, row.status.value, _aware(row.started_at), end))
    return found


@dataclass
class Gate:
    step_id: str
    message: str


def waiting_gate(wo: WorkOrder, steps: list[Step]) -> Gate | None:
    """The gate the work order waits at, with its message, if it waits at one."""
    row = next((s for s in steps if s.status.value == "waiting"), None)
    if row is None:
        return None
    steps_planned: list[dict[str, Any]] = (wo.definition or {}).get("steps", [])
    planned = next((s for s in steps_planned if s.get("id") == row.step_id), {})
    gate: dict[str, Any] = planned["gate"] if isinstance(planned.get("gate"), dict) else {}
    listed = gate.get("checks") or []  # a list, or an expression giving one (worked out as it starts)
    checks = ", ".join(listed) if isinstance(listed, list) else ""
    waiting = f"Waiting for checks: {checks}." if checks else ("Waiting for CI checks." if listed else "")
    message = gate.get("message") or waiting
    return Gate(row.step_id, str(message))
