"""The one comment a work order keeps on its issue: posted when it starts and edited as it goes,
so the thread shows where the work stands and, at the end, what happened and why."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from shipyard.config import Settings
from shipyard.domain.errors import ShipyardError
from shipyard.domain.events import EventSink
from shipyard.domain.models import StepStatus, WorkOrderStatus
from shipyard.domain.work_orders import Step, WorkOrder, WorkOrderChange
from shipyard.forge.base import Forge

TAIL_LINES = 20
RUNNING_LABEL = "shipyard:running"
_HEADLINES = {
    WorkOrderStatus.PENDING: "⏳ Shipyard will work on this",
    WorkOrderStatus.RUNNING: "🚧 Shipyard is working on this",
    WorkOrderStatus.PAUSED: "⏸️ Shipyard paused its work on this",
    WorkOrderStatus.COMPLETED: "✅ Shipyard finished its work on this",
    WorkOrderStatus.FAILED: "❌ Shipyard could not finish this",
    WorkOrderStatus.CANCELLED: "⏹️ Shipyard's work on this was cancelled",
}


class ThreadRows(Protocol):
    """The part of the store the thread reads (steps) and writes (the comment's id)."""

    async def list_steps(self, work_order_id: str) -> Sequence[Step]: ...

    async def update_work_order(self, id: str, change: WorkOrderChange) -> object: ...


def comment_body(wo: WorkOrder, link: str, steps: Sequence[Step]) -> str:
    """Where the work order stands, for the issue's thread."""
    lines = [f"<!-- shipyard:work-order {wo.id} -->", f"{_HEADLINES[wo.status]}."]
    trigger = wo.trigger or {}
    if trigger.get("event") == "issue_comment" and trigger.get("sender"):
        lines[1] = f"@{trigger['sender']} {lines[1]}"
    lines += [
        "",
        f"Work order [`{wo.id}`]({link}) · workflow `{wo.workflow_type}` · branch `{wo.git_branch_name}`",
    ]
    if wo.github_pull_request_url:
        lines.append(f"Pull request: {wo.github_pull_request_url}")
    if wo.git_commit_count:
        lines.append(
            f"{wo.git_commit_count} commits · {wo.git_files_changed} files · "
            f"+{wo.git_lines_added} -{wo.git_lines_removed}"
        )
    if wo.status == WorkOrderStatus.FAILED:
        lines += ["", f"Cause: {wo.error_message or 'unknown'}", *_failure_tail(steps)]
    return "\n".join(lines) + "\n"


def _failure_tail(steps: Sequence[Step]) -> list[str]:
    failed = [s for s in steps if s.status == StepStatus.FAILED]
    if not failed:
        return []
    step = failed[-1]
    text = "\n".join(t for t in (step.output, step.error) if t).strip()
    if not text:
        return []
    tail = "\n".join(text.splitlines()[-TAIL_LINES:])
    fence = "````" if "```" in tail else "```"
    return ["", f"Last lines of step `{step.step_id}`:", "", fence, tail, fence]


class IssueThread:
    """Posts and edits a work order's comment; a failure is reported as an event, never raised."""

    def __init__(self, settings: Settings, rows: ThreadRows) -> None:
        self.settings = settings
        self.rows = rows

    async def update(self, wo: WorkOrder, forge: Forge, events: EventSink) -> None:
        number = wo.github_issue_number
        if not forge.hosted or number is None or not number.isdigit():
            return
        try:
            if await forge.git_token() is None:
                return
            body = comment_body(wo, self.settings.work_order_link(wo.id), await self.rows.list_steps(wo.id))
            if self.settings.github_labels:
                await _label(forge, int(number), wo.status)
            if wo.github_comment_id:
                await forge.edit_comment(int(wo.github_comment_id), body)
                return
            comment = await forge.comment(int(number), body)
            await self.rows.update_work_order(wo.id, WorkOrderChange(github_comment_id=str(comment.id)))
            await events.emit("github.commented", {"url": comment.html_url})
        except ShipyardError as err:
            await events.emit("github.comment_failed", {"error": err.message}, level="warning")


async def _label(forge: Forge, number: int, status: WorkOrderStatus) -> None:
    """`shipyard:running` while the work order runs; at the end `shipyard:<status>` instead."""
    if status == WorkOrderStatus.RUNNING:
        await forge.add_labels(number, [RUNNING_LABEL])
    elif status.is_terminal:
        await forge.remove_label(number, RUNNING_LABEL)
        await forge.add_labels(number, [f"shipyard:{status.value}"])
