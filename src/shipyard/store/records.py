"""The pydantic records the store takes and returns besides the domain's work orders and steps;
callers never see ORM objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shipyard.domain.budget import Budget
from shipyard.domain.errors import InvalidInput
from shipyard.domain.ideas import IssueStatus, IssueType, RunState, new_run_id
from shipyard.domain.plans import ClusterStatus, CodingPlan, JobStatus
from shipyard.domain.projects import DeploymentSettings, ForgeName, ProjectCreate, ProjectUpdate, Source
from shipyard.domain.work_orders import WorkOrderChange


class _Record(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ProjectRecord(_Record):
    """One project as stored; `github_repository` is lower-case."""

    id: str
    name: str
    repository_url: str
    github_repository: str | None
    forge: ForgeName
    agent: str | None
    sandbox_type: str | None
    budget: Budget | None
    limits: dict[str, int] | None = None
    deployment: DeploymentSettings | None = None
    sources: list[Source]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class NewEvent:
    """An event to append: its type, data and level, and when it happened (else: when written)."""

    type: str
    data: dict[str, Any]
    level: str = "info"
    ts: datetime | None = None


class EventRecord(_Record):
    """One event; `id` increases with every event appended, across all work orders."""

    id: int
    work_order_id: str
    step_id: str | None
    type: str
    level: str
    ts: datetime
    data: dict[str, Any]


class PullRequestRecord(_Record):
    """A pull request kept by the local forge (or mirrored from a remote one); one opened by
    hand has no work order."""

    id: int
    work_order_id: str | None
    repository_url: str
    number: int
    url: str | None
    title: str
    body: str
    head_branch: str
    base_branch: str
    state: str
    draft: bool
    commits: int
    files_changed: int
    lines_added: int
    lines_removed: int
    created_at: datetime
    updated_at: datetime


class DeliverySummary(_Record):
    """A received webhook delivery and what processing made of it, without its payload (up to
    25 MB each: lists leave it out)."""

    id: int
    source: str
    hook_id: str
    delivery_id: str
    event: str
    action: str | None
    status: str
    result: dict[str, Any] | None
    received_at: datetime
    processed_at: datetime | None
    attempts: int = 0  # times a processor took it up (more than one: one before was cut short)


class DeliveryRecord(DeliverySummary):
    """A received webhook delivery with its payload."""

    payload: dict[str, Any]


FINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")  # of an `orchestrator.status` report


class DispatchRecord(_Record):
    """A repository_dispatch as sent (or tried)."""

    id: str
    repository: str
    event_type: str
    client_payload: dict[str, Any]
    work_order_id: str | None
    status: str
    error: str | None
    created_at: datetime
    sent_at: datetime | None
    reports: list[dict[str, Any]] | None = None  # `orchestrator.status` reports, once per state

    @property
    def final_report(self) -> dict[str, Any] | None:
        """The report that ended the work the dispatch started, if one came."""
        return next((r for r in self.reports or [] if r.get("state") in FINAL_STATES), None)


class InstallationRecord(_Record):
    """An installation of the GitHub App, as recorded."""

    id: int
    app_id: str
    account: str
    account_type: str
    repository_selection: str
    html_url: str
    created_at: datetime
    updated_at: datetime


def checked_fields(fields: dict[str, Any], allowed: frozenset[str], what: str) -> dict[str, Any]:
    """`fields` as a dict; TypeError naming any that are not in `allowed`."""
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise TypeError(f"unknown {what} field(s): {', '.join(unknown)}")
    return dict(fields)


def project_columns(data: ProjectCreate) -> dict[str, Any]:
    """A new project's column values (all but id, forge and the timestamps)."""
    return _lowered(data.model_dump(mode="json", exclude={"forge"}))


def project_changes(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields of a project update, validated as a ProjectUpdate, as column values;
    InvalidInput naming the first bad one."""
    try:
        update = ProjectUpdate.model_validate(fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise InvalidInput(f"invalid project {where or 'fields'}: {error['msg']}") from None
    dumped = update.model_dump(mode="json")
    return _lowered({key: dumped[key] for key in update.model_fields_set})


def _lowered(values: dict[str, Any]) -> dict[str, Any]:
    if values.get("github_repository") is not None:
        values["github_repository"] = values["github_repository"].lower()
    return values


def work_order_columns(change: WorkOrderChange) -> dict[str, Any]:
    """The `work_order` columns a change sets: the domain's fields (progress and usage spread over
    theirs), the sandbox handle as the JSON its column keeps."""
    values = change.fields()
    if values.get("sandbox") is not None:
        values["sandbox"] = values["sandbox"].model_dump(mode="json")
    return values


class ArtifactRecord(_Record):
    """An artifact's description (its content is read on its own)."""

    work_order_id: str
    name: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime


class IdeaRunCreate(BaseModel):
    """A new idea run: the idea, where it goes, and the id its log lines carry."""

    id: str = Field(default_factory=new_run_id)
    idea_text: str
    repository_url: str
    project_id: str | None = None
    forge: str
    options: dict[str, Any] = {}
    correlation_id: str


class IdeaRunRecord(_Record):
    """One idea run as stored."""

    id: str
    idea_text: str
    repository_url: str
    project_id: str | None
    forge: str
    options: dict[str, Any]
    state: RunState
    correlation_id: str
    root_issue_id: int | None
    current_issue_id: int | None
    paused: bool
    interrupt_reason: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime


class PlannedIssue(BaseModel):
    """An issue to plant with its children; `depends_on` names earlier siblings by position."""

    type: IssueType
    title: str
    body: str = ""
    acceptance_criteria: list[str] = []
    labels: list[str] = []
    children: list[PlannedIssue] = []
    depends_on: list[int] = []


class IssueNodeRecord(_Record):
    """One issue of a run's tree; `dependencies` are the ids of siblings to finish first."""

    id: int
    run_id: str
    parent_id: int | None
    type: IssueType
    title: str
    body: str
    acceptance_criteria: list[str]
    order_index: int
    dependencies: list[int]
    status: IssueStatus
    branch: str | None
    pr_number: int | None
    pr_url: str | None
    labels: list[str]
    work_order_id: str | None
    forge_issue_number: int | None
    created_at: datetime
    updated_at: datetime


class RunEventRecord(_Record):
    """One event of an idea run; `id` increases with every event appended, across all runs."""

    id: int
    run_id: str
    type: str
    phase: str
    level: str
    msg: str
    data: dict[str, Any]
    ts: datetime


def record_changes(current: BaseModel, fields: dict[str, Any], what: str) -> dict[str, Any]:
    """`fields` validated as fields of `current`'s record, as column values (enums as their
    values); InvalidInput naming the first bad one."""
    try:
        changed = type(current).model_validate({**current.model_dump(), **fields})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise InvalidInput(f"invalid {what} {where or 'fields'}: {error['msg']}") from None
    return changed.model_dump(mode="json", include=set(fields))


class DeploymentRecord(_Record):
    """A deployment of a project's version to one of its environments (seed 002 §7.1)."""

    id: str
    project_id: str
    env: str
    version: str
    status: str  # pending | in_progress | success | failure | inactive | rolled_back
    work_order_id: str | None
    rollback_of: str | None  # the deployment this one rolled back
    github_deployment_id: int | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class ClusterCreate(BaseModel):
    """What a new cluster is made of (its id chosen by the caller)."""

    id: str
    title: str
    summary: str
    repository_url: str
    project_id: str | None
    items: list[dict[str, Any]]


class ClusterRecord(_Record):
    """A cluster of feedback (seed 004) as stored."""

    id: str
    title: str
    summary: str
    repository_url: str
    project_id: str | None
    items: list[dict[str, Any]]
    status: ClusterStatus
    error: str | None
    created_at: datetime
    updated_at: datetime


class PlanRecord(_Record):
    """One version of a cluster's coding plan."""

    cluster_id: str
    version: int
    plan: CodingPlan
    source: str  # generated | edited
    work_order_id: str | None
    agent: str | None
    created_at: datetime


class JobRecord(_Record):
    """A fix job (seed 004's AgentJob) as stored."""

    id: str
    cluster_id: str
    runner: str
    status: JobStatus
    plan_version: int | None
    plan_work_order_id: str | None
    work_order_id: str | None
    pr_url: str | None
    error: str | None
    log: list[str]
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
