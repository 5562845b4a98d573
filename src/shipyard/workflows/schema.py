"""The workflow definition schema: pure pydantic, no I/O (the Temporal workflow imports it).

A definition travels through Temporal as `model_dump(mode="json")` and comes back through
`model_validate`, so every field must survive that round trip.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal, get_args

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from shipyard.domain.projects import Source
from shipyard.workflows import graph

StepKind = Literal["run", "prompt", "pr", "gate", "call", "loop", "review", "reply", "actions"]
# A project secret, given to steps as the environment variable of that name.
SecretName = Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")]
STEP_KINDS: tuple[StepKind, ...] = get_args(StepKind)
LOOP_STEP_KINDS = ("run", "prompt")  # what a loop's own steps may be
MAX_LOOP_ITERATIONS = 100
MAX_LOOP_RUNS = 999  # iterations times steps: a loop's rows are numbered within its step's position
MAX_FAN_OUT = 100  # children of one fan-out: each is a work order, and the parent's history grows with them
MAX_GATE_CHECKS = 50  # checks one gate waits for
MAX_CHECK_NAME = 200  # characters of a check's name
# Names a fan-out's item cannot take: templates see these already.
RESERVED_NAMES = frozenset({"inputs", "steps", "work_order", "loop", "command"})
InputType = Literal["string", "number", "boolean"]

_DURATION = re.compile(r"(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _custom(kind: str, message: str) -> PydanticCustomError:
    # No context given, so braces in `message` are kept as they are.
    return PydanticCustomError(kind, message)


def parse_duration(value: Any) -> float | None:
    """Seconds from `90`, `"90"`, `"90s"`, `"30m"`, `"2h"` or `"1h30m"`; None stays None."""
    if value is None:
        return None
    seconds = _seconds_of(value)
    if seconds is None or not math.isfinite(seconds):
        raise _custom("duration", f"invalid duration {value!r} (use e.g. 90, 90s, 30m, 2h, 1h30m)")
    if seconds <= 0:
        raise _custom("duration", f"invalid duration {value!r}: it must be more than zero")
    return seconds


def _seconds_of(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _NUMBER.fullmatch(text):
        return float(text)
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        return None
    units = (("h", 3600), ("m", 60), ("s", 1))
    return sum(float(match.group(unit) or 0) * factor for unit, factor in units)


def coerce_input(kind: InputType, value: Any) -> Any:
    """Convert a given value (often a string from a CLI or form) to an input's declared type."""
    if value is None:
        return None
    if kind == "string":
        if isinstance(value, str | int | float | bool):
            return str(value).lower() if isinstance(value, bool) else str(value)
        raise ValueError(f"expected a string, got {value!r}")
    if kind == "number":
        return _to_number(value)
    return _to_boolean(value)


def _to_number(value: Any) -> int | float:
    number: int | float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        number = _parse_number(value.strip())
    if number is None or not math.isfinite(number):
        raise ValueError(f"expected a number, got {value!r}")
    return number


def _parse_number(text: str) -> int | float | None:
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return None


def _to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"expected a boolean (true/false), got {value!r}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputSpec(_Strict):
    """One declared input of a workflow."""

    type: InputType = "string"
    required: bool = False
    default: Any = None
    description: str = ""

    @model_validator(mode="after")
    def _default_matches_type(self) -> InputSpec:
        try:
            self.default = coerce_input(self.type, self.default)
        except ValueError as err:
            raise _custom("input_default", f"default: {err}") from None
        return self


class PrSpec(_Strict):
    """A pull-request step: push the branch and open (or update) its pull request."""

    draft: bool = False
    title: str | None = None  # a template; default: the work order id and branch
    body: str | None = None  # a template; default: the commit list


class ReviewSpec(_Strict):
    """A review step: post a review of a pull request through the forge, with inline comments."""

    pull_request: str = Field(default="{{ inputs.pr }}", min_length=1)  # a template: its number
    event: str = Field(default="COMMENT", min_length=1)  # a template: COMMENT, REQUEST_CHANGES or APPROVE
    body: str = ""  # a template: the review's summary
    # An expression (like fan_out.over) giving a list of {path, line, body}: lines of the new
    # version of each file that the pull request's diff shows.
    comments: str | None = Field(default=None, min_length=1)


class ReplySpec(_Strict):
    """A reply step: answer review comments of a pull request, each in its own thread."""

    pull_request: str = Field(default="{{ inputs.pr }}", min_length=1)  # a template: its number
    to: str = Field(min_length=1)  # an expression giving a list of {comment_id, body}


class ActionsSpec(_Strict):
    """An actions step: the work runs in the repository's GitHub Actions (seed 002 §9). A
    `repository_dispatch` of `event_type` goes out with the run, node, branch, `params` and an
    idempotency key; the step ends when the workflow it started reports its end
    (`orchestrator.status` SUCCEEDED, FAILED or CANCELLED with that key), or fails on its timeout."""

    event_type: str = Field(default="agent.execute.request", min_length=1)  # a template
    node_id: str = ""  # a template: the issue the work is for (`nodeId`)
    params: dict[str, Any] = Field(default_factory=dict)  # string values are templates


class LoopSpec(_Strict):
    """A loop: its `steps` run in order, again and again, until `until` holds after an iteration
    or `max_iterations` have run; then the loop fails (`on_max: fail`) or goes on (`continue`)."""

    until: str = Field(min_length=1)  # a condition over inputs, steps and `loop.iteration`
    max_iterations: int = Field(ge=1, le=MAX_LOOP_ITERATIONS)
    on_max: Literal["fail", "continue"] = "fail"


class CallSpec(_Strict):
    """A call: run workflow `workflow` as a child work order on a branch of its own, made from the
    parent's branch as it is then (or from `base`); `merge` says what happens to its commits."""

    workflow: str = Field(min_length=1)  # a workflow's name: the repository's own, else a built-in
    inputs: dict[str, Any] = Field(default_factory=dict)  # string values are templates
    agent: str | None = None  # default: the parent's agent
    sandbox: str | None = None  # default: the parent's sandbox type
    # merge: onto the parent's branch as the child completes; pr: the child's pull request into
    # the parent's branch; none: the child's branch is left as it is.
    merge: Literal["merge", "pr", "none"] = "merge"
    base: str | None = None  # a template naming the branch to start from; default: the parent's


class FanOutSpec(_Strict):
    """A fan-out on a call: one child per item of the list `over` gives, the item visible to the
    call's templates as `as`; at most `max_parallel` at once; `join` decides the step's status."""

    over: str = Field(min_length=1)  # an expression (like `when`) giving a list, or text: JSON or lines
    as_: str = Field(
        default="item",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        validation_alias=AliasChoices("as", "as_"),
    )
    max_parallel: int = Field(default=4, ge=1, le=MAX_FAN_OUT)
    join: Literal["all_success", "all_done", "any_success"] = "all_success"

    @field_validator("as_")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_NAMES:
            raise _custom("fan_out_as", f"'{value}' is a name templates already use; pick another")
        return value


class BudgetSpec(_Strict):
    """`budget:` in YAML: limits for the whole work order (its children's spend included), or on a
    step for that step's own agent runs."""

    max_cost_usd: float | None = Field(default=None, gt=0)
    max_turns: int | None = Field(default=None, gt=0)
    max_tokens: int | None = Field(default=None, gt=0)
    max_duration_s: float | None = Field(
        default=None, validation_alias=AliasChoices("max_duration", "max_duration_s")
    )

    @field_validator("max_duration_s", mode="before")
    @classmethod
    def _parse_duration(cls, value: Any) -> float | None:
        return parse_duration(value)


class GateSpec(_Strict):
    """A gate: the work order waits here until someone approves (or advances past) it."""

    message: str | None = None  # shown to whoever is asked to approve
    # CI checks (by name) on the work order's branch: the gate opens when all have passed and
    # fails when one fails; approve and advance still work. Fed by `ci.status` webhooks, and by
    # the checks the forge already has on the branch's commit as the gate starts. A list, or an
    # expression giving one (`"{{ inputs.checks }}"`: a list, or text holding a JSON list); an
    # expression giving none skips the gate (an empty list written out is an approval gate).
    checks: list[str] | str = Field(default_factory=list)

    @field_validator("checks", mode="before")
    @classmethod
    def _names_or_an_expression(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip():
            return value
        if not isinstance(value, list):
            raise _custom("gate_checks", "checks must be a list of check names, or an expression giving one")
        if len(value) > MAX_GATE_CHECKS:
            raise _custom(
                "gate_checks", f"a gate waits for at most {MAX_GATE_CHECKS} checks, not {len(value)}"
            )
        for index, name in enumerate(value):
            if not isinstance(name, str) or not name.strip() or len(name) > MAX_CHECK_NAME:
                why = f"a check's name (1 to {MAX_CHECK_NAME} characters)"
                raise _custom("gate_checks", f"checks[{index}] is {name!r:.60}; it must be {why}")
        return value


InputName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class StepDef(_Strict):
    """One step: exactly one of `run`, `prompt`, `pr`, `gate`, `call`, `loop`, `review`, `reply`,
    `actions`, plus its options."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    phase: str | None = None
    run: str | None = Field(default=None, min_length=1)
    prompt: str | None = Field(default=None, min_length=1)
    pr: PrSpec | None = None
    gate: GateSpec | None = None  # wait for approve (its response is the output) or advance
    call: CallSpec | None = None  # run a workflow as a child work order
    review: ReviewSpec | None = None  # post a review of a pull request
    reply: ReplySpec | None = None  # answer a pull request's review comments
    actions: ActionsSpec | None = None  # run in the repository's GitHub Actions, wait for its report
    fan_out: FanOutSpec | None = None  # with `call`: one child per item of a list
    loop: LoopSpec | None = None  # with `steps`: run them until `loop.until` holds
    steps: list[StepDef] | None = None  # a loop's own steps, run in order each iteration
    commit: str | None = None  # commit message template: commit what changed after the step
    agent: str | None = None
    # A role profile (agents/roles/): its instructions, context packs and limits (a prompt step)
    role: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9-]*$")
    model: str | None = None
    timeout_s: float | None = Field(default=None, validation_alias=AliasChoices("timeout", "timeout_s"))
    retries: int = Field(default=0, ge=0)
    continue_on_error: bool = False
    when: str | None = None  # a Jinja expression over inputs, steps and work_order
    # The steps it waits for; default: the step before it (`[]`: none, it starts at once).
    depends_on: list[str] | None = None
    network: bool | None = None  # may its commands reach the network (bwrap); None: the workflow's
    secrets: list[SecretName] = Field(default_factory=list)  # project secrets it gets as env vars
    # A JSON Schema (prompt and run steps): the step's output is read as JSON and validated, and
    # later templates see the parsed value as `steps.<id>.output`. The validator checks it.
    output_schema: dict[str, Any] | None = None
    budget: BudgetSpec | None = None  # limits for this step's own agent runs (the work order's apply too)

    @field_validator("timeout_s", mode="before")
    @classmethod
    def _parse_timeout(cls, value: Any) -> float | None:
        return parse_duration(value)

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> StepDef:
        found = [kind for kind in STEP_KINDS if getattr(self, kind) is not None]
        if len(found) != 1:
            what = "none" if not found else ", ".join(found)
            raise _custom("step_kind", f"a step needs exactly one of {', '.join(STEP_KINDS)}; found {what}")
        return self

    @model_validator(mode="after")
    def _steps_only_in_a_loop(self) -> StepDef:
        if self.loop is not None and not self.steps:
            raise _custom("loop_steps", "a loop needs `steps`: the steps each iteration runs")
        if self.loop is None and self.steps is not None:
            raise _custom("loop_steps", "only a `loop` step has `steps`")
        if self.loop is not None and self.when is not None:
            raise _custom("loop_steps", "a loop takes no `when` (its `until` ends it)")
        for inner in self.steps or []:
            if inner.kind not in LOOP_STEP_KINDS:
                raise _custom(
                    "loop_steps", f"step '{inner.id}': a loop runs {' and '.join(LOOP_STEP_KINDS)} steps only"
                )
            if inner.depends_on is not None:
                raise _custom("loop_steps", f"step '{inner.id}': a loop's steps run in order; no depends_on")
        if (
            self.loop is not None
            and self.steps
            and self.loop.max_iterations * len(self.steps) > MAX_LOOP_RUNS
        ):
            raise _custom(
                "loop_steps",
                f"a loop runs at most {MAX_LOOP_RUNS} steps in all (max_iterations times its steps)",
            )
        return self

    @model_validator(mode="after")
    def _fan_out_on_a_call(self) -> StepDef:
        if self.fan_out is not None and self.call is None:
            raise _custom("fan_out", "fan_out needs a `call`: it starts one child work order per item")
        if self.call is not None and self.commit is not None:
            raise _custom("call_commit", "a call takes no `commit`: its child commits; `merge` brings them")
        return self

    @property
    def kind(self) -> StepKind:
        """Which of the step kinds this is."""
        return next(kind for kind in STEP_KINDS if getattr(self, kind) is not None)

    def all_steps(self) -> list[StepDef]:
        """This step and, for a loop, its own steps."""
        return [self, *(self.steps or [])]


def _on_key(data: Any) -> Any:
    if isinstance(data, dict) and True in data and "on" not in data:
        return {("on" if key is True else key): value for key, value in data.items()}
    return data


class WorkflowDefinition(_Strict):
    """A named list of steps with declared inputs; `source` says where it was loaded from."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    inputs: dict[InputName, InputSpec] = Field(default_factory=dict)
    steps: list[StepDef] = Field(min_length=1)
    # The whole work order's limit; default SHIPYARD_WORK_ORDER_TIMEOUT_S.
    timeout_s: float | None = Field(default=None, validation_alias=AliasChoices("timeout", "timeout_s"))
    budget: BudgetSpec | None = None
    network: bool = False  # may commands reach the network in sandboxes that can forbid it (bwrap)
    secrets: list[SecretName] = Field(default_factory=list)  # project secrets every step gets as env vars
    # Triggers of a workflow kept in a repository: a project's sources without `workflow` (this one).
    on: list[dict[str, Any]] = Field(default_factory=list)
    source: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _on_key(cls, data: Any) -> Any:
        """YAML 1.1 reads a bare `on:` key as True; a single trigger may be given without a list."""
        data = _on_key(data)
        if isinstance(data, dict) and isinstance(data.get("on"), dict):
            data = {**data, "on": [data["on"]]}
        if isinstance(data, dict) and isinstance(data.get("on"), list):
            data = {**data, "on": [_on_key(entry) for entry in data["on"]]}
        return data

    def triggers(self) -> list[Source]:
        """The `on:` triggers as sources that start this workflow."""
        sources = [Source.model_validate({**entry, "workflow": self.name}) for entry in self.on]
        if any(source.on == "schedule" for source in sources):  # files are read when webhooks come
            raise ValueError("'on: schedule' belongs in a project's sources, not in a workflow file")
        return sources

    @field_validator("timeout_s", mode="before")
    @classmethod
    def _parse_timeout(cls, value: Any) -> float | None:
        return parse_duration(value)

    @model_validator(mode="after")
    def _check_step_references(self) -> WorkflowDefinition:
        self.triggers()  # a bad trigger is a bad definition: raises ValueError naming the problem
        problems = _duplicate_ids(self.steps) + _bad_dependencies(self.steps)
        if problems:
            raise _custom("step_references", "\n".join(problems))
        return self

    def step(self, step_id: str) -> StepDef:
        """The step with this id (KeyError when there is none)."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


def _duplicate_ids(steps: list[StepDef]) -> list[str]:
    """Ids used twice, a loop's own steps included: every step's row and outputs go by its id."""
    first: dict[str, str] = {}
    problems = []
    for index, outer in enumerate(steps):
        located = [(f"steps[{index}]", outer)]
        located += [(f"steps[{index}].steps[{j}]", inner) for j, inner in enumerate(outer.steps or [])]
        for where, step in located:
            if step.id in first:
                problems.append(f"{where} ({step.id}): id '{step.id}' is already used by {first[step.id]}")
            first.setdefault(step.id, where)
    return problems


def _bad_dependencies(steps: list[StepDef]) -> list[str]:
    index_of = {step.id: index for index, step in reversed(list(enumerate(steps)))}
    problems = []
    for index, step in enumerate(steps):
        for name in step.depends_on or []:
            where = f"steps[{index}] ({step.id}): depends_on"
            if name == step.id:
                problems.append(f"{where}: a step cannot depend on itself")
            elif name not in index_of:
                problems.append(f"{where}: unknown step '{name}'")
    if problems or len(index_of) < len(steps):  # unknown or duplicate ids: no graph to walk
        return problems
    loop = graph.cycle(graph.dependencies(steps))
    if loop:
        first = loop[0]
        where = f"steps[{index_of[first]}] ({first}): depends_on"
        problems.append(f"{where}: a cycle: {' → '.join(loop)}; no step of it could ever start")
    return problems
