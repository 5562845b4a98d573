"""The work order and its steps as the read model keeps them, and the typed changes made to them.

The records' field names are the API's (seed 003's `git_commit_count`, `usage_turns`, …); a
branch's progress and a usage travel as value objects (`BranchProgress`, `Usage`) and are spread
over those fields here, in one place, for the store and for a change applied in memory.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Protocol, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shipyard.domain.models import SandboxHandle, StepStatus, Usage, WorkOrderStatus
from shipyard.domain.projects import ForgeName


class ProgressTotals(Protocol):
    """Totals of a branch read from git (`shipyard.gitutil.GitProgress` matches this)."""

    @property
    def commit_count(self) -> int: ...
    @property
    def files_changed(self) -> int: ...
    @property
    def lines_added(self) -> int: ...
    @property
    def lines_removed(self) -> int: ...
    @property
    def latest_commit_sha(self) -> str | None: ...
    @property
    def latest_commit_message(self) -> str | None: ...


class BranchProgress(BaseModel):
    """What a work order's branch holds beyond its base: commits, files and lines, the latest commit."""

    commit_count: int = 0
    files_changed: int = 0
    lines_added: int = 0
    lines_removed: int = 0
    latest_commit_sha: str | None = None
    latest_commit_message: str | None = None

    @classmethod
    def of(cls, totals: ProgressTotals) -> BranchProgress:
        """The progress a read of git found (the one mapping from gitutil's `GitProgress`)."""
        return cls(
            commit_count=totals.commit_count,
            files_changed=totals.files_changed,
            lines_added=totals.lines_added,
            lines_removed=totals.lines_removed,
            latest_commit_sha=totals.latest_commit_sha,
            latest_commit_message=totals.latest_commit_message,
        )

    def fields(self) -> dict[str, Any]:
        """The progress as a work order's fields (and the API's names)."""
        return {
            "git_commit_count": self.commit_count,
            "git_files_changed": self.files_changed,
            "git_lines_added": self.lines_added,
            "git_lines_removed": self.lines_removed,
            "latest_commit_sha": self.latest_commit_sha,
            "latest_commit_message": self.latest_commit_message,
        }


def usage_fields(usage: Usage) -> dict[str, Any]:
    """A usage as a work order's or step's `usage_*` fields."""
    return {f"usage_{name}": value for name, value in usage.model_dump().items()}


class _WithUsage(BaseModel):
    usage_turns: int
    usage_input_tokens: int
    usage_cached_input_tokens: int = 0
    usage_cache_write_tokens: int = 0
    usage_output_tokens: int
    usage_reasoning_tokens: int = 0
    usage_cost_usd: float | None
    usage_cost_estimated: bool = False

    @property
    def usage(self) -> Usage:
        """The `usage_*` fields as one `Usage`."""
        return Usage(**{name: getattr(self, f"usage_{name}") for name in Usage.model_fields})


class _Change(BaseModel):
    """Fields to set: only those given are written; `None` empties one that may be empty."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    kept: ClassVar[frozenset[str]] = frozenset()  # fields that can be changed but never emptied

    @model_validator(mode="after")
    def _keeps_required(self) -> Self:
        emptied = sorted(name for name in self.kept & self.model_fields_set if getattr(self, name) is None)
        if emptied:
            raise ValueError(f"{', '.join(emptied)} cannot be emptied")
        return self

    def fields(self) -> dict[str, Any]:
        """The record's fields this change sets, a usage spread over the `usage_*` ones."""
        values = {name: getattr(self, name) for name in self.model_fields_set}
        if "usage" in values:
            values |= usage_fields(values.pop("usage"))
        return values


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


class WorkOrder(_WithUsage):
    """One work order as the read model holds it."""

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

    @property
    def progress(self) -> BranchProgress:
        """The `git_*` and `latest_commit_*` fields as one `BranchProgress`."""
        return BranchProgress(
            commit_count=self.git_commit_count,
            files_changed=self.git_files_changed,
            lines_added=self.git_lines_added,
            lines_removed=self.git_lines_removed,
            latest_commit_sha=self.latest_commit_sha,
            latest_commit_message=self.latest_commit_message,
        )

    def changed(self, change: WorkOrderChange) -> WorkOrder:
        """The work order as it will be once `change` is written."""
        return self.model_copy(update=change.fields())


class WorkOrderChange(_Change):
    """What happens to a work order after it is created (`Store.update_work_order` writes it)."""

    kept: ClassVar[frozenset[str]] = frozenset({"status", "workflow_type", "progress", "usage"})

    status: WorkOrderStatus | None = None  # must be a legal transition from the stored one
    workflow_type: str | None = None
    definition: dict[str, Any] | None = None
    current_phase: str | None = None
    git_branch_name: str | None = None
    base_branch: str | None = None
    sandbox: SandboxHandle | None = None
    agent_session_id: str | None = None
    error_message: str | None = None
    execution_started_at: datetime | None = None
    execution_completed_at: datetime | None = None
    github_pull_request_url: str | None = None
    github_comment_id: str | None = None
    progress: BranchProgress | None = None
    usage: Usage | None = None  # the work order's total so far

    def fields(self) -> dict[str, Any]:
        """The work order's fields this change sets, progress and usage spread over theirs."""
        values = super().fields()
        if "progress" in values:
            values |= values.pop("progress").fields()
        return values


class Step(_WithUsage):
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
    output_data: Any = None  # the parsed JSON of a step with an `output_schema`


class StepChange(_Change):
    """What is reported of a step (`Store.upsert_step` creates the step or writes it)."""

    kept: ClassVar[frozenset[str]] = frozenset({"position", "kind", "status", "attempt", "usage"})

    position: int | None = None
    kind: str | None = None
    phase: str | None = None
    agent: str | None = None
    status: StepStatus | None = None
    attempt: int | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    exit_code: int | None = None
    output: str | None = None
    error: str | None = None
    commit_sha: str | None = None
    usage: Usage | None = None
    output_data: Any = None
