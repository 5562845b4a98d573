"""The pydantic records the store takes and returns; callers never see ORM objects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shipyard.domain.budget import Budget
from shipyard.domain.errors import InvalidInput
from shipyard.domain.models import SandboxHandle, StepStatus, Usage, WorkOrderStatus
from shipyard.domain.projects import ForgeName, ProjectCreate, ProjectUpdate, Source


class _Record(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class _WithUsage(_Record):
    usage_turns: int
    usage_input_tokens: int
    usage_output_tokens: int
    usage_cost_usd: float | None

    @property
    def usage(self) -> Usage:
        """The usage columns as one `Usage`."""
        return Usage(
            turns=self.usage_turns,
            input_tokens=self.usage_input_tokens,
            output_tokens=self.usage_output_tokens,
            cost_usd=self.usage_cost_usd,
        )


def usage_columns(usage: Usage) -> dict[str, Any]:
    """A `Usage` as the `usage_*` column values that update_work_order and upsert_step take."""
    return {
        "usage_turns": usage.turns,
        "usage_input_tokens": usage.input_tokens,
        "usage_output_tokens": usage.output_tokens,
        "usage_cost_usd": usage.cost_usd,
    }


class WorkOrderCreate(BaseModel):
    """What a new work order is created from; it starts `pending`."""

    id: str
    repository_url: str
    workflow_type: str
    sandbox_type: str
    agent: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    base_branch: str | None = None
    github_issue_number: str | None = None
    parent_id: str | None = None
    git_branch_name: str | None = None
    budget: dict[str, Any] | None = None
    project_id: str | None = None
    forge: ForgeName = "local"
    trigger: dict[str, Any] | None = None  # what started it: {"source", "event", "delivery_id", ...}
    github_comment_id: str | None = None  # a comment already posted for it (ChatOps' answer)
    definition: dict[str, Any] | None = None  # resolved at creation, unless the repository holds it


class WorkOrderRecord(_WithUsage):
    """One work order as stored."""

    id: str
    repository_url: str
    workflow_type: str
    sandbox_type: str
    agent: str
    status: WorkOrderStatus
    current_phase: str | None
    git_branch_name: str | None
    base_branch: str | None
    agent_session_id: str | None
    github_issue_number: str | None
    inputs: dict[str, Any]
    error_message: str | None
    parent_id: str | None
    sandbox: SandboxHandle | None
    definition: dict[str, Any] | None = None  # the resolved workflow definition, once prepared
    budget: dict[str, Any] | None = None  # the work order's own limits (a workflow's apply otherwise)
    created_at: datetime
    updated_at: datetime
    execution_started_at: datetime | None
    execution_completed_at: datetime | None
    git_commit_count: int
    git_files_changed: int
    git_lines_added: int
    git_lines_removed: int
    latest_commit_sha: str | None
    latest_commit_message: str | None
    github_pull_request_url: str | None
    github_comment_id: str | None = None
    project_id: str | None = None
    forge: ForgeName = "local"
    trigger: dict[str, Any] | None = None


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
    sources: list[Source]
    created_at: datetime
    updated_at: datetime


class StepRecord(_WithUsage):
    """One step of a work order, as last reported."""

    work_order_id: str
    step_id: str
    position: int
    kind: str
    phase: str | None
    agent: str | None
    status: StepStatus
    attempt: int
    started_at: datetime | None
    completed_at: datetime | None
    exit_code: int | None
    output: str | None
    error: str | None
    commit_sha: str | None


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
    """A pull request kept by the local forge (or mirrored from a remote one)."""

    id: int
    work_order_id: str
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


class DeliveryRecord(_Record):
    """A received webhook delivery and what processing made of it."""

    id: int
    source: str
    hook_id: str
    delivery_id: str
    event: str
    action: str | None
    payload: dict[str, Any]
    status: str
    result: dict[str, Any] | None
    received_at: datetime
    processed_at: datetime | None


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


def work_order_status(value: Any) -> WorkOrderStatus:
    """`value` as a status; InvalidInput if it is not one."""
    try:
        return WorkOrderStatus(value)
    except ValueError:
        raise InvalidInput(f"unknown work order status '{value}'") from None


def step_status(value: Any) -> str:
    """`value` as a step status string; InvalidInput if it is not one."""
    try:
        return StepStatus(value).value
    except ValueError:
        raise InvalidInput(f"unknown step status '{value}'") from None


def sandbox_dump(value: Any) -> dict[str, Any]:
    """A SandboxHandle (or its dict) as the JSON the `sandbox` column keeps."""
    try:
        handle = SandboxHandle.model_validate(value.model_dump() if isinstance(value, BaseModel) else value)
    except ValidationError as exc:
        raise InvalidInput(f"invalid sandbox handle: {exc.errors()[0]['msg']}") from None
    return handle.model_dump(mode="json")


class ArtifactRecord(_Record):
    """An artifact's description (its content is read on its own)."""

    work_order_id: str
    name: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime
