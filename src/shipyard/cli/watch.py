"""Following a work order from the CLI: a live step table on a terminal, plain lines elsewhere."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from shipyard.cli.client import ApiClient

POLL_S = 0.5
ICONS = {
    "completed": "[green]✓[/]",
    "failed": "[red]✗[/]",
    "running": "[yellow]⠋[/]",
    "skipped": "[dim]-[/]",
}
TERMINAL = {"completed", "failed", "cancelled"}


def _duration(step: dict[str, Any]) -> str:
    if not step.get("started_at"):
        return ""
    start = datetime.fromisoformat(step["started_at"])
    end = datetime.fromisoformat(step["completed_at"]) if step.get("completed_at") else datetime.now(UTC)
    seconds = int((end - start).total_seconds())
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60}:{seconds % 60:02d}"


def steps_table(steps: list[dict[str, Any]], last_line: str) -> Group:
    table = Table.grid(padding=(0, 2))
    for step in steps:
        icon = ICONS.get(step["status"], "·")
        detail = (step.get("error") or "")[:80] if step["status"] == "failed" else ""
        table.add_row(icon, step["step_id"], step.get("phase") or "", _duration(step), detail)
    return Group(table, Text(last_line[:120], style="dim"))


class Follower:
    """Polls a work order until it ends, rendering progress as it goes."""

    def __init__(self, api: ApiClient, work_order_id: str, console: Console) -> None:
        self.api, self.id, self.console = api, work_order_id, console
        self.seen_events = 0
        self.last_line = ""
        self.printed: dict[str, str] = {}

    async def poll(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        wo = (await self.api.get(f"/api/agent-work-orders/{self.id}"))["agent_work_order"]
        steps = (await self.api.get(f"/api/agent-work-orders/{self.id}/steps"))["steps"]
        logs = await self.api.get(
            f"/api/agent-work-orders/{self.id}/logs", offset=self.seen_events, limit=1000
        )
        self.seen_events += len(logs["log_entries"])
        for entry in logs["log_entries"]:
            if entry["event"] in ("log", "agent.message"):
                self.last_line = str(entry.get("line") or entry.get("text") or "").strip() or self.last_line
        return wo, steps

    async def follow(self) -> dict[str, Any]:
        if self.console.is_terminal:
            with Live(console=self.console, refresh_per_second=4, transient=False) as live:
                while True:
                    wo, steps = await self.poll()
                    live.update(steps_table(steps, self.last_line))
                    if wo["status"] in TERMINAL:
                        return wo
                    await asyncio.sleep(POLL_S)
        while True:
            wo, steps = await self.poll()
            self._print_changes(steps)
            if wo["status"] in TERMINAL:
                return wo
            await asyncio.sleep(POLL_S)

    def _print_changes(self, steps: list[dict[str, Any]]) -> None:
        for step in steps:
            if self.printed.get(step["step_id"]) != step["status"]:
                self.printed[step["step_id"]] = step["status"]
                icon = ICONS.get(step["status"], "·")
                self.console.print(f"  {icon} {step['step_id']:<12} {step['status']:<10} {_duration(step)}")


def print_summary(console: Console, wo: dict[str, Any]) -> None:
    color = {"completed": "green", "failed": "red"}.get(wo["status"], "yellow")
    console.print(
        f"[bold {color}]{wo['status']}[/]  {wo['agent_work_order_id']}  branch {wo['git_branch_name']}"
    )
    console.print(
        f"  commits {wo['git_commit_count']}  files {wo['git_files_changed']}"
        f"  +{wo['git_lines_added']} -{wo['git_lines_removed']}"
    )
    usage = wo["usage"]
    if usage["turns"]:
        cost = f"  ${usage['cost_usd']:.2f}" if usage.get("cost_usd") is not None else ""
        tokens = usage["input_tokens"] + usage["output_tokens"]
        console.print(f"  agent usage {usage['turns']} turns  {tokens} tokens{cost}")
    if wo.get("github_pull_request_url"):
        console.print(f"  pull request {wo['github_pull_request_url']}")
    if wo.get("error_message"):
        console.print(f"  [red]error:[/] {wo['error_message']}")
