"""Statuses, usage and the typed payloads that cross package and Temporal boundaries."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_core import PydanticCustomError

from shipyard.domain.budget import Budget
from shipyard.domain.jsontext import json_problem


class RequestModel(BaseModel):
    """A request from outside: its text and JSON must pass `domain.jsontext`'s checks (422)."""

    @model_validator(mode="before")
    @classmethod
    def _checked_json(cls, data: Any) -> Any:
        problem = json_problem(data)
        if problem is not None:
            raise PydanticCustomError("invalid_text", problem)
        return data


class WorkOrderStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"  # held between steps until resumed
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = {WorkOrderStatus.COMPLETED, WorkOrderStatus.FAILED, WorkOrderStatus.CANCELLED}

_TRANSITIONS: dict[WorkOrderStatus, set[WorkOrderStatus]] = {
    WorkOrderStatus.PENDING: {WorkOrderStatus.RUNNING, *_TERMINAL},
    WorkOrderStatus.RUNNING: {WorkOrderStatus.PAUSED, *_TERMINAL},
    WorkOrderStatus.PAUSED: {WorkOrderStatus.RUNNING, *_TERMINAL},
    WorkOrderStatus.COMPLETED: set(),
    WorkOrderStatus.FAILED: {WorkOrderStatus.PENDING},  # retry
    WorkOrderStatus.CANCELLED: {WorkOrderStatus.PENDING},  # retry
}


def can_transition(current: WorkOrderStatus, new: WorkOrderStatus) -> bool:
    """Whether a work order may move from `current` to `new` (same status is a no-op, allowed)."""
    return current == new or new in _TRANSITIONS[current]


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    WAITING = "waiting"  # a gate waiting for approval
    QUEUED = "queued"  # in line for a slot of its agent (SHIPYARD_AGENT_LIMITS)


class Usage(BaseModel):
    """What an agent run consumed. `input_tokens` counts all input: `cached_input_tokens` of it were
    read from the provider's prompt cache and `cache_write_tokens` written to it; `reasoning_tokens`
    are part of `output_tokens`. `cost_usd` is None when neither the agent reports it nor a price
    table knows its model; `cost_estimated` says it is Shipyard's estimate from a price table (per
    message, as the agent streams), not yet the agent's own figure."""

    turns: int = 0
    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float | None = None
    cost_estimated: bool = False

    def __add__(self, other: Usage) -> Usage:
        cost = None
        if self.cost_usd is not None or other.cost_usd is not None:
            cost = (self.cost_usd or 0.0) + (other.cost_usd or 0.0)
        counts = {name: getattr(self, name) + getattr(other, name) for name in TOKEN_COUNTS}
        return Usage(**counts, cost_usd=cost, cost_estimated=self.cost_estimated or other.cost_estimated)


# A Usage's counts, summed across steps and work orders.
TOKEN_COUNTS = (
    "turns",
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
)


class ExecResult(BaseModel):
    """The outcome of one command in a sandbox. A non-zero exit is data, not an exception."""

    exit_code: int
    stdout: str = ""
    stderr: str = ""
    duration_s: float = 0.0
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


class SandboxSpec(BaseModel):
    """What a sandbox needs to be set up."""

    work_order_id: str
    repository_url: str
    branch: str
    base_branch: str | None = None  # None: the repository's default branch
    git_token: SecretStr | None = Field(default=None, exclude=True)  # for an https origin; never stored


REMOTE_ID = "sandbox_id"  # the key of a remote sandbox's id (E2B's) in SandboxHandle.extra


class SandboxHandle(BaseModel):
    """A set-up sandbox, serialisable so later activities can find it again."""

    sandbox_type: str
    work_order_id: str
    repository_url: str
    path: str  # the working tree on the worker's disk
    branch: str
    base_branch: str
    base_sha: str
    extra: dict[str, Any] = Field(default_factory=dict)

    @property
    def identifier(self) -> str:
        """Seed 003's `sandbox_identifier`: the remote sandbox's id where there is one."""
        remote = self.extra.get(REMOTE_ID)
        return (
            remote
            if isinstance(remote, str)
            else f"{self.sandbox_type.replace('_', '-')}-{self.work_order_id}"
        )


class AgentRequest(BaseModel):
    """One agent run: a prompt in a workspace."""

    prompt: str
    model: str | None = None
    session_id: str | None = None  # resume this agent session where the adapter supports it
    timeout_s: float | None = None
    step_id: str | None = None


class AgentResult(BaseModel):
    """What an agent run produced. `ok` is judged from the agent's own events, not its exit code."""

    ok: bool
    output: str = ""  # the agent's final answer
    session_id: str | None = None
    usage: Usage = Field(default_factory=Usage)
    error: str | None = None
    error_kind: str | None = None  # rate_limit | overloaded | auth | bad_request | max_turns | error
    retryable: bool = False


class Availability(BaseModel):
    """Whether an adapter can run here, and why not. An agent CLI that is not there is not
    `installed`; one that would start but cannot log in lacks `credentials`."""

    available: bool
    reason: str = ""
    version: str | None = None
    installed: bool = True
    credentials: bool = True
    binary: str | None = None  # the executable a CLI agent runs, found where its adapter looks

    @property
    def state(self) -> str:
        """`ready`, `no credentials`, `not installed` or `unavailable` (there, but it does not run)."""
        if not self.installed:
            return "not installed"
        if not self.credentials:
            return "no credentials"
        return "ready" if self.available else "unavailable"


class InterruptAction(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"


class InterruptRequest(RequestModel):
    """`POST …/interrupt`: pause (between steps), resume, or cancel a work order."""

    action: InterruptAction
    reason: str | None = None


class PromptRequest(RequestModel):
    """`POST …/prompt` (seed 003): a user message for the agent, delivered as a follow-up turn."""

    prompt_text: str = Field(min_length=1)
    agent_work_order_id: str | None = None  # seed 003 repeats the id in the body; ignored


class ApproveRequest(RequestModel):
    """`POST …/approve`: let a work order waiting at a gate go on; `response` is the gate's output."""

    response: str = ""


class RetryRequest(RequestModel):
    """`POST …/retry`: run again from `step_id`, or from the first step that did not complete."""

    step_id: str | None = None


class CreateWorkOrderRequest(RequestModel):
    """A request for a work order, from the API, the CLI or a trigger (seed-003 shape, widened)."""

    repository_url: str
    workflow_type: str | None = None  # a workflow name; optional when `workflow_definition` is given
    workflow_definition: str | None = None  # an inline YAML definition
    workflow_source: str | None = None  # where the inline definition came from (a file name)
    sandbox_type: str | None = None  # default: settings.sandbox
    agent: str | None = None  # default: settings.agent
    inputs: dict[str, Any] = Field(default_factory=dict)
    initial_prompt: str | None = None  # seed 003: becomes the `prompt` input
    github_issue_number: str | None = None  # becomes the `issue` input
    # Work on this pull request's branch (its base the base); becomes the `pr` and `pull_request` inputs.
    github_pull_request_number: int | None = Field(default=None, ge=1, le=2**31 - 1)
    base_branch: str | None = None
    title: str | None = None  # names the branch; default: the prompt
    budget: Budget | None = None  # limits for this work order; override the workflow's own
    project: str | None = None  # a project's id or name: its agent, sandbox, budget and forge apply
    forge: Literal["github", "local"] | None = None  # default: the project's, else by repository URL
    # Resolve, bind and validate, and answer the plan (200) without creating anything.
    dry_run: bool = False
