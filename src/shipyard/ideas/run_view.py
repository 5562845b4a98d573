"""What a run's page draws, read off the run as the API gives it: seed 002 §10's chips, the
timeline as steps (an icon per kind of event, how long what an event ends took, its links), and
what each node of the issue tree shows when it is opened. Pure: no store, no forge."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shipyard.domain.ideas import IssueStatus, RunState
from shipyard.ideas.models import IssueView, RunView, TimelineEntry

CHAT = "chat.message"  # the chat's own events: drawn beside the run, not in its timeline
# Seed 002 §10's chips, each with the run states it stands for. Branch and Dev are both the
# execution loop: Branch until the loop's first code is written (a dry run never gets past it).
STAGES = (
    ("spec", "Spec"), ("plan", "Plan"), ("branch", "Branch"), ("dev", "Dev"), ("qa", "QA"),
    ("merge", "Merge"), ("release", "Release"), ("done", "Done"),
)  # fmt: skip
_STAGE_OF = {
    RunState.SPEC_WRITING: "spec", RunState.ISSUE_TREE: "plan", RunState.EXECUTION_LOOP: "branch",
    RunState.QA: "qa", RunState.MERGE: "merge", RunState.RELEASE: "release", RunState.DONE: "done",
}  # fmt: skip
CODE_WORK = ("implement", "integrate", "resolve")  # work that writes code: the loop is in Dev
_GOING = {state.value for state in RunState if not state.is_terminal}
ENDED_MARK = {RunState.FAILED: "failed", RunState.CANCELLED: "cancelled"}
# The icon and colour (a step's status, as the work orders' timeline draws it) of each event.
_LOOK = {
    "workflow.step.started": ("▶", "running"), "workflow.step.completed": ("✓", "completed"),
    "workflow.step.failed": ("✗", "failed"), "issue.updated": ("◇", "idle"),
    "branch.created": ("↳", "idle"), "merge.conflict": ("⚠", "waiting"), "merge.refused": ("⚠", "waiting"),
    "qa.passed": ("✓", "completed"), "ci.unread": ("⚠", "waiting"), "run.held": ("‖", "waiting"),
    "run.retry": ("↻", "running"), "release.published": ("★", "completed"),
}  # fmt: skip
_INTERRUPT_LOOK = {"pause": ("‖", "waiting"), "resume": ("▶", "running"), "cancel": ("⊘", "cancelled")}
_STATE_LOOK = {"DONE": ("✓", "completed"), "FAILED": ("✗", "failed"), "CANCELLED": ("⊘", "cancelled")}
ACTIVITY = 5  # the newest entries about an issue its node shows


def link(url: str | None) -> str | None:
    """`url` if a browser may follow it from here (a web address or a path on this server)."""
    local = url is not None and url.startswith("/") and not url.startswith("//")
    return url if url and (local or url.startswith(("https://", "http://"))) else None


@dataclass(frozen=True)
class Chip:
    label: str
    stage: str
    mark: str  # passed, skipped, current, failed, cancelled or ahead


def _coded(run: RunView) -> bool:
    """Whether code work started in the run's loop (Dev, not Branch, then)."""
    return any(e.type == "workflow.step.started" and e.data.get("work") in CODE_WORK for e in run.timeline)


def state_chips(run: RunView) -> list[Chip]:
    """The chips: those before the one where the run is are passed (skipped when its timeline
    shows it never went through them), where it is current (failed or cancelled if it ended
    there), the rest ahead."""
    states = (e.data.get("state") for e in run.timeline if e.type == "run.state")
    going = [RunState(s) for s in states if s in _GOING]
    entered = {_STAGE_OF[s] for s in going if s in _STAGE_OF} | ({"dev"} if _coded(run) else set())
    at_state = (going[-1] if going else None) if run.state in ENDED_MARK else run.state
    reached = _STAGE_OF.get(at_state) if at_state else None
    if reached == "branch" and _coded(run):
        reached = "dev"
    at = [stage for stage, _ in STAGES].index(reached) if reached else -1
    chips = []
    for n, (stage, label) in enumerate(STAGES):
        if n == at:
            mark = ENDED_MARK.get(run.state, "current")
        elif n < at:
            mark = "passed" if stage in entered or not entered else "skipped"
        else:
            mark = "ahead"
        chips.append(Chip(label, stage, mark))
    return chips


@dataclass(frozen=True)
class Fact:
    label: str
    text: str
    href: str | None = None


@dataclass(frozen=True)
class Entry:
    """One timeline entry as a step: its icon, colour, and what it ended and how long that took."""

    event: TimelineEntry
    icon: str
    tone: str
    took_s: float | None = None
    ended: str | None = None  # what the duration is of
    facts: list[Fact] = field(default_factory=list)
    work_order_id: str | None = None  # whose log it can show

    @property
    def issue_id(self) -> int | None:
        found = self.event.data.get("issue_id")
        return found if isinstance(found, int) else None


def _look(entry: TimelineEntry) -> tuple[str, str]:
    if entry.type == "run.state":
        return _STATE_LOOK.get(str(entry.data.get("state")), ("◆", "running"))
    if entry.type == "run.interrupt":
        return _INTERRUPT_LOOK.get(str(entry.data.get("action")), ("•", "idle"))
    return _LOOK.get(entry.type, ("•", "idle"))


def _facts(data: dict[str, Any]) -> list[Fact]:
    """What an entry's data names, each with where to read it."""
    facts = []
    if isinstance(data.get("issue_id"), int):
        facts.append(Fact("Issue", f"#{data['issue_id']}", f"#issue-{data['issue_id']}"))
    if data.get("work_order_id"):
        facts.append(Fact("Work order", str(data["work_order_id"]), f"/work-orders/{data['work_order_id']}"))
    if data.get("branch"):
        facts.append(Fact("Branch", str(data["branch"])))
    if data.get("pr_url"):
        facts.append(Fact("Pull request", str(data["pr_url"]), link(str(data["pr_url"]))))
    if data.get("tag"):
        facts.append(Fact("Release", str(data["tag"]), link(str(data.get("url") or "")) or None))
    if data.get("error"):
        facts.append(Fact("Error", str(data["error"])))
    return facts


def timeline(run: RunView) -> list[Entry]:
    """The run's timeline (its chat left out) as steps. A work order's end carries how long it
    ran; a state, how long the run was in the one before; a resume, how long the run was held."""
    entries, started, state_at, paused_at = [], {}, None, None
    for event in run.timeline:
        if event.type == CHAT:
            continue
        took, ended = None, None
        wo = event.data.get("work_order_id")
        if event.type == "workflow.step.started" and wo:
            started[wo] = event
        elif event.type in ("workflow.step.completed", "workflow.step.failed") and wo in started:
            took, ended = _seconds(started.pop(wo), event), str(event.data.get("work") or "the work order")
        elif event.type == "run.state":
            if state_at is not None:
                took, ended = _seconds(state_at, event), state_at.phase
            state_at = event
        elif event.type == "run.interrupt" and event.data.get("action") == "pause":
            paused_at = paused_at or event
        elif event.type == "run.interrupt" and event.data.get("action") == "resume" and paused_at:
            took, ended, paused_at = _seconds(paused_at, event), "held", None
        icon, tone = _look(event)
        facts = _facts(event.data)
        entries.append(Entry(event, icon, tone, took, ended, facts, str(wo) if wo else None))
    return entries


def _seconds(start: TimelineEntry, end: TimelineEntry) -> float:
    return max(0.0, (end.ts - start.ts).total_seconds())


@dataclass(frozen=True)
class Node:
    """What an issue's node shows when opened, beside the issue itself."""

    open: bool
    issue_url: str | None
    activity: list[Entry]
    qa: str | None  # what its last QA round found
    qa_tone: str
    retry: bool  # whether the run can be retried from it


def _path_to(tree: list[IssueView], target: int | None) -> set[int]:
    """The ids of the issues from the root down to `target` (none when it is not in the tree)."""
    for issue in tree:
        if issue.id == target:
            return {issue.id}
        below = _path_to(issue.children, target)
        if below:
            return below | {issue.id}
    return set()


def _qa(issue_id: int, entries: list[Entry]) -> tuple[str | None, str]:
    """What the issue's QA rounds found last: passed, or how many defects."""
    for entry in reversed(entries):
        event = entry.event
        if event.type == "qa.passed" and entry.issue_id == issue_id:
            return "QA passed", "completed"
        if event.type == "issue.updated" and entry.issue_id == issue_id and " defects" in event.msg:
            return event.msg.rpartition(": ")[2].replace(" defects", " defects found"), "failed"
    return None, "idle"


def nodes(
    run: RunView, tree: list[IssueView], entries: list[Entry], issue_url: Callable[[int], str | None]
) -> dict[int, Node]:
    """Each issue's node: open on the way down to the issue the run is at (the epic always), its
    issue on the forge, its newest entries, its QA, and whether the run can be retried from it."""
    opened = _path_to(tree, run.current_issue_id) | {issue.id for issue in tree}
    ended = run.state in (RunState.FAILED, RunState.CANCELLED)
    found: dict[int, Node] = {}
    todo = list(tree)
    while todo:
        issue = todo.pop()
        todo.extend(issue.children)
        about = [e for e in entries if e.issue_id == issue.id]
        qa, qa_tone = _qa(issue.id, entries)
        number = issue.forge_issue_number
        found[issue.id] = Node(
            open=issue.id in opened and bool(issue.children), issue_url=issue_url(number) if number else None,
            activity=about[-ACTIVITY:], qa=qa, qa_tone=qa_tone,
            retry=ended and issue.status == IssueStatus.BLOCKED,
        )  # fmt: skip
    return found
