"""Seed 002's shapes at its own endpoints (camelCase, as its §7.1 writes them): the idea asked
for, the run as read, the issue tree."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from shipyard.domain.ideas import IssueStatus, IssueType, RunState
from shipyard.domain.models import RequestModel
from shipyard.ideas.tree import children_by_parent
from shipyard.store.records import IdeaRunRecord, IssueNodeRecord, RunEventRecord
from shipyard.workflows.schema import MAX_CHECK_NAME, MAX_GATE_CHECKS

CheckName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_CHECK_NAME)]


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


# The roles an idea's options may give an agent of their own (by the kind of work they do), and
# what each does; `default` serves those not given one.
AGENT_ROLES = {
    "default": "every role not set below",
    "spec": "spec writer and issue planner",
    "implement": "developer",
    "qa": "QA tester",
    "release": "release manager",
}
RoleName = Literal["default", "spec", "implement", "qa", "release"]


class IdeaOptions(_Camel):
    size: Literal["small", "medium", "large"] = "medium"  # how far the planner decomposes
    # The agent (by its registry name) for each role, or `default`; else the project's, else the
    # install's.
    agents: dict[RoleName, str] = Field(default_factory=dict)
    forge: Literal["github", "local"] | None = None  # default: the project's, else by the repository
    # The project's test command, run by every QA round (its failure is a defect of its own).
    test_command: str = Field(default="", max_length=2000)
    qa_rounds: int = Field(default=2, ge=0, le=5)  # 0: no QA
    # CI checks (by name) that must pass on the task's branch in every QA round: one that fails, or
    # does not report while QA waits (idea_qa's `ci` gate: 30 minutes), is a defect of its own.
    required_checks: list[CheckName] = Field(default_factory=list, max_length=MAX_GATE_CHECKS)
    # The spec, the tree, a branch and a draft pull request per issue; no code written, nothing merged.
    dry_run: bool = False  # QA rounds with fixes before the run waits for a person


class IdeaRequest(RequestModel, _Camel):
    """`POST /api/ideas`."""

    idea_text: str = Field(min_length=1, max_length=20_000)
    repo: str = Field(min_length=1, description="The repository: a path on this machine or a URL.")
    project: str | None = None  # a project's id or name: its agent, sandbox and forge apply
    options: IdeaOptions = Field(default_factory=IdeaOptions)


class RunCreated(_Camel):
    run_id: str


class TimelineEntry(_Camel):
    id: int
    type: str
    phase: str
    ts: datetime
    level: str
    msg: str
    data: dict[str, Any]

    @classmethod
    def of(cls, event: RunEventRecord) -> TimelineEntry:
        return cls(
            id=event.id, type=event.type, phase=event.phase, ts=event.ts, level=event.level,
            msg=event.msg, data=event.data,
        )  # fmt: skip


class Interrupt(_Camel):
    paused: bool
    reason: str | None = None


class RunView(_Camel):
    """`GET /api/runs/:runId`: the run's state and timeline."""

    run_id: str
    idea_text: str
    repo: str
    forge: str
    project_id: str | None
    options: dict[str, Any]
    state: RunState
    correlation_id: str
    root_issue_id: int | None
    current_issue_id: int | None
    interrupt: Interrupt
    error: str | None
    created_at: datetime
    updated_at: datetime
    timeline: list[TimelineEntry]

    @classmethod
    def of(cls, run: IdeaRunRecord, events: list[RunEventRecord]) -> RunView:
        return cls(
            run_id=run.id, idea_text=run.idea_text, repo=run.repository_url, forge=run.forge,
            project_id=run.project_id, options=run.options or {}, state=run.state,
            correlation_id=run.correlation_id, root_issue_id=run.root_issue_id,
            current_issue_id=run.current_issue_id,
            interrupt=Interrupt(paused=run.paused, reason=run.interrupt_reason), error=run.error,
            created_at=run.created_at, updated_at=run.updated_at,
            timeline=[TimelineEntry.of(e) for e in events],
        )  # fmt: skip


class IssueView(_Camel):
    """One issue of the tree, with its children (seed 002 §3.3)."""

    id: int
    run_id: str
    type: IssueType
    title: str
    body: str
    parent_id: int | None
    order_index: int
    status: IssueStatus
    branch: str | None
    pr_number: int | None
    pr_url: str | None
    labels: list[str]
    acceptance_criteria: list[str]
    dependencies: list[int]
    work_order_id: str | None
    forge_issue_number: int | None = Field(description="Its issue on the forge (GitHub), when mirrored.")
    children: list[IssueView] = Field(default_factory=list)

    @classmethod
    def of(cls, issue: IssueNodeRecord, children: list[IssueView] | None = None) -> IssueView:
        return cls(
            id=issue.id, run_id=issue.run_id, type=issue.type, title=issue.title, body=issue.body,
            parent_id=issue.parent_id, order_index=issue.order_index, status=issue.status,
            branch=issue.branch, pr_number=issue.pr_number, pr_url=issue.pr_url, labels=issue.labels,
            acceptance_criteria=issue.acceptance_criteria, dependencies=issue.dependencies,
            work_order_id=issue.work_order_id, forge_issue_number=issue.forge_issue_number,
            children=children or [],
        )  # fmt: skip


def tree_view(issues: list[IssueNodeRecord]) -> list[IssueView]:
    """The roots of `issues` (one: the epic), each with its descendants, siblings in order."""
    below = children_by_parent(issues)

    def view(issue: IssueNodeRecord) -> IssueView:
        return IssueView.of(issue, [view(child) for child in below.get(issue.id, [])])

    return [view(root) for root in below.get(None, [])]


class RunInterrupt(RequestModel, _Camel):
    """`POST /api/runs/:runId/interrupt`."""

    action: Literal["pause", "resume", "cancel"]
    reason: str | None = Field(default=None, max_length=2000)


class Reorder(RequestModel, _Camel):
    """`POST /api/issues/:id/reorder`: the issue's children's ids in the order they are to run."""

    order: list[int] = Field(min_length=1, max_length=1000)


IssueView.model_rebuild()
