"""`shipyard ideas`: submit an idea and follow its run (seed 002), read a run, steer it."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer

from shipyard.cli.common import ServerOpt, api_for, console, run_async

ideas_app = typer.Typer(
    help="Ideas: an idea becomes a spec, an issue tree built branch by branch, merged into "
    "`integration` and released (needs `shipyard serve`).",
    no_args_is_help=True,
)
RunArg = Annotated[str, typer.Argument(help="The run's id (run-…).")]
_ENDED = ("DONE", "FAILED", "CANCELLED")
_MARK = {"DONE": "[green]✓[/]", "IN_PROGRESS": "[yellow]●[/]", "REVIEW": "[cyan]◐[/]", "BLOCKED": "[red]✗[/]"}


@ideas_app.command("submit")
def submit(
    idea: Annotated[str, typer.Argument(help="The idea, in words (its first line names the epic).")],
    repository: Annotated[str, typer.Argument(help="Path or URL of the git repository.")],
    size: Annotated[
        str, typer.Option(help="small, medium or large: how far the planner splits it.")
    ] = "medium",
    agent: Annotated[
        str | None,
        typer.Option(help="The agent for all its work (default: the project's, else the install's)."),
    ] = None,
    project: Annotated[
        str | None, typer.Option(help="A project's id or name: its agent, sandbox and forge apply.")
    ] = None,
    test_command: Annotated[
        str | None, typer.Option(help="The project's test command, run by every QA round.")
    ] = None,
    required_check: Annotated[
        list[str] | None,
        typer.Option(help="A CI check that must pass on each task's branch in every QA round (repeatable)."),
    ] = None,
    qa_rounds: Annotated[
        int | None, typer.Option(help="QA rounds per task, 0 to 5 (default 2; 0: no QA).")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(help="The spec, the tree, branches and draft pull requests; no code, nothing merged."),
    ] = False,
    detach: Annotated[bool, typer.Option(help="Print the run's id and return at once.")] = False,
    server: ServerOpt = None,
) -> None:
    """Submit an idea and follow its run's timeline; exits 0 only when the run is DONE."""
    from shipyard.cli.render import absolute_repository

    options: dict[str, Any] = {"size": size} | ({"agents": {"default": agent}} if agent else {})
    if test_command is not None:
        options["testCommand"] = test_command
    if required_check:
        options["requiredChecks"] = required_check
    if qa_rounds is not None:
        options["qaRounds"] = qa_rounds
    if dry_run:
        options["dryRun"] = True
    body: dict[str, Any] = {"ideaText": idea, "repo": absolute_repository(repository), "options": options}
    if project:
        body["project"] = project

    async def main() -> int:
        async with await api_for(server) as api:
            run_id = (await api.post("/api/ideas", body))["runId"]
            console().print(f"run {run_id}")
            if detach:
                return 0
            return await _follow(api, run_id)

    raise typer.Exit(run_async(main))


async def _follow(api: Any, run_id: str) -> int:
    """Print each new timeline entry until the run ends; 0 when it is DONE."""
    seen = 0
    while True:
        run = await api.get(f"/api/runs/{run_id}")
        for entry in run["timeline"][seen:]:
            _print_entry(entry)
        seen = len(run["timeline"])
        if run["state"] in _ENDED:
            return 0 if run["state"] == "DONE" else 1
        await asyncio.sleep(1)


def _print_entry(entry: dict[str, Any]) -> None:
    style = {"error": "red", "warning": "yellow"}.get(entry["level"], "")
    text = f"{entry['ts'][11:19]}  {entry['phase']:<14} {entry['msg']}"
    console().print(f"[{style}]{text}[/]" if style else text, markup=bool(style), highlight=False)


@ideas_app.command("show")
def show(run_id: RunArg, server: ServerOpt = None) -> None:
    """A run: its state, its issue tree (status, branch, pull request) and its last events."""

    async def main() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        async with await api_for(server) as api:
            run = await api.get(f"/api/runs/{run_id}")
            return run, (await api.get(f"/api/runs/{run_id}/issues"))["issues"]

    run, roots = run_async(main)
    paused = " (paused)" if run["interrupt"]["paused"] else ""
    console().print(f"[bold]{run['runId']}[/] {run['state']}{paused}  {run['repo']}")
    if run["error"]:
        console().print(f"[red]{run['error']}[/]", markup=True, highlight=False)
    for root in roots:
        _print_issue(root, 0)
    for entry in run["timeline"][-10:]:
        _print_entry(entry)


def _print_issue(issue: dict[str, Any], depth: int) -> None:
    mark = _MARK.get(issue["status"], "○")
    pr = f"  #{issue['prNumber']}" if issue["prNumber"] else ""
    line = f"{'  ' * depth}{mark} {issue['type']} #{issue['id']} {issue['title']}"
    console().print(f"{line}  [dim]{issue['branch'] or ''}{pr}[/]", highlight=False)
    for child in issue["children"]:
        _print_issue(child, depth + 1)


def _interrupt(run_id: str, action: str, reason: str | None, server: str | None) -> None:
    async def main() -> dict[str, Any]:
        async with await api_for(server) as api:
            answer: dict[str, Any] = await api.post(
                f"/api/runs/{run_id}/interrupt", {"action": action, "reason": reason}
            )
            return answer

    run = run_async(main)
    console().print(f"{run_id}: {action} sent; {run['state']}")


ReasonOpt = Annotated[str | None, typer.Option(help="Why; on the run's timeline.")]


@ideas_app.command("pause")
def pause(run_id: RunArg, reason: ReasonOpt = None, server: ServerOpt = None) -> None:
    """Hold the run before its next work order."""
    _interrupt(run_id, "pause", reason, server)


@ideas_app.command("resume")
def resume(run_id: RunArg, reason: ReasonOpt = None, server: ServerOpt = None) -> None:
    """Let a paused run go on."""
    _interrupt(run_id, "resume", reason, server)


@ideas_app.command("cancel")
def cancel(run_id: RunArg, reason: ReasonOpt = None, server: ServerOpt = None) -> None:
    """Stop the running work order and end the run."""
    _interrupt(run_id, "cancel", reason, server)
