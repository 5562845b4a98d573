"""Where the replay agent's recorded actions come from, and their validation.

In this order: a prompt that is a YAML document with a top-level `replay:` list is the script
itself; `settings.replay_file`'s list for the step's id; a ```replay fenced block inside the
prompt (a YAML list: text a workflow quotes into its prompt, an issue's body say, can carry its
own script); the replay file's `default:` list.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from shipyard.domain.errors import InvalidInput

Action = dict[str, Any]
_FENCED = re.compile(r"^[ \t]*```replay[ \t]*\r?\n(.*?)^[ \t]*```", re.DOTALL | re.MULTILINE)

# Each action has exactly one of these keys; `write` and `append` also take `content`.
ACTION_KEYS = ("write", "append", "delete", "run", "message", "sleep", "usage", "fail")
_EXTRA_KEYS = {"write": {"content"}, "append": {"content"}}


def actions_from_prompt(prompt: str) -> list[Action] | None:
    """The `replay:` list of a prompt that is a YAML document, else None."""
    try:
        doc = yaml.safe_load(prompt)
    except yaml.YAMLError:
        return None
    if isinstance(doc, dict) and "replay" in doc:
        return validate(doc["replay"], "the prompt's replay list")
    return None


def actions_from_block(prompt: str) -> list[Action] | None:
    """The list in the prompt's last ```replay block, else None."""
    blocks = _FENCED.findall(prompt)
    if not blocks:
        return None
    try:
        return validate(yaml.safe_load(blocks[-1]), "the prompt's replay block")
    except yaml.YAMLError as err:
        raise InvalidInput(f"the prompt's replay block is not valid YAML: {err}") from None


def actions_from_file(path: Path, step_id: str | None, *, fallback: bool = True) -> list[Action] | None:
    """The actions recorded for `step_id` (or, with `fallback`, under `default:`) in a replay file;
    None without `fallback` when the step has none of its own."""
    try:
        doc = yaml.safe_load(path.read_text())
    except OSError as err:
        raise InvalidInput(f"cannot read replay file {path}: {err.strerror or err}") from err
    except yaml.YAMLError as err:
        raise InvalidInput(f"replay file {path} is not valid YAML: {err}") from err
    if not isinstance(doc, dict):
        raise InvalidInput(f"replay file {path} must map step ids to lists of actions")
    if not fallback and step_id not in doc:
        return None
    key = step_id if step_id in doc else "default"
    if key not in doc:
        raise InvalidInput(f"replay file {path} has no actions for step {step_id!r} and no default")
    return validate(doc[key], f"{path} [{key}]")


def validate(actions: Any, where: str) -> list[Action]:
    """Check every action before any runs, naming the first bad one."""
    if not isinstance(actions, list):
        raise InvalidInput(f"{where} must be a list of actions")
    for index, action in enumerate(actions):
        problem = _problem(action)
        if problem:
            raise InvalidInput(f"{where}, action {index + 1}: {problem}")
    return actions


def _problem(action: Any) -> str | None:
    if not isinstance(action, dict):
        return f"expected a mapping such as {{message: text}}, got {action!r}"
    verbs = [key for key in action if key in ACTION_KEYS]
    if len(verbs) != 1:
        return f"needs exactly one of {', '.join(ACTION_KEYS)}; got {sorted(action)}"
    verb = verbs[0]
    unknown = set(action) - {verb} - _EXTRA_KEYS.get(verb, set())
    if unknown:
        return f"unknown keys {sorted(unknown)} for {verb}"
    return _value_problem(verb, action[verb])


def _value_problem(verb: str, value: Any) -> str | None:
    if verb in ("write", "append", "delete", "run", "message") and not isinstance(value, str):
        return f"{verb} takes a string"
    if verb == "sleep" and (isinstance(value, bool) or not isinstance(value, int | float)):
        return "sleep takes a number of seconds"
    if verb in ("usage", "fail") and not isinstance(value, dict):
        return f"{verb} takes a mapping"
    return None
