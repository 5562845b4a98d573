"""The domain work order: progress from git, typed changes and what they set."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shipyard.domain.models import Usage, WorkOrderStatus
from shipyard.domain.work_orders import BranchProgress, StepChange, WorkOrder, WorkOrderChange, usage_fields
from shipyard.gitutil import GitProgress

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def _work_order() -> WorkOrder:
    blank = dict.fromkeys(WorkOrder.model_fields)
    usage = usage_fields(Usage(turns=1, input_tokens=10, output_tokens=2))
    return WorkOrder.model_validate(
        blank | BranchProgress().fields() | usage | {
            "id": "wo-0000abcd", "repository_url": "/repos/widgets", "workflow_type": "build",
            "sandbox_type": "git_worktree", "agent": "shell", "status": "running", "inputs": {},
            "created_at": NOW, "updated_at": NOW, "forge": "local",
        }
    )  # fmt: skip


def test_progress_read_from_git_maps_to_the_work_orders_fields() -> None:
    stats = GitProgress(
        commit_count=2, files_changed=3, lines_added=40, lines_removed=9,
        latest_commit_sha="b" * 40, latest_commit_message="fix: rows",
    )  # fmt: skip

    progress = BranchProgress.of(stats)

    assert progress.fields() == {
        "git_commit_count": 2, "git_files_changed": 3, "git_lines_added": 40, "git_lines_removed": 9,
        "latest_commit_sha": "b" * 40, "latest_commit_message": "fix: rows",
    }  # fmt: skip
    assert _work_order().changed(WorkOrderChange(progress=progress)).progress == progress


def test_a_change_sets_only_its_fields_spreading_progress_and_usage() -> None:
    change = WorkOrderChange(current_phase="build", sandbox=None)
    change.usage = Usage(turns=3, input_tokens=100, cached_input_tokens=60, reasoning_tokens=2, cost_usd=0.5)

    assert change.fields() == {
        "current_phase": "build", "sandbox": None, "usage_turns": 3, "usage_input_tokens": 100,
        "usage_cached_input_tokens": 60, "usage_cache_write_tokens": 0, "usage_output_tokens": 0,
        "usage_reasoning_tokens": 2, "usage_cost_usd": 0.5, "usage_cost_estimated": False,
    }  # fmt: skip
    assert WorkOrderChange().fields() == {}
    one = Usage(turns=1)
    assert StepChange(usage=one, error=None).fields() == {"error": None} | usage_fields(one)


def test_a_work_order_with_a_change_applied_in_memory() -> None:
    wo = _work_order()
    ending = WorkOrderChange(status=WorkOrderStatus.FAILED, error_message="exit code 1")
    with_progress = ending.model_copy(update={"progress": BranchProgress(commit_count=4)})

    changed = wo.changed(with_progress)

    assert (changed.status, changed.error_message, changed.git_commit_count) == ("failed", "exit code 1", 4)
    assert changed.usage == wo.usage and changed.id == wo.id
    assert wo.status is WorkOrderStatus.RUNNING  # the original stays as it was


def test_fields_that_cannot_be_empty_refuse_none_also_on_assignment() -> None:
    with pytest.raises(ValidationError, match="progress, status cannot be emptied"):
        WorkOrderChange(status=None, progress=None)
    change = WorkOrderChange()
    with pytest.raises(ValidationError, match="usage cannot be emptied"):
        change.usage = None
    with pytest.raises(ValidationError, match="Input should be a valid integer"):
        StepChange().attempt = "twice"  # type: ignore[assignment]
