"""Reading a step's JSON output and validating it against its `output_schema`."""

from __future__ import annotations

import json

import pytest

from shipyard.workflows.structured import DATA_LIMIT_CHARS, Reading, map_strings, read_output

PLAN = {
    "type": "object",
    "required": ["tasks"],
    "properties": {"tasks": {"type": "array", "items": {"type": "string"}}},
}


@pytest.mark.parametrize(
    ("text", "data"),
    [
        ('Planned.\n```json\n{"tasks": ["old"]}\n```\n```JSON\n{"tasks": ["a", "b"]}\n```\n', ["a", "b"]),
        ('  {"tasks": ["whole"]}\n', ["whole"]),
        # A command that logs first and prints its result last, pretty-printed.
        ('building…\n{"note": "a first object"}\n{\n  "tasks": [\n    "last"\n  ]\n}\ndone\n', ["last"]),
    ],
)
def test_the_json_is_the_last_fenced_block_else_the_whole_text_else_the_last_value(
    text: str, data: list[str]
) -> None:
    assert read_output(text, PLAN) == Reading(data={"tasks": data})


def test_an_array_of_objects_is_read_whole_not_by_its_last_item() -> None:
    text = 'log\n[\n  {"id": 1},\n  {"id": 2}\n]\n'
    assert read_output(text, {"type": "array"}).data == [{"id": 1}, {"id": 2}]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"tasks": ["a", 2]}', "2 is not of type 'string' (at tasks[1])"),
        ('{"steps": []}', "'tasks' is a required property"),
        ("All done, nothing to report.", "no JSON found in the output (expected one JSON object at its end)"),
        ("```json\n{tasks: []}\n```", "the last ```json block is not valid JSON: Expecting property name"),
        ('{"tasks": NaN}', "no JSON found in the output"),
    ],
)
def test_what_is_wrong_is_said_plainly(text: str, problem: str) -> None:
    reading = read_output(text, PLAN)
    assert reading.data is None and reading.problem is not None and reading.problem.startswith(problem)


def test_a_value_too_large_to_keep_is_refused() -> None:
    text = json.dumps({"tasks": ["x" * 100] * (DATA_LIMIT_CHARS // 100)})
    assert "at most 64000 are kept" in (read_output(text, PLAN).problem or "")


def test_map_strings_reaches_keys_and_nested_values() -> None:
    value = {"token s3cr3t": [1, "s3cr3t here", {"k": "s3cr3t"}], "n": None}
    hidden = map_strings(value, lambda text: text.replace("s3cr3t", "***"))
    assert hidden == {"token ***": [1, "*** here", {"k": "***"}], "n": None}
