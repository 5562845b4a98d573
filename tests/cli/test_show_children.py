"""`shipyard show` of a parent lists its children (status, id, pull request or branch, dashboard
link); of a child, its parent."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from shipyard.cli.render import print_work_order

USAGE = {"turns": 0, "input_tokens": 0, "output_tokens": 0}


def answer(wid: str, status: str, **fields: Any) -> dict[str, Any]:
    base = {
        "agent_work_order_id": wid, "status": status, "current_phase": None, "repository_url": "/r",
        "workflow_type": "w", "agent": "shell", "sandbox_type": "git_worktree",
        "git_branch_name": f"wo/{wid}",
        "base_branch": "main", "git_commit_count": 0, "git_files_changed": 0, "git_lines_added": 0,
        "git_lines_removed": 0, "usage": USAGE, "created_at": "2026-01-01T00:00:00",
    }  # fmt: skip
    return base | fields


def shown(*args: Any) -> str:
    console = Console(record=True, width=200)
    print_work_order(console, *args)
    return console.export_text()


def test_a_parent_lists_its_children_and_a_child_names_its_parent() -> None:
    children = [
        answer("wo-00000001", "completed", github_pull_request_url="https://github.com/a/b/pull/3"),
        answer("wo-00000002", "failed"),
    ]
    parent = answer("wo-0000000p", "failed", children=["wo-00000001", "wo-00000002"])
    text = shown(parent, [], children, "http://dash")

    assert "  children (2)\n" in text
    assert (
        "    completed  wo-00000001  https://github.com/a/b/pull/3  http://dash/work-orders/wo-00000001\n"
        in text
    )
    assert "    failed     wo-00000002  wo/wo-00000002  http://dash/work-orders/wo-00000002\n" in text
    child = shown(answer("wo-00000001", "completed", parent_id="wo-0000000p"), [])
    assert "  parent             wo-0000000p\n" in child and "children" not in child
