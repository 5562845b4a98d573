"""What a `call` step would start: one child per item of its fan-out's list (one child in all
without a fan-out), each child's inputs and base rendered with its item. Shared by the engine
(engine/calls.py, in the parent's sandbox) and the dry run (workflows/plan.py, before anything runs)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.domain.errors import WorkflowInvalid
from shipyard.workflows.schema import MAX_FAN_OUT, StepDef
from shipyard.workflows.templating import render, value_of


@dataclass(frozen=True)
class Child:
    """One child of a call: its item (None without a fan-out), inputs and base branch."""

    item: Any
    inputs: dict[str, Any]
    base: str | None


def children(step: StepDef, context: dict[str, Any], tree: Path | None) -> list[Child]:
    """The children `step` (a call) would start with this template context; WorkflowInvalid when
    its list or a template cannot be worked out from it."""
    assert step.call is not None
    fan_out, spec = step.fan_out, step.call
    items = fan_out_items(value_of(fan_out.over, context, "fan_out.over", tree)) if fan_out else [None]
    made = []
    for item in items:
        seen = context | {fan_out.as_: item} if fan_out else context
        inputs = {
            key: render(value, seen, repo_path=tree) if isinstance(value, str) else value
            for key, value in spec.inputs.items()
        }
        base = render(spec.base, seen, repo_path=tree).strip() if spec.base else None
        made.append(Child(item=item, inputs=inputs, base=base or None))
    return made


def fan_out_items(value: Any) -> list[Any]:
    """The list a fan-out's `over` gave: a list as it is; text as a JSON list, else its non-empty
    lines. WorkflowInvalid for anything else, or more than MAX_FAN_OUT items."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        items = parsed if isinstance(parsed, list) else [line.strip() for line in value.splitlines()]
        items = [item for item in items if item != ""]
    elif isinstance(value, list | tuple | range):
        items = list(value)
    else:
        raise WorkflowInvalid(f"fan_out.over gave {type(value).__name__} {value!r:.60}, not a list")
    if len(items) > MAX_FAN_OUT:
        raise WorkflowInvalid(f"fan_out.over gave {len(items)} items; a fan-out starts at most {MAX_FAN_OUT}")
    try:
        return list(json.loads(json.dumps(items)))  # what travels to each child, as it will arrive
    except (TypeError, ValueError) as err:
        raise WorkflowInvalid(f"fan_out.over gave items that are not plain data: {err}") from None
