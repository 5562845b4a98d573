"""A gate's `checks`: a list as written, or an expression giving one from the step's templates
(an input holding a JSON list, an earlier step's typed output); what the validator says of bad
ones, and what a step whose expression gives no list of names fails with."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from shipyard.domain.errors import WorkflowInvalid
from shipyard.workflows.gates import gate_checks
from shipyard.workflows.loader import load_definition_text
from shipyard.workflows.schema import GateSpec

FLOW = """\
name: w
inputs:
  required: {type: string, default: ""}
steps:
  - id: find
    run: "echo"
  - id: ci
    gate: {checks: %s}
    timeout: 30m
    continue_on_error: true
"""


def gate(checks: str) -> GateSpec:
    spec = load_definition_text(FLOW % checks, "w.yaml").step("ci").gate
    assert spec is not None
    return spec


def context(required: Any = "", found: Any = None) -> dict[str, Any]:
    return {"inputs": {"required": required}, "steps": {"find": {"output": found}}, "work_order": {}}


def test_checks_come_from_a_list_or_from_an_expression_over_inputs_and_earlier_steps() -> None:
    assert gate("[ci/test, lint, ci/test]").checks == ["ci/test", "lint", "ci/test"]
    assert gate_checks(gate("[ci/test, lint, ci/test]"), context()) == ["ci/test", "lint"]
    templated = gate('"{{ inputs.required }}"')
    assert templated.checks == "{{ inputs.required }}"
    assert gate_checks(templated, context('["ci/test", " lint "]')) == ["ci/test", "lint"]
    assert gate_checks(templated, context(["ci/test"])) == ["ci/test"]  # a list stays a list
    assert gate_checks(templated, context("")) == []  # none: the gate is skipped
    assert gate_checks(gate('"{{ steps.find.output.checks }}"'), context(found={"checks": ["e2e"]})) == [
        "e2e"
    ]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("ci/test", "gate.checks gave text that is not a JSON list of check names: 'ci/test'"),
        ('{"name": "ci/test"}', "gate.checks gave dict {'name': 'ci/test'}, not a list of check names"),
        (3, "gate.checks gave int 3, not a list of check names"),
        ('["ci/test", ""]', "gate.checks[1] is ''; it must be a check's name"),
        ('["ci/test", 7]', "gate.checks[1] is 7; it must be a check's name"),
        (["x" * 201], "gate.checks[0] is 'xxxx"),
        ([f"c{n}" for n in range(51)], "gate.checks gave 51 checks; a gate waits for at most 50"),
    ],
)
def test_an_expression_that_gives_no_list_of_names_says_what_it_gave(value: Any, problem: str) -> None:
    with pytest.raises(WorkflowInvalid) as caught:
        gate_checks(gate('"{{ inputs.required }}"'), context(value))
    assert problem in caught.value.message


def test_the_validator_reads_a_checks_expression_and_bounds_a_written_list() -> None:
    def invalid(checks: str) -> str:
        with pytest.raises(WorkflowInvalid) as caught:
            load_definition_text(textwrap.dedent(FLOW % checks), "w.yaml")
        return caught.value.message

    assert "steps[1] (ci): gate.checks: unknown input 'needed' (declared inputs: required)" in invalid(
        '"{{ inputs.needed }}"'
    )
    assert "gate.checks: template syntax error" in invalid('"{{ inputs.required"')
    where = "steps[1] (ci): gate.checks:"
    assert f"{where} checks[1] is ''; it must be a check's name (1 to 200 characters)" in invalid('[ci, ""]')
    assert f"{where} a gate waits for at most 50 checks, not 51" in invalid(str([f"c{n}" for n in range(51)]))
    for neither in ('""', "3", "{name: ci}"):
        assert f"{where} checks must be a list of check names, or an expression giving one" in invalid(
            neither
        )
