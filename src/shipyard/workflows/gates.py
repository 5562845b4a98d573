"""The CI checks a gate waits for: its `checks` list as written, or the list its expression gives
with the step's template context (a list, or text holding a JSON list). Pure: the engine works it
out in an activity as the gate starts (engine/gates.py)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from shipyard.domain.errors import WorkflowInvalid
from shipyard.workflows.schema import MAX_CHECK_NAME, MAX_GATE_CHECKS, GateSpec
from shipyard.workflows.templating import value_of


def gate_checks(spec: GateSpec, context: Mapping[str, Any]) -> list[str]:
    """The names of the checks the gate waits for, each once; WorkflowInvalid, saying what came
    instead, when its expression gives no list of names."""
    if isinstance(spec.checks, list):
        return list(dict.fromkeys(spec.checks))
    return check_names(value_of(spec.checks, context, "gate.checks"))


def check_names(value: Any) -> list[str]:
    """The check names `value` gives: a list of names, or text holding a JSON list (empty text:
    none), each name trimmed and kept once."""
    if isinstance(value, str):
        if not value.strip():
            return []
        try:
            value = json.loads(value)
        except ValueError:
            what = f"text that is not a JSON list of check names: {value.strip()!r:.60}"
            raise WorkflowInvalid(f"gate.checks gave {what}") from None
    if not isinstance(value, list | tuple):
        raise WorkflowInvalid(
            f"gate.checks gave {type(value).__name__} {value!r:.60}, not a list of check names"
        )
    names: dict[str, None] = {}
    for index, item in enumerate(value):
        name = item.strip() if isinstance(item, str) else ""
        if not name or len(name) > MAX_CHECK_NAME:
            why = f"at most {MAX_CHECK_NAME} characters" if name else "a check's name"
            raise WorkflowInvalid(f"gate.checks[{index}] is {item!r:.60}; it must be {why}")
        names[name] = None
    if len(names) > MAX_GATE_CHECKS:
        raise WorkflowInvalid(
            f"gate.checks gave {len(names)} checks; a gate waits for at most {MAX_GATE_CHECKS}"
        )
    return list(names)
