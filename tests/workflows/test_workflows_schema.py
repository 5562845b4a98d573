from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from shipyard.workflows.schema import StepDef, WorkflowDefinition, parse_duration


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(90, 90.0), (2.5, 2.5), ("90", 90.0), ("90s", 90.0), ("30m", 1800.0), ("2h", 7200.0),
     ("1h30m", 5400.0), ("1h0m5s", 3605.0), (" 45s ", 45.0), ("1.5h", 5400.0), (None, None)],
)  # fmt: skip
def test_durations_are_read_as_seconds(value: object, seconds: float | None) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    "value", ["3 parsecs", "", "m", "10x", "1m1h", True, 0, "-5", [1], float("inf"), "nan"]
)
def test_bad_durations_are_rejected(value: object) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(value)


def test_step_reads_timeout_key_and_reports_its_kind() -> None:
    step = StepDef.model_validate({"id": "build", "prompt": "go", "timeout": "30m"})
    assert step.timeout_s == 1800.0
    assert step.kind == "prompt"
    assert StepDef.model_validate({"id": "p", "pr": {}}).kind == "pr"


def test_definition_survives_a_json_round_trip() -> None:
    defn = WorkflowDefinition.model_validate(
        {
            "name": "full",
            "description": "every field",
            "inputs": {"prompt": {"required": True}, "n": {"type": "number", "default": 3}},
            "steps": [
                {"id": "a", "phase": "planning", "prompt": "p", "commit": "c", "agent": "codex",
                 "model": "m", "timeout": "1h30m", "retries": 2, "continue_on_error": True,
                 "when": "inputs.n > 1"},
                {"id": "b", "run": "make", "depends_on": ["a"]},
                {"id": "c", "pr": {"draft": True, "title": "t", "body": "b"}},
            ],
            "source": "x.yaml",
        }
    )  # fmt: skip
    wire = json.loads(json.dumps(defn.model_dump(mode="json")))
    again = WorkflowDefinition.model_validate(wire)
    assert again == defn
    assert again.steps[0].timeout_s == 5400.0


def test_unknown_keys_are_forbidden() -> None:
    with pytest.raises(ValidationError, match="bogus"):
        StepDef.model_validate({"id": "a", "run": "x", "bogus": 1})


def test_step_lookup_by_id() -> None:
    defn = WorkflowDefinition.model_validate({"name": "w", "steps": [{"id": "a", "run": "x"}]})
    assert defn.step("a").run == "x"
    with pytest.raises(KeyError):
        defn.step("b")
