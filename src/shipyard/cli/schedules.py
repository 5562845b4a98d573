"""`shipyard schedules`: the schedules of projects' `on: schedule` sources, through the API."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from shipyard.cli.common import CliError, ServerOpt, api_for, console, fail, run_async

schedules_app = typer.Typer(
    help="Schedules: projects' `on: schedule` sources, firing work orders at cron times.",
    no_args_is_help=True,
)
ScheduleArg = Annotated[str, typer.Argument(help="The schedule's id (sch-…, see `shipyard schedules ls`).")]


@schedules_app.command("ls")
def schedules_ls(
    project: Annotated[str | None, typer.Option(help="Only this project's (name or id).")] = None,
    server: ServerOpt = None,
) -> None:
    """List schedules: project, source, cron, time zone, next firings, state and last work order."""
    from rich.table import Table

    async def main() -> list[dict[str, Any]]:
        async with await api_for(server) as api:
            answer: list[dict[str, Any]] = (await api.get("/api/schedules", project=project))["schedules"]
            return answer

    schedules = run_async(main)
    if not schedules:
        console().print("no schedules (a project source `on: schedule` with `cron` makes one)")
        return
    columns = ("id", "project", "source", "workflow", "cron", "timezone", "next runs", "state", "last")
    table = Table(*columns, box=None)
    for s in schedules:
        table.add_row(
            s["id"], s["project"], str(s["source"]), s["workflow"], s["cron"], s["timezone"],
            ", ".join(_time(t) for t in s["next_runs"]) or "-", s["state"], _last(s),
        )  # fmt: skip
    console().print(table)


def _time(value: str) -> str:
    """An API timestamp as `2026-05-04 03:00Z`."""
    return value[:16].replace("T", " ") + "Z"


def _last(schedule: dict[str, Any]) -> str:
    if schedule["last_work_order_id"]:
        return f"{schedule['last_work_order_id']} {schedule['last_status']}"
    if schedule["last_error"]:
        return f"{schedule['last_status']}: {schedule['last_error']}"
    return schedule["last_status"] or "-"


@schedules_app.command("pause")
def schedules_pause(
    schedule: ScheduleArg,
    note: Annotated[str | None, typer.Option(help="Why (shown by `ls`).")] = None,
    server: ServerOpt = None,
) -> None:
    """Stop a schedule firing until it is resumed."""
    _act(server, schedule, "pause", {"note": note} if note else {})
    console().print(f"paused {schedule}", highlight=False)


@schedules_app.command("resume")
def schedules_resume(schedule: ScheduleArg, server: ServerOpt = None) -> None:
    """Let a paused schedule fire again at its times."""
    _act(server, schedule, "resume", {})
    console().print(f"resumed {schedule}", highlight=False)


@schedules_app.command("trigger")
def schedules_trigger(schedule: ScheduleArg, server: ServerOpt = None) -> None:
    """Fire a schedule now (paused or not): it starts a work order like one of its firings."""
    answer = _act(server, schedule, "trigger", {})
    started = answer["work_order_id"]
    if started:
        console().print(f"triggered {schedule}: work order {started}", highlight=False)
    elif answer["schedule"]["last_error"]:
        why = answer["schedule"]["last_error"]
        fail(CliError(f"triggered {schedule}, which started no work order: {why}"))
    else:
        console().print(f"triggered {schedule}; its work order will show in `shipyard ls`", highlight=False)


def _act(server: str | None, schedule: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        async with await api_for(server) as api:
            answer: dict[str, Any] = await api.post(f"/api/schedules/{schedule}/{action}", body)
            return answer

    return run_async(main)
