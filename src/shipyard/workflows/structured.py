"""Typed step outputs: a step's `output_schema` checked, the JSON of an agent's answer or a
command's output read and validated against it, and the words that ask an agent for it.

Where the JSON is: the last ```json fenced block of the text, else the whole text, else the last
JSON value that starts a line (a command that logs before printing its result).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator, SchemaError, ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for

# The parsed value travels in Temporal history with every later step's input, and is stored.
DATA_LIMIT_CHARS = 64_000
_SCAN_CHARS = 4 * DATA_LIMIT_CHARS  # how far back from the end a JSON value is looked for
_MESSAGE_CHARS = 300
_FENCED = re.compile(r"```json[ \t]*\r?\n(.*?)```", re.DOTALL | re.IGNORECASE)
_LINE_START = re.compile(r"^[ \t]*([\[{])", re.MULTILINE)


@dataclass(frozen=True)
class Reading:
    """What was read from a step's output: the valid value, or why there is none."""

    data: Any = None
    problem: str | None = None


def schema_problem(schema: Any) -> str | None:
    """Why `schema` is not a JSON Schema (by its `$schema`, else draft 2020-12); None if it is."""
    if not isinstance(schema, dict):
        return f"must be a mapping (a JSON Schema), not {type(schema).__name__}"
    try:
        validator_for(schema, default=Draft202012Validator).check_schema(schema)
    except SchemaError as err:
        return f"not a valid JSON Schema: {_describe(err)}"
    return None


def read_output(text: str, schema: dict[str, Any]) -> Reading:
    """The JSON in `text`, validated against `schema`."""
    try:
        value = extract_json(text)
    except ValueError as err:
        return Reading(problem=str(err))
    size = len(json.dumps(value))
    if size > DATA_LIMIT_CHARS:
        return Reading(problem=f"the JSON is {size} characters long; at most {DATA_LIMIT_CHARS} are kept")
    validator = validator_for(schema, default=Draft202012Validator)(schema)
    error = best_match(validator.iter_errors(value))
    return Reading(problem=_describe(error)) if error is not None else Reading(data=value)


def extract_json(text: str) -> Any:
    """The JSON value of `text` (see the module's docstring); ValueError saying why there is none."""
    blocks = _FENCED.findall(text)
    if blocks:
        try:
            return _loads(blocks[-1])
        except ValueError as err:
            raise ValueError(f"the last ```json block is not valid JSON: {err}") from None
    try:
        return _loads(text)
    except ValueError:
        pass
    found = _last_value(text[-_SCAN_CHARS:])
    if found is _NOTHING:
        raise ValueError("no JSON found in the output (expected one JSON object at its end)")
    return found


_NOTHING = object()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _loads(text: str) -> Any:
    return json.loads(text, parse_constant=_reject_constant)


def _last_value(text: str) -> Any:
    """The last JSON object or array that starts a line and is not inside an earlier one."""
    decoder = json.JSONDecoder(parse_constant=_reject_constant)
    found, end = _NOTHING, 0
    for match in _LINE_START.finditer(text):
        if match.start(1) < end:
            continue
        try:
            found, end = decoder.raw_decode(text, match.start(1))
        except ValueError:
            continue
    return found


def _describe(err: ValidationError | SchemaError) -> str:
    message = err.message
    if len(message) > _MESSAGE_CHARS:
        message = message[: _MESSAGE_CHARS - 1] + "…"
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in err.absolute_path)
    return f"{message} (at {path.lstrip('.')})" if path else message


def mismatch(problem: str) -> str:
    """A step's error when its output does not match its schema."""
    return f"output does not match output_schema: {problem}"


def _shown(schema: dict[str, Any]) -> str:
    noun = "object" if schema.get("type", "object") == "object" else "value"
    return (
        f"one JSON {noun} matching this JSON Schema, in a ```json fenced block:\n\n"
        f"```json\n{json.dumps(schema, indent=2)}\n```\n"
    )


def instruction(schema: dict[str, Any]) -> str:
    """Appended to a prompt step's prompt: how to end the answer."""
    return (
        "\n\nWhen you are done, end your final answer with "
        + _shown(schema)
        + "Later steps read that JSON, so it must be the last ```json block of your answer.\n"
    )


def correction(problem: str, schema: dict[str, Any]) -> str:
    """The prompt of the one correction turn, in the agent's resumed session."""
    return (
        f"The JSON at the end of your answer does not match the output schema: {problem}.\n"
        "Do not redo the work. Answer again, ending with " + _shown(schema)
    )


def correction_in_full(prompt: str, answer: str, problem: str, schema: dict[str, Any]) -> str:
    """The correction turn for an agent whose session cannot be resumed: the conversation so far
    is in the prompt."""
    return (
        f"You were given this task:\n\n<task>\n{prompt.strip()}\n</task>\n\n"
        f"You did it and answered:\n\n<answer>\n{answer.strip()}\n</answer>\n\n" + correction(problem, schema)
    )


def map_strings(value: Any, change: Callable[[str], str]) -> Any:
    """`value` with `change` applied to every string in it (keys too), e.g. to redact secrets."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [map_strings(item, change) for item in value]
    if isinstance(value, dict):
        return {change(key): map_strings(item, change) for key, item in value.items()}
    return value
