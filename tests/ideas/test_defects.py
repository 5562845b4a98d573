"""The defects a QA round's failed `ci` gate makes (ideas/defects.py): each required check that
failed, with its link and what it said; when none failed (the gate gave up), each that never
reported; a gate that failed before it waited, one saying so."""

from __future__ import annotations

from typing import Any

from shipyard.domain.models import StepStatus
from shipyard.domain.work_orders import Step
from shipyard.forge.base import CheckRun
from shipyard.ideas.defects import check_defects

SHA = "0123456789abcdef0123456789abcdef01234567"


def gate(error: str, checks: list[dict[str, Any]] | None) -> Step:
    """The `ci` step's row as the QA gate left it."""
    data = None if checks is None else {"checks": checks}
    return Step(
        work_order_id="wo-1", step_id="ci", position=2000, kind="gate", phase="qa", agent=None,
        status=StepStatus.FAILED, attempt=1, started_at=None, completed_at=None, exit_code=None,
        output=error, error=error, commit_sha=None, output_data=data, usage_turns=0,
        usage_input_tokens=0, usage_output_tokens=0, usage_cost_usd=None,
    )  # fmt: skip


def test_each_failed_check_is_a_defect_with_its_link_and_what_it_said() -> None:
    heard = [
        {"name": "ci/test", "conclusion": "failure", "url": "https://ci.example/9", "sha": SHA},
        {"name": "lint", "conclusion": "success", "url": "", "sha": SHA},
        {"name": "e2e", "conclusion": None},  # still running when ci/test failed: not a defect
        {"name": "docs", "conclusion": "timed_out", "url": "", "sha": ""},
    ]
    said = {
        "ci/test": CheckRun(name="ci/test", conclusion="failure", summary="x" * 3000 + "2 tests failed"),
        "docs": CheckRun(name="docs", conclusion="timed_out", url="https://ci.example/11"),
    }
    found = check_defects(gate("check 'ci/test' concluded failure", heard), said)
    assert found == [
        (
            "Required check ci/test failed",
            f"The required check `ci/test` concluded failure on commit {SHA[:12]}: https://ci.example/9"
            f"\n\nWhat it said:\n\n{('x' * 3000 + '2 tests failed')[-3000:]}",
        ),
        (
            "Required check docs failed",
            "The required check `docs` concluded timed_out: https://ci.example/11",
        ),
    ]


def test_checks_that_never_reported_are_defects_once_the_gate_gave_up() -> None:
    waited = "timed out after 1800 s waiting for checks; no result from e2e"
    heard = [{"name": "ci/test", "conclusion": "success"}, {"name": "e2e", "conclusion": None}]
    assert check_defects(gate(waited, heard), {}) == [
        (
            "Required check e2e did not report",
            f"It gave no result on the branch's commit while QA waited ({waited}).",
        )
    ]
    broken = "gate 'ci': gate.checks gave int 3, not a list of check names"
    assert check_defects(gate(broken, None), {}) == [
        ("Required checks not verified", f"The QA gate on the required checks failed: {broken}")
    ]
