"""Response shapes of the API: work orders (seed 003's names, widened) and projects."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from shipyard.domain.models import Usage
from shipyard.domain.work_orders import Step, WorkOrder
from shipyard.service.requests import CheckedRequest
from shipyard.store.records import EventRecord, ProjectRecord, PullRequestRecord
from shipyard.workflows.plan import WorkflowPlan


class AgentWorkOrder(BaseModel):
    agent_work_order_id: str
    repository_url: str
    git_branch_name: str | None
    base_branch: str | None
    agent_session_id: str | None
    workflow_type: str
    sandbox_type: str
    sandbox_identifier: str | None  # e.g. the E2B sandbox's id; None before the sandbox is set up
    agent: str
    github_issue_number: str | None
    inputs: dict[str, Any]
    status: str
    current_phase: str | None
    created_at: datetime
    updated_at: datetime
    execution_started_at: datetime | None
    execution_completed_at: datetime | None
    github_pull_request_url: str | None
    git_commit_count: int
    git_files_changed: int
    git_lines_added: int
    git_lines_removed: int
    latest_commit_sha: str | None
    latest_commit_message: str | None
    error_message: str | None
    budget: dict[str, Any] | None
    usage: Usage
    project_id: str | None = None
    forge: str = "local"
    trigger: dict[str, Any] | None = None  # what started it: {"source", "event", "delivery_id", ...}
    parent_id: str | None = None  # the work order whose `call` step started this one
    # The work orders its `call` steps started, oldest first (in a single work order's answer;
    # None in lists, which do not read them).
    children: list[str] | None = None

    @classmethod
    def of(cls, wo: WorkOrder, children: list[str] | None = None) -> AgentWorkOrder:
        sandbox = wo.sandbox.identifier if wo.sandbox else None
        fields = wo.model_dump(exclude={"definition", "sandbox"})  # not answered: not dumped
        return cls(
            agent_work_order_id=wo.id, sandbox_identifier=sandbox, usage=wo.usage, children=children, **fields
        )


class AgentWorkOrderResponse(BaseModel):
    agent_work_order: AgentWorkOrder
    logs_url: str

    @classmethod
    def of(cls, wo: WorkOrder, children: list[str] | None = None) -> AgentWorkOrderResponse:
        return cls(
            agent_work_order=AgentWorkOrder.of(wo, children), logs_url=f"/api/agent-work-orders/{wo.id}/logs"
        )


class WorkOrderPlan(BaseModel):
    """The answer to a create with `"dry_run": true`: the work order it would make, nothing made."""

    dry_run: Literal[True] = True
    repository_url: str
    agent: str
    sandbox_type: str
    forge: str
    base_branch: str | None = Field(description="null: the repository's default branch.")
    project_id: str | None
    budget: dict[str, Any] | None
    workflow: WorkflowPlan

    @classmethod
    def of(cls, checked: CheckedRequest, plan: WorkflowPlan) -> WorkOrderPlan:
        return cls(
            repository_url=checked.repository_url,
            agent=checked.agent,
            sandbox_type=checked.sandbox_type,
            forge=checked.forge,
            base_branch=checked.base_branch,
            project_id=checked.project.id if checked.project else None,
            budget=checked.budget.model_dump(mode="json") if checked.budget else None,
            workflow=plan,
        )


class AgentWorkOrderList(BaseModel):
    agent_work_orders: list[AgentWorkOrder]
    total_count: int
    has_more: bool


class PhaseEntry(BaseModel):
    phase: str
    started_at: datetime | None
    completed_at: datetime | None
    commits: int


class CommitEntry(BaseModel):
    sha: str
    message: str
    phase: str | None
    committed_at: datetime
    files_changed: int
    lines_added: int
    lines_removed: int


class GitProgressSnapshot(BaseModel):
    agent_work_order_id: str
    current_phase: str | None
    git_commit_count: int
    git_files_changed: int
    git_lines_added: int
    git_lines_removed: int
    latest_commit_message: str | None
    latest_commit_sha: str | None
    snapshot_timestamp: datetime
    phase_history: list[PhaseEntry]
    commits: list[CommitEntry]


class LogEntries(BaseModel):
    agent_work_order_id: str
    log_entries: list[dict[str, Any]]
    total_count: int
    has_more: bool

    @staticmethod
    def entry(event: EventRecord) -> dict[str, Any]:
        return {
            "id": event.id,
            "timestamp": event.ts,
            "level": event.level,
            "event": event.type,
            "agent_work_order_id": event.work_order_id,
            "step_id": event.step_id,
            **event.data,
        }


class StepList(BaseModel):
    agent_work_order_id: str
    steps: list[Step]


class PullRequestResponse(BaseModel):
    pull_request: PullRequestRecord


class ProjectResponse(BaseModel):
    project: ProjectRecord


class ProjectList(BaseModel):
    projects: list[ProjectRecord]


class Health(BaseModel):
    status: str
    version: str
    database: str
    temporal: str
    temporal_restarts: int = 0  # the embedded dev server's restarts since `serve` started
    disk: str = "ok"  # ok | low | unknown: the data dir's file system
    disk_free_bytes: int | None = None
    disk_total_bytes: int | None = None
