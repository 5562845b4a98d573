"""Turn schema errors into readable lines, and check what the schema cannot: templates, kinds.

Every line names where the problem is: `steps[1] (build): timeout: invalid duration '3 parsecs'`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from shipyard.domain.errors import WorkflowInvalid
from shipyard.workflows import graph
from shipyard.workflows.schema import (
    ActionsSpec,
    CallSpec,
    FanOutSpec,
    InputSpec,
    LoopSpec,
    PrSpec,
    ReplySpec,
    ReviewSpec,
    StepDef,
    WorkflowDefinition,
)
from shipyard.workflows.structured import schema_problem
from shipyard.workflows.templating import (
    CONTEXT_NAMES,
    TemplateRefs,
    expression_refs,
    is_expression,
    template_refs,
)

TYPED_KINDS = ("prompt", "run")  # the kinds whose output can be read against an `output_schema`
_TEMPLATE_FIELDS = ("run", "prompt", "commit")
_KEY_ERRORS = ("extra_forbidden", "invalid_key")


def keys_of(model: type[BaseModel]) -> list[str]:
    """The keys a YAML mapping for `model` may use (aliases where the field has one)."""
    keys = []
    for name, field in model.model_fields.items():
        choices = getattr(field.validation_alias, "choices", None)
        keys.append(str(choices[0]) if choices else name)
    return keys


def error_lines(err: ValidationError, data: Any) -> list[str]:
    """One line per pydantic error, located by step index and id."""
    lines: list[str] = []
    for detail in err.errors():
        lines.extend(_describe(detail, data))
    return lines


def _describe(detail: ErrorDetails, data: Any) -> Iterator[str]:
    loc = tuple(detail["loc"])
    prefix, rest = _locate(loc, data)
    if detail["type"] in _KEY_ERRORS:
        rest = rest[:-1]  # the message names the key itself
    field = _field_path(rest)
    for message in _message(detail, loc).splitlines():
        # Messages from whole-definition checks carry their own step location.
        yield ": ".join(part for part in (prefix, field, message) if part)


def _locate(loc: tuple[Any, ...], data: Any) -> tuple[str, tuple[Any, ...]]:
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        step_id = _raw_step_id(data, loc[1])
        where = f"steps[{loc[1]}]" + (f" ({step_id})" if step_id else "")
        return where, loc[2:]
    return "", loc


def _raw_step_id(data: Any, index: int) -> str | None:
    steps = data.get("steps") if isinstance(data, dict) else None
    if isinstance(steps, list) and index < len(steps) and isinstance(steps[index], dict):
        step_id = steps[index].get("id")
        return step_id if isinstance(step_id, str) else None
    return None


def _field_path(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _message(detail: ErrorDetails, loc: tuple[Any, ...]) -> str:
    kind, message = detail["type"], detail["msg"]
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    if kind == "missing":
        return "required"
    if kind == "invalid_key":
        key = detail.get("input", loc[-1])
        return f"key {key!r} is not a string (YAML reads unquoted on/off/yes/no as booleans)"
    message = message.removeprefix("Value error, ")
    value = detail.get("input")
    if kind.endswith(("_type", "_parsing", "literal_error")) and isinstance(value, str | int | float):
        message += f" (got {value!r})"
    return message


def _unknown_key(loc: tuple[Any, ...]) -> str:
    key = str(loc[-1])
    allowed = keys_of(_model_at(loc[:-1]))
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"did you mean '{close[0]}'?" if close else "known keys: " + ", ".join(allowed)
    return f"unknown key '{key}' ({hint})"


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel]:
    if len(loc) == 2 and loc[0] == "steps":
        return StepDef
    nested: dict[str, type[BaseModel]] = {
        "pr": PrSpec, "call": CallSpec, "fan_out": FanOutSpec, "loop": LoopSpec,
        "review": ReviewSpec, "reply": ReplySpec, "actions": ActionsSpec,
    }  # fmt: skip
    if len(loc) == 3 and loc[0] == "steps" and loc[2] in nested:
        return nested[loc[2]]
    if len(loc) == 2 and loc[0] == "inputs":
        return InputSpec
    return WorkflowDefinition


@dataclass(frozen=True)
class _Scope:
    """What a step's templates may read: `ended` steps surely have, `earlier` ones are listed
    before it (and may still run); `loop` is defined inside a loop only, a fan-out's item name
    (`names`) in its call's templates only."""

    earlier: set[str]
    ended: set[str]
    in_loop: bool = False
    names: frozenset[str] = frozenset()


def check_definition(defn: WorkflowDefinition) -> list[str]:
    """Problems the schema accepts but a run would hit: broken templates, steps that may run at
    the same time but must not."""
    problems: list[str] = []
    deps = graph.dependencies(defn.steps)
    before = graph.ancestors(deps)
    own = {step.id: {inner.id for inner in step.steps or []} for step in defn.steps}  # loops' steps
    for index, step in enumerate(defn.steps):
        where = f"steps[{index}] ({step.id})"
        earlier = {s.id for s in defn.steps[:index]}
        ended = before.get(step.id, set())
        scope = _Scope(earlier | _union(own, earlier), ended | _union(own, ended))
        problems += [f"{where}: {field}: {p}" for field, p in _template_problems(step, defn, scope)]
        if (wrong := _output_schema_problem(step)) is not None:
            problems.append(f"{where}: output_schema: {wrong}")
        if (wrong := _role_problem(step)) is not None:
            problems.append(f"{where}: role: {wrong}")
        if step.loop is not None:
            problems += _loop_problems(step, index, defn, scope, own[step.id])
    return problems + _clashes(defn, deps)


def _union(own: dict[str, set[str]], ids: set[str]) -> set[str]:
    return set().union(*(own[i] for i in ids if i in own))


def _loop_problems(
    step: StepDef, index: int, defn: WorkflowDefinition, outer: _Scope, own: set[str]
) -> list[str]:
    """A loop's `until` and its steps' templates read the loop's steps (the latest iteration's;
    before their first run, pending and empty) and `loop.iteration`."""
    assert step.loop is not None
    scope = _Scope(outer.earlier | own, outer.ended | own, in_loop=True)
    problems = []
    try:
        refs = expression_refs(step.loop.until)
        problems += [
            f"steps[{index}] ({step.id}): loop.until: {p}" for p in _reference_problems(refs, defn, scope)
        ]
    except WorkflowInvalid as err:
        problems.append(f"steps[{index}] ({step.id}): loop.until: {err.message}")
    for j, inner in enumerate(step.steps or []):
        where = f"steps[{index}].steps[{j}] ({inner.id})"
        problems += [f"{where}: {field}: {p}" for field, p in _template_problems(inner, defn, scope)]
        if (wrong := _output_schema_problem(inner)) is not None:
            problems.append(f"{where}: output_schema: {wrong}")
        if (wrong := _role_problem(inner)) is not None:
            problems.append(f"{where}: role: {wrong}")
    return problems


def _output_schema_problem(step: StepDef) -> str | None:
    if step.output_schema is None:
        return None
    if step.kind not in TYPED_KINDS:
        return f"only prompt and run steps have one; this is a {step.kind} step"
    return schema_problem(step.output_schema)


def _role_problem(step: StepDef) -> str | None:
    if step.role is None:
        return None
    if step.kind != "prompt":
        return f"only a prompt step (an agent's) has a role; this is a {step.kind} step"
    from shipyard.agents.roles import builtin_profiles  # its YAML is read once, when a role is named

    if step.role not in builtin_profiles():
        return f"unknown role '{step.role}' (the roles: {', '.join(builtin_profiles())})"
    return None


def _clashes(defn: WorkflowDefinition, deps: dict[str, list[str]]) -> list[str]:
    """Steps that may run at the same time (neither depends on the other) but must not: they
    share the sandbox, so at most one may commit; one gate waits at a time; a pull request is
    opened from a branch no other step is writing."""
    if graph.cycle(deps):
        return []  # the schema has said so
    index_of = {step.id: index for index, step in enumerate(defn.steps)}
    problems = []
    for a, b in graph.concurrent(deps):
        first, second = defn.steps[index_of[a]], defn.steps[index_of[b]]
        why = _clash(first, second)
        if why:
            problems.append(
                f"steps[{index_of[b]}] ({b}): may run at the same time as '{a}' (neither depends on the"
                f" other) and {why}; add one to the other's depends_on"
            )
    return problems


def _clash(a: StepDef, b: StepDef) -> str:
    if _commits(a) and _commits(b):
        return "both commit (steps at the same time share the sandbox: at most one may commit)"
    if a.kind == "gate" and b.kind == "gate":
        return "both are gates (one gate waits at a time)"
    if "pr" in {a.kind, b.kind} and (_commits(a) or _commits(b)):
        return "one opens the pull request while the other commits"
    return ""


def _commits(step: StepDef) -> bool:
    """Whether the step (or, for a loop, one of its steps) commits; a call merging its child's
    commits onto the branch does."""
    if step.call is not None:
        return step.call.merge == "merge"
    return any(s.commit is not None for s in step.all_steps())


def _templates(step: StepDef) -> Iterator[tuple[str, str, bool]]:
    """(field, text, is_expression) for every template a step carries."""
    for field in _TEMPLATE_FIELDS:
        text = getattr(step, field)
        if text is not None:
            yield field, text, False
    if step.pr is not None:
        for field in ("title", "body"):
            text = getattr(step.pr, field)
            if text is not None:
                yield f"pr.{field}", text, False
    if step.call is not None:
        for key, value in step.call.inputs.items():
            if isinstance(value, str):
                yield f"call.inputs.{key}", value, False
        if step.call.base is not None:
            yield "call.base", step.call.base, False
    if step.review is not None:
        yield "review.pull_request", step.review.pull_request, False
        yield "review.event", step.review.event, False
        yield "review.body", step.review.body, False
        if step.review.comments is not None:
            yield "review.comments", step.review.comments, is_expression(step.review.comments)
    if step.reply is not None:
        yield "reply.pull_request", step.reply.pull_request, False
        yield "reply.to", step.reply.to, is_expression(step.reply.to)
    if step.actions is not None:
        yield "actions.event_type", step.actions.event_type, False
        yield "actions.node_id", step.actions.node_id, False
        for key, value in step.actions.params.items():
            if isinstance(value, str):
                yield f"actions.params.{key}", value, False
    if step.gate is not None and isinstance(step.gate.checks, str):
        yield "gate.checks", step.gate.checks, is_expression(step.gate.checks)
    if step.when is not None:
        yield "when", step.when, True


def _template_problems(step: StepDef, defn: WorkflowDefinition, scope: _Scope) -> Iterator[tuple[str, str]]:
    if step.fan_out is not None:  # its list is read before any item exists; the call's templates see one
        over = step.fan_out.over
        yield from _checked(("fan_out.over", over, is_expression(over)), defn, scope)
        scope = _Scope(scope.earlier, scope.ended, scope.in_loop, scope.names | {step.fan_out.as_})
    for template in _templates(step):
        yield from _checked(template, defn, scope)


def _checked(
    template: tuple[str, str, bool], defn: WorkflowDefinition, scope: _Scope
) -> Iterator[tuple[str, str]]:
    field, text, is_expression = template
    try:
        refs = expression_refs(text) if is_expression else template_refs(text)
    except WorkflowInvalid as err:
        yield field, err.message
        return
    for problem in _reference_problems(refs, defn, scope):
        yield field, problem


def _reference_problems(refs: TemplateRefs, defn: WorkflowDefinition, scope: _Scope) -> Iterator[str]:
    earlier, ended = scope.earlier, scope.ended
    for name in sorted(refs.names - ({"loop"} if scope.in_loop else set()) - scope.names):
        where = "; `loop` is defined inside a loop's steps and until" if name == "loop" else ""
        yield f"unknown name '{name}' (templates see {', '.join(CONTEXT_NAMES)} and command(){where})"
    for name in sorted(refs.inputs - set(defn.inputs)):
        declared = ", ".join(defn.inputs) or "none"
        yield f"unknown input '{name}' (declared inputs: {declared})"
    for name in sorted(refs.steps - ended):
        if name in earlier:
            yield f"steps.{name} may still be running when this step starts (add '{name}' to its depends_on)"
        else:
            yield f"steps.{name} is not an earlier step of this workflow"
