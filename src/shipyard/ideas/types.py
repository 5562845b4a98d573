"""What the idea run's workflow and its activities pass each other: plain data (Temporal history
is plain text, and the workflow's sandbox imports this module again)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from shipyard.domain.ideas import IssueType, RunState
from shipyard.engine.types import StartWorkOrderInput

# The work an issue gets, each a work order of a bundled workflow (ideas/workflows/):
# spec: the spec and the plan (the epic); implement: a leaf; integrate: an inner node's pull
# request once its children are merged; release: the notes on the integration branch.
# qa: a task's QA on its branch (a round at a time).
# draft: a dry run's issue text and draft pull request on the issue's branch.
# resolve: the bundled resolve_conflicts on an issue's pull request that does not merge.
WorkKind = Literal["spec", "implement", "integrate", "qa", "release", "draft", "resolve"]
RESOLVES = 2  # conflict resolutions of one pull request before the run fails
QA_ROUNDS = 2  # QA rounds with fixes in between before the run waits for a person


class RunInput(BaseModel):
    run_id: str
    qa_rounds: int = QA_ROUNDS  # 0: no QA
    dry_run: bool = False  # the spec, the tree, branches and draft pull requests; nothing built or merged


class Node(BaseModel):
    """An issue of the tree, as the workflow walks it."""

    id: int
    type: IssueType
    title: str
    done: bool = False
    children: list[Node] = Field(default_factory=list)


class WorkInput(BaseModel):
    run_id: str
    issue_id: int
    kind: WorkKind
    round: int = 0  # a QA round's number (each round is a work order of its own)


class WorkStart(BaseModel):
    """The issue's work order: the input to start it with, or none when an earlier walk of the
    tree (before a retry) completed it already."""

    work_order_id: str
    start: StartWorkOrderInput | None = None


class QaInput(BaseModel):
    run_id: str
    issue_id: int
    work_order_id: str  # the QA round's work order
    round: int


class HoldInput(BaseModel):
    run_id: str
    reason: str


class WorkEnded(BaseModel):
    run_id: str
    issue_id: int
    kind: WorkKind
    work_order_id: str
    status: str  # the work order's
    error: str | None = None


class StateInput(BaseModel):
    run_id: str
    state: RunState
    msg: str
    error: str | None = None


class IssueInput(BaseModel):
    run_id: str
    issue_id: int


class ReleaseInput(BaseModel):
    run_id: str
    work_order_id: str  # the release notes' work order


Node.model_rebuild()


class DeployPlan(BaseModel):
    """Whether the run's release deploys (its project's settings say `auto`), where, and whether
    a person approves it first."""

    env: str | None = None
    approval: bool = False


class DeployAsk(BaseModel):
    run_id: str
    version: str
    env: str
