"""The one comment a work order keeps on its GitHub issue: posted when it starts and edited as it
goes, so the thread shows where the work stands and, at the end, what happened and why."""

from __future__ import annotations

from shipyard.config import Settings
from shipyard.domain.errors import ShipyardError
from shipyard.domain.events import EventSink
from shipyard.domain.models import StepStatus, WorkOrderStatus
from shipyard.forge.github import GitHubClient, RepoRef, parse_repository
from shipyard.forge.github_auth import github_token
from shipyard.store.records import StepRecord, WorkOrderRecord
from shipyard.store.store import Store

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


def comment_body(wo: WorkOrderRecord, link: str, steps: list[StepRecord]) -> str:
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


def _failure_tail(steps: list[StepRecord]) -> list[str]:
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

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store

    async def update(self, wo: WorkOrderRecord, events: EventSink) -> None:
        number = wo.github_issue_number
        ref = parse_repository(wo.repository_url)
        if wo.forge != "github" or ref is None or number is None or not number.isdigit():
            return
        try:
            token = await github_token(self.settings, ref)
            if token is None:
                return
            client = GitHubClient(self.settings, token)
            body = comment_body(wo, self.settings.work_order_link(wo.id), await self.store.list_steps(wo.id))
            if self.settings.github_labels:
                await _label(client, ref, int(number), wo.status)
            if wo.github_comment_id:
                await client.update_comment(ref, int(wo.github_comment_id), body)
                return
            comment = await client.create_comment(ref, int(number), body)
            await self.store.update_work_order(wo.id, github_comment_id=str(comment.id))
            await events.emit("github.commented", {"url": comment.html_url})
        except ShipyardError as err:
            await events.emit("github.comment_failed", {"error": err.message}, level="warning")


async def _label(client: GitHubClient, ref: RepoRef, number: int, status: WorkOrderStatus) -> None:
    """`shipyard:running` while the work order runs; at the end `shipyard:<status>` instead."""
    if status == WorkOrderStatus.RUNNING:
        await client.add_labels(ref, number, [RUNNING_LABEL])
    elif status.is_terminal:
        await client.remove_label(ref, number, RUNNING_LABEL)
        await client.add_labels(ref, number, [f"shipyard:{status.value}"])
