"""Typed payloads of the workflow and its activities. Fields are only ever added."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from shipyard.domain.budget import Budget
from shipyard.domain.models import SandboxHandle, StepStatus, Usage, WorkOrderStatus
from shipyard.domain.work_orders import Step
from shipyard.workflows.schema import StepDef, WorkflowDefinition


class StartWorkOrderInput(BaseModel):
    """Everything the workflow needs; no secrets (Temporal history is plain text)."""

    work_order_id: str
    repository_url: str
    branch: str
    sandbox_type: str
    agent: str
    workflow_name: str | None = None
    workflow_text: str | None = None  # an inline definition (from --workflow-file or the API)
    workflow_source: str = "<inline>"
    inputs: dict[str, Any] = Field(default_factory=dict)
    implicit_inputs: list[str] = Field(default_factory=list)  # filled in by Shipyard: dropped if undeclared
    base_branch: str | None = None
    task_queue: str = "shipyard"
    heartbeat_timeout_s: float = 30.0
    step_timeout_s: float = 3600.0
    work_order_timeout_s: float = 6 * 3600.0
    budget: Budget | None = None  # the work order's own limits; the workflow's apply otherwise
    # Resolved when the work order was created (or retried), and `inputs` bound to it: used as is.
    # None only for a workflow the repository defines, resolved once it is cloned.
    definition: WorkflowDefinition | None = None
    start_at: str | None = None  # a retry: the step to start from
    previous: dict[str, StepOutput] = Field(default_factory=dict)  # outputs of the steps skipped
    open_pr: bool = False  # a child called with `merge: pr`: open its pull request as it completes


class PrepareResult(BaseModel):
    handle: SandboxHandle
    definition: WorkflowDefinition
    inputs: dict[str, Any]
    task_queue: str  # the worker-specific queue the sandbox lives on


class StepOutput(BaseModel):
    """A step's result, visible to later steps' templates as `steps.<id>`."""

    status: StepStatus
    output: str = ""
    exit_code: int | None = None
    commit_sha: str | None = None
    error: str | None = None
    session_id: str | None = None
    usage: Usage = Field(default_factory=Usage)
    output_data: Any = None  # the parsed JSON of a step with an `output_schema`, a call's outcome

    def in_templates(self) -> dict[str, Any]:
        """What templates see as `steps.<id>`: `output` is the parsed JSON when there is one."""
        view = self.model_dump(mode="json")
        if self.output_data is not None:
            view["output"] = self.output_data
        return view

    @classmethod
    def recorded(cls, row: Step, session_id: str | None = None) -> StepOutput:
        """A stored step as later steps' templates (and the workflow) see it."""
        return cls(
            status=row.status,
            output=row.output or "",
            exit_code=row.exit_code,
            commit_sha=row.commit_sha,
            error=row.error,
            session_id=session_id,
            output_data=row.output_data,
        )


class RunStepInput(BaseModel):
    work_order_id: str
    handle: SandboxHandle
    step: StepDef
    position: int
    agent: str
    inputs: dict[str, Any]
    steps: dict[str, StepOutput] = Field(default_factory=dict)
    step_timeout_s: float = 3600.0
    budget: Budget | None = None
    literal: bool = False  # a user's follow-up prompt: its text and commit message are not templates
    session_id: str | None = None  # resume this agent session (follow-up prompts)
    network: bool = False  # the step's commands may reach the network (sandboxes that can forbid it)
    secret_names: list[str] = Field(default_factory=list)  # project secrets to resolve in the activity
    # A loop's step runs once per iteration, each run a row of its own (`fix#2`).
    loop_iteration: int | None = None

    @property
    def row_id(self) -> str:
        """The step's row: its id, or `<id>#<iteration>` inside a loop."""
        return f"{self.step.id}#{self.loop_iteration}" if self.loop_iteration else self.step.id


class FinishInput(BaseModel):
    work_order_id: str
    status: WorkOrderStatus
    handle: SandboxHandle | None = None
    error: str | None = None
    dropped_prompts: list[str] = []
    open_pr: bool = False  # open the branch's pull request (a child called with `merge: pr`)


class FinishHereInput(BaseModel):
    """A finish offered to whichever worker runs the workflow task; done only on `task_queue`'s host."""

    finish: FinishInput
    task_queue: str


class CallInput(BaseModel):
    """A call step as it starts: what its templates see, and where the parent's sandbox is."""

    work_order_id: str
    handle: SandboxHandle
    step: StepDef
    position: int
    inputs: dict[str, Any]
    steps: dict[str, StepOutput] = Field(default_factory=dict)
    run_id: str  # the parent's workflow run: its children's ids derive from it and the item


class ChildPlan(BaseModel):
    """One child a call starts: its item (a fan-out's), its inputs rendered, the branch it starts from."""

    index: int
    item: Any = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    base: str | None = None  # None: the parent's branch as it is when the child is made
    # The child an earlier run of this step made for this item with these inputs (the parent was
    # retried), and how it ended: completed, it is kept; otherwise it is retried in place.
    earlier_id: str | None = None
    earlier_status: WorkOrderStatus | None = None

    @property
    def kept(self) -> bool:
        return self.earlier_status == WorkOrderStatus.COMPLETED


class CallPlan(BaseModel):
    """The children a call starts, in its list's order; none when its `when` skipped it."""

    skipped: bool = False
    children: list[ChildPlan] = Field(default_factory=list)


class ChildInput(BaseModel):
    """Make one child of a call: its row, and the input its workflow starts with."""

    call: CallInput
    plan: ChildPlan


class ChildResult(BaseModel):
    """What became of one child: an entry of the call's output (`steps.<id>.output`)."""

    index: int
    work_order_id: str | None = None
    status: str  # the child's status; `skipped` for one never started
    branch: str | None = None
    pr_url: str | None = None
    merge_sha: str | None = None  # the merge commit on the parent's branch (`merge: merge`)
    output: Any = None  # the child's last step's output
    error: str | None = None  # why it did not succeed (its own failure, a merge conflict, …)

    @property
    def succeeded(self) -> bool:
        return self.status == WorkOrderStatus.COMPLETED.value and self.error is None


class ChildEndInput(BaseModel):
    """A child has ended: bring its commits back (or open its pull request) and say how it went."""

    call: CallInput
    index: int
    work_order_id: str
    status: WorkOrderStatus
    error: str | None = None


class CallEndInput(BaseModel):
    """Every child of a call has ended (or was never started): the step's row and output."""

    call: CallInput
    children: list[ChildResult]
    stopped: bool = False  # the work order was stopping: the call is cancelled


class GateInput(BaseModel):
    """A step the workflow itself runs (a gate, a loop) as it changes: its row and an event."""

    work_order_id: str
    step_id: str
    position: int
    phase: str | None
    status: StepStatus
    output: str = ""
    message: str | None = None
    kind: str = "gate"
    output_data: Any = None  # a gate with checks: how each of them ended (`steps.<id>.output`)


class GateStart(BaseModel):
    """A gate with CI checks as it starts: what its `checks` template sees, and where it runs."""

    work_order_id: str
    handle: SandboxHandle
    step: StepDef
    position: int
    inputs: dict[str, Any]
    steps: dict[str, StepOutput] = Field(default_factory=dict)


class CheckReport(BaseModel):
    """A CI check's end as a gate heard of it: a `ci_status` signal, or the forge as the gate started."""

    name: str
    conclusion: str
    url: str = ""
    sha: str = ""


class GateChecks(BaseModel):
    """The checks a gate waits for, and those the forge already reports on the branch's commit."""

    names: list[str]
    reported: list[CheckReport] = Field(default_factory=list)
    head_sha: str = ""  # the commit of the branch whose checks count ("": unknown, any)


class LoopIterationInput(BaseModel):
    """A loop's iteration has ended: does its `until` hold now?"""

    work_order_id: str
    handle: SandboxHandle
    step: StepDef
    position: int
    iteration: int
    inputs: dict[str, Any]
    steps: dict[str, StepOutput] = Field(default_factory=dict)


class SetStatusInput(BaseModel):
    work_order_id: str
    status: WorkOrderStatus


class WorkOrderOutcome(BaseModel):
    status: WorkOrderStatus
    error: str | None = None


StartWorkOrderInput.model_rebuild()
