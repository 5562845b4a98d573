"""The pull request's description: what the work order planned, ran, changed and tested.

Written when the draft opens and again at the end, so the PR always tells where the work stands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shipyard.domain.work_orders import Step, WorkOrder
from shipyard.gitutil.progress import GitProgress

PLAN_FILE = "specs/plan.md"
PLAN_LINES = 60
TEST_LINES = 20
MARKER = "<!-- shipyard:work-order {id} -->"  # lets people (and tools) find the work order behind a PR


@dataclass
class PrContext:
    work_order: WorkOrder
    steps: Sequence[Step]
    progress: GitProgress
    link: str  # where the work order can be read
    plan: str | None = None  # the plan file's text, when the branch has one


def draft_title(wo: WorkOrder) -> str:
    """The draft's title until the `pr` step names it: the task (its title, else its prompt), else
    the workflow."""
    task = str(wo.inputs.get("title") or wo.inputs.get("prompt") or "")
    task = task or f"{wo.workflow_type} on {wo.git_branch_name}"
    return _one_line(task, 70)


def compose(ctx: PrContext) -> str:
    wo = ctx.work_order
    head = [
        MARKER.format(id=wo.id),
        f"Work order [`{wo.id}`]({ctx.link}) · workflow `{wo.workflow_type}` · agent `{wo.agent}` · "
        f"**{wo.status.value}**",
    ]
    if wo.error_message:
        head.append(f"\n> {_one_line(wo.error_message)}")
    if (wo.github_issue_number or "").isdigit():  # GitHub closes the issue when the PR merges
        head.append(f"\nCloses #{wo.github_issue_number}")
    sections = [_plan(ctx), _steps(ctx.steps), _changes(ctx.progress), _tests(ctx.steps)]
    return "\n\n".join(["\n".join(head), *[s for s in sections if s]]) + "\n"


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _last_lines(text: str, count: int) -> str:
    return "\n".join(text.strip().splitlines()[-count:])


def _fenced(text: str) -> str:
    fence = "````" if "```" in text else "```"
    return f"{fence}\n{text}\n{fence}"


def read_plan(worktree: Path) -> str | None:
    """The plan the planning step wrote, if the working tree has one."""
    path = worktree / PLAN_FILE
    return path.read_text(errors="replace") if path.is_file() else None


def _plan(ctx: PrContext) -> str:
    if ctx.plan is not None:
        lines = ctx.plan.splitlines()
        more = (
            f"\n\n… {len(lines) - PLAN_LINES} more lines in `{PLAN_FILE}`" if len(lines) > PLAN_LINES else ""
        )
        return "## Plan\n\n" + "\n".join(lines[:PLAN_LINES]) + more
    planning = next((s for s in ctx.steps if s.phase == "planning" and s.output), None)
    return f"## Plan\n\n{_last_lines(planning.output or '', PLAN_LINES)}" if planning else ""


def _duration(step: Step) -> str:
    if step.started_at is None or step.completed_at is None:
        return ""
    return f"{(step.completed_at - step.started_at).total_seconds():.1f} s"


def _steps(steps: Sequence[Step]) -> str:
    if not steps:
        return ""
    rows = ["## Steps", "", "| step | phase | status | duration |", "| --- | --- | --- | --- |"]
    for step in sorted(steps, key=lambda s: s.position):
        rows.append(f"| `{step.step_id}` | {step.phase or ''} | {step.status.value} | {_duration(step)} |")
    return "\n".join(rows)


def _changes(progress: GitProgress) -> str:
    lines = [
        "## Changes",
        "",
        f"{progress.commit_count} commits · {progress.files_changed} files · "
        f"+{progress.lines_added} -{progress.lines_removed}",
        "",
    ]
    for commit in progress.commits:
        phase = f" ({commit.phase})" if commit.phase else ""
        lines.append(f"- `{commit.sha[:10]}` {_one_line(commit.message, 100)}{phase}")
    return "\n".join(lines).rstrip()


def _tests(steps: Sequence[Step]) -> str:
    tests = [s for s in steps if s.phase == "testing"]
    if not tests:
        return ""
    parts = ["## Tests"]
    for step in tests:
        text = _last_lines("\n".join(t for t in (step.output, step.error) if t), TEST_LINES)
        parts.append(f"`{step.step_id}`: **{step.status.value}**" + (f"\n\n{_fenced(text)}" if text else ""))
    return "\n\n".join(parts)
