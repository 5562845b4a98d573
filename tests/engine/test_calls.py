"""What a fan-out's list is read as, and how a call's join decides its step from its children."""

from __future__ import annotations

from typing import Any

import pytest

from shipyard.domain.errors import WorkflowInvalid
from shipyard.domain.models import SandboxHandle, StepStatus
from shipyard.domain.work_orders import Step
from shipyard.engine.calls import call_output
from shipyard.engine.types import CallEndInput, CallInput, ChildResult
from shipyard.service.creation import step_output
from shipyard.workflows.fanout import fan_out_items
from shipyard.workflows.schema import FanOutSpec, StepDef


@pytest.mark.parametrize(
    ("value", "items"),
    [
        (["a", {"n": 1}], ["a", {"n": 1}]),
        (range(3), [0, 1, 2]),
        ('["x", "y"]', ["x", "y"]),
        ("first\n\n  second \n", ["first", "second"]),
        ("", []),
        ('{"not": "a list"}', ['{"not": "a list"}']),  # JSON but no list: one line of text
    ],
)
def test_fan_out_items_reads_lists_json_and_lines(value: Any, items: list[Any]) -> None:
    assert fan_out_items(value) == items


def test_fan_out_items_refuses_what_is_no_list_and_too_many() -> None:
    with pytest.raises(WorkflowInvalid, match=r"fan_out\.over gave dict"):
        fan_out_items({"a": 1})
    with pytest.raises(WorkflowInvalid, match="gave 101 items; a fan-out starts at most 100"):
        fan_out_items(list(range(101)))


def ended(join: str | None, *statuses: str, stopped: bool = False) -> CallEndInput:
    step: dict[str, Any] = {"id": "fan", "call": {"workflow": "child"}}
    if join is not None:
        step["fan_out"] = {"over": "[]", "join": join}
    handle = SandboxHandle(
        sandbox_type="git_worktree", work_order_id="wo-1", repository_url="/r", path="/p",
        branch="wo/wo-1", base_branch="main", base_sha="0" * 40,
    )  # fmt: skip
    call = CallInput(
        work_order_id="wo-1",
        handle=handle,
        step=StepDef.model_validate(step),
        position=0,
        inputs={},
        run_id="r",
    )
    children = [
        ChildResult(
            index=i, work_order_id=f"wo-c{i}", status=status, error=None if status == "completed" else "boom"
        )
        for i, status in enumerate(statuses)
    ]
    return CallEndInput(call=call, children=children, stopped=stopped)


@pytest.mark.parametrize(
    ("join", "statuses", "status"),
    [
        ("all_success", ["completed", "completed"], StepStatus.COMPLETED),
        ("all_success", ["completed", "failed"], StepStatus.FAILED),
        ("all_done", ["failed", "cancelled"], StepStatus.COMPLETED),
        ("any_success", ["failed", "completed"], StepStatus.COMPLETED),
        ("any_success", ["failed", "failed"], StepStatus.FAILED),
        ("any_success", [], StepStatus.FAILED),
        ("all_success", [], StepStatus.COMPLETED),
    ],
)
def test_the_join_decides_the_step(join: str, statuses: list[str], status: StepStatus) -> None:
    assert call_output(ended(join, *statuses))[0] == status


def test_a_failed_fan_out_names_its_children_and_a_single_call_its_child() -> None:
    status, data, error = call_output(ended("all_success", "completed", "failed", "failed"))
    assert status == StepStatus.FAILED and [entry["status"] for entry in data] == [
        "completed",
        "failed",
        "failed",
    ]
    assert (
        error
        == "2 of 3 children did not succeed (all_success): child wo-c1 failed: boom; child wo-c2 failed: boom"
    )
    status, data, error = call_output(ended(None, "failed"))
    assert data["work_order_id"] == "wo-c0" and error == "child wo-c0 failed: boom"
    assert call_output(ended(None, "completed", stopped=True))[0] == StepStatus.CANCELLED
    never = ended(None)
    never.children = [ChildResult(index=0, status="failed", error="unknown workflow 'nope'")]
    assert call_output(never)[2] == "unknown workflow 'nope'"
    never.call.step.fan_out = FanOutSpec(over="[1]")
    assert (
        call_output(never)[2]
        == "1 of 1 children did not succeed (all_success): item 0: unknown workflow 'nope'"
    )


def test_a_retry_reads_a_calls_stored_output_back_as_data() -> None:
    row: dict[str, Any] = {
        "work_order_id": "wo-1", "step_id": "fan", "position": 0, "kind": "call", "phase": None,
        "agent": None,
        "status": "completed", "attempt": 1, "started_at": None, "completed_at": None, "exit_code": None,
        "output": '[{"branch": "wo/wo-c0"}]', "error": None, "commit_sha": None, "usage_turns": 0,
        "usage_input_tokens": 0, "usage_output_tokens": 0, "usage_cost_usd": None,
        "output_data": [{"branch": "wo/wo-c0"}],
    }  # fmt: skip
    assert step_output(Step.model_validate(row)).in_templates()["output"] == [{"branch": "wo/wo-c0"}]
    ran = step_output(Step.model_validate(row | {"kind": "run", "output": "[1]", "output_data": None}))
    assert ran.in_templates()["output"] == "[1]"
