"""`shipyard`: serve, run and inspect work orders.

Each command imports what it uses when it runs (see cli/common.py): building this app, which every
invocation does, loads Typer and the standard library only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shipyard.cli.actions import actions_app
from shipyard.cli.catalog import agents_app, db_app, doctor, gc, workflows_app
from shipyard.cli.clusters import clusters_app, jobs_app
from shipyard.cli.common import CliError, ServerOpt, api_for, console, err_console, fail, run_async, settings
from shipyard.cli.ideas import ideas_app
from shipyard.cli.projects import projects_app
from shipyard.cli.report import report_app
from shipyard.cli.schedules import schedules_app

if TYPE_CHECKING:
    from shipyard.cli.client import ApiClient
    from shipyard.config import Settings

app = typer.Typer(help="Shipyard: durable work orders for AI coding agents.", no_args_is_help=True)
app.add_typer(workflows_app, name="workflows")
app.add_typer(agents_app, name="agents")
app.add_typer(db_app, name="db")
app.add_typer(projects_app, name="projects")
app.add_typer(report_app, name="report")
app.add_typer(schedules_app, name="schedules")
app.add_typer(ideas_app, name="ideas")
app.add_typer(clusters_app, name="clusters")
app.add_typer(jobs_app, name="jobs")
app.add_typer(actions_app, name="actions")
app.command()(doctor)
app.command()(gc)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8420).")] = None,
    worker: Annotated[
        bool,
        typer.Option(
            help="Run a worker here; --no-worker serves the dashboard and API only (work runs elsewhere)."
        ),
    ] = True,
) -> None:
    """Run the dashboard and API (http://HOST:PORT/), the worker (in SHIPYARD_WORKERS processes, by
    default one per core above two cores, else in this process) and, unless SHIPYARD_TEMPORAL_ADDRESS
    is set, an embedded Temporal."""
    from shipyard.cli import render
    from shipyard.cli.server import running_server
    from shipyard.logging import configure_logging

    s = settings()
    s = s.model_copy(update={k: v for k, v in {"host": host, "port": port}.items() if v is not None})
    configure_logging(s.log_level)

    async def main() -> None:
        async with running_server(
            s, persistent=True, run_worker=worker, worker_processes=s.worker_processes
        ) as srv:
            render.print_banner(console(), s, srv, worker)
            await _until_signal()

    run_async(main)


async def _until_signal() -> None:
    import asyncio
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


@app.command()
def worker() -> None:
    """Run workers alone, against SHIPYARD_TEMPORAL_ADDRESS or the local `shipyard serve`'s Temporal:
    SHIPYARD_WORKERS processes (default one per core), restarted when one dies."""
    from shipyard.cli.client import local_temporal_address
    from shipyard.composition import worker_parts
    from shipyard.engine.worker import open_engine
    from shipyard.logging import configure_logging

    s = settings()
    problem = s.api_token_problem()  # a worker redacts the token from every log: it must be a real one
    if problem is not None:
        fail(CliError(f"refusing to start: {problem}", exit_code=2))
    address = s.temporal_address or local_temporal_address(s)
    if address is None:
        err_console().print("[red]error:[/] set SHIPYARD_TEMPORAL_ADDRESS or start `shipyard serve` first")
        raise typer.Exit(2)
    s = s.model_copy(update={"temporal_address": address})
    configure_logging(s.log_level)

    async def main() -> None:
        processes = s.worker_processes
        if processes <= 1:
            async with open_engine(s, parts=worker_parts):
                console().print(f"worker ready on {address}, {s.worker_slots} slots; Ctrl-C stops")
                await _until_signal()
            return
        from shipyard.engine.processes import WorkerProcesses

        # The children work; this process sweeps.
        async with open_engine(s, run_worker=False, tidy=True), WorkerProcesses(s, address, processes):
            console().print(
                f"{processes} worker processes on {address}, {s.worker_slots} slots each; Ctrl-C stops"
            )
            await _until_signal()

    run_async(main)


@app.command()
def run(
    repository: Annotated[str, typer.Argument(help="Path or URL of the git repository.")],
    workflow: Annotated[str | None, typer.Option("--workflow", "-w", help="Workflow name.")] = None,
    workflow_file: Annotated[Path | None, typer.Option(help="A workflow definition YAML file.")] = None,
    agent: Annotated[str | None, typer.Option(help="Agent adapter (see `shipyard agents ls`).")] = None,
    sandbox: Annotated[
        str | None, typer.Option(help="git_worktree (default), git_branch, bwrap, docker, e2b or dagger.")
    ] = None,
    inputs: Annotated[list[str] | None, typer.Option("--input", "-i", help="key=value, repeatable.")] = None,
    base_branch: Annotated[
        str | None, typer.Option(help="Branch to start from (default: the repository's).")
    ] = None,
    issue: Annotated[
        int | None,
        typer.Option("--issue", min=1, help="A GitHub issue: its text is the `issue` input (fix_issue)."),
    ] = None,
    pull_request: Annotated[
        int | None,
        typer.Option(
            "--pr",
            min=1,
            help="A pull request to work on: its branch, with the `pr` and `pull_request` inputs "
            "(review_pr, address_review, resolve_conflicts).",
        ),
    ] = None,
    server: ServerOpt = None,
    detach: Annotated[bool, typer.Option(help="Print the id and return without waiting.")] = False,
    dry_run: Annotated[
        bool, typer.Option(help="Show the plan (steps by layer, rendered commands) and create nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="With --dry-run: print the API's JSON.")] = False,
) -> None:
    """Run a workflow on a repository as a work order; exits 0 only if it completed.

    Uses the local `shipyard serve` (or --server) when one runs; otherwise runs embedded for its
    own duration (Temporal in memory). Ctrl-C cancels an embedded run; on a server's work order it
    asks whether to cancel or detach (without a terminal to ask: detach). --dry-run checks the
    request as a run would and prints the plan; it needs no engine and starts nothing.
    """
    from shipyard.cli import render
    from shipyard.cli.client import ApiClient, local_server_url
    from shipyard.logging import configure_logging

    try:
        body = render.create_body(
            repository, workflow, workflow_file, agent, sandbox, inputs or [], base_branch
        )
        body |= {"github_issue_number": str(issue)} if issue else {}
        body |= {"github_pull_request_number": pull_request} if pull_request else {}
        if as_json and not dry_run:
            raise CliError("--json goes with --dry-run (a run prints its progress)", exit_code=2)
    except CliError as err:
        fail(err)
    if dry_run:
        from shipyard.cli.dry_run import dry_run as plan

        run_async(lambda: plan(server, body, as_json))
        return
    s = settings()
    url = server or local_server_url(s)
    if url is None:
        configure_logging("warning")
        code = run_async(lambda: _run_embedded(s, body))
    else:
        token = s.api_token.get_secret_value() if s.api_token else None
        code = run_async(lambda: _submit_and_follow(ApiClient(url, token), body, detach))
    raise typer.Exit(code)


async def _run_embedded(s: Settings, body: dict[str, Any]) -> int:
    import asyncio

    from shipyard.cli.client import ApiClient
    from shipyard.cli.server import running_server

    await _check_before_starting(s, body)
    console().print("[dim]no server running: starting an embedded engine (Temporal in memory)[/]")
    async with running_server(s, persistent=False, port=0, announce=False) as srv:
        started: list[str] = []
        try:
            return await _submit_and_follow(ApiClient(srv.url), body, detach=False, started=started)
        except asyncio.CancelledError:
            for work_order_id in started:  # nothing will run it once this process is gone
                await srv.service.abandon(work_order_id, "interrupted (Ctrl-C)")
            console().print("[yellow]interrupted: the embedded work order was cancelled[/]")
            raise


async def _check_before_starting(s: Settings, body: dict[str, Any]) -> None:
    """Refuse bad input (workflow, inputs, repository, agent, sandbox) before an engine starts."""
    from pydantic import ValidationError

    from shipyard.domain.errors import ShipyardError
    from shipyard.domain.models import CreateWorkOrderRequest
    from shipyard.service.requests import check_request
    from shipyard.store.store import Store

    try:
        req = CreateWorkOrderRequest.model_validate(body)
    except ValidationError as err:
        raise CliError(f"invalid request: {err.errors()[0]['msg']}", exit_code=2) from None
    s.data_dir.mkdir(parents=True, exist_ok=True)
    store = await Store.open(s.resolved_database_url)
    try:
        await check_request(s, store, req)
    except ShipyardError as err:
        raise CliError(err.message, exit_code=2) from None
    finally:
        await store.close()


async def _submit_and_follow(
    api: ApiClient, body: dict[str, Any], detach: bool, started: list[str] | None = None
) -> int:
    import asyncio

    from shipyard.cli.watch import Follower, print_summary

    async with api:
        wo = (await api.post("/api/agent-work-orders", body))["agent_work_order"]
        work_order_id = wo["agent_work_order_id"]
        if started is not None:
            started.append(work_order_id)
        console().print(
            f"[bold]{work_order_id}[/]  {Path(wo['repository_url']).name}  "
            f"{wo['workflow_type']}  {wo['agent']}  {wo['sandbox_type']}"
        )
        if detach:
            return 0
        try:
            final = await Follower(api, work_order_id, console()).follow()
        except asyncio.CancelledError:
            if started is None:
                await _cancel_or_detach(api, work_order_id)
            raise
        print_summary(console(), final)
        return 0 if final["status"] == "completed" else 1


async def _cancel_or_detach(api: ApiClient, work_order_id: str) -> None:
    """After Ctrl-C on a server's work order: ask whether to cancel it (only a terminal can answer)."""
    from rich.prompt import Confirm

    question = f"\ncancel {work_order_id}? (no: detach and let it run)"
    if sys.stdin.isatty() and Confirm.ask(question, console=console(), default=False):
        interrupt = {"action": "cancel", "reason": "Ctrl-C in shipyard run"}
        await api.post(f"/api/agent-work-orders/{work_order_id}/interrupt", interrupt)
        console().print(f"[yellow]cancel requested[/]: {work_order_id} is being stopped")
    else:
        console().print(f"[yellow]detached[/]: {work_order_id} goes on; `shipyard show {work_order_id}`")


github_app = typer.Typer(help="GitHub: check repositories.", no_args_is_help=True)
app.add_typer(github_app, name="github")


@github_app.command("verify-repository")
def verify_repository(
    repository: Annotated[str, typer.Argument(help="A GitHub URL, owner/name, or a local path.")],
    server: ServerOpt = None,
) -> None:
    """Check that Shipyard can work on a repository: owner, name, default branch, access."""

    async def main() -> dict[str, Any]:
        async with await api_for(server) as api:
            answer: dict[str, Any] = await api.post(
                "/api/github/verify-repository", {"repository_url": repository}
            )
            return answer

    answer = run_async(main)
    repo = answer["repository"]
    name = f"{repo['repository_owner']}/{repo['repository_name']}"
    console().print(f"{name}  default branch: {repo['default_branch'] or 'unknown'}")
    if not answer["verification_success"]:
        err_console().print(f"[red]not accessible:[/] {answer['error_message']}")
        raise typer.Exit(1)
    console().print("[green]accessible[/]")


@app.command("ls")
def list_work_orders(
    status: Annotated[str | None, typer.Option(help="pending, running, completed, failed, cancelled")] = None,
    limit: int = 20,
    server: ServerOpt = None,
) -> None:
    """List work orders, newest first."""
    from shipyard.cli import render

    async def main() -> None:
        async with await api_for(server) as api:
            page = await api.get("/api/agent-work-orders", status=status, limit=limit)
        render.print_work_orders(console(), page)

    run_async(main)


@app.command()
def show(
    work_order_id: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON.")] = False,
    server: ServerOpt = None,
) -> None:
    """Show one work order: status, branch, git progress, steps, the children its calls started."""
    from shipyard.cli import render
    from shipyard.cli.client import IN_PROCESS_URL

    async def main() -> None:
        async with await api_for(server) as api:
            wo = (await api.get(f"/api/agent-work-orders/{work_order_id}"))["agent_work_order"]
            steps = (await api.get(f"/api/agent-work-orders/{work_order_id}/steps"))["steps"]
            children = []
            if wo.get("children"):
                page = await api.get("/api/agent-work-orders", parent_id=work_order_id, limit=500)
                children = sorted(page["agent_work_orders"], key=lambda child: child["created_at"])
            dashboard = None if api.base_url == IN_PROCESS_URL else api.base_url.rstrip("/")
        if as_json:
            sys.stdout.write(json.dumps({**wo, "steps": steps}, indent=2) + "\n")
        else:
            render.print_work_order(console(), wo, steps, children, dashboard)

    run_async(main)


@app.command()
def logs(
    work_order_id: str,
    limit: Annotated[int, typer.Option(help="How many entries.")] = 100,
    offset: int = 0,
    follow_: Annotated[
        bool, typer.Option("--follow", "-f", help="Stream events live until it ends.")
    ] = False,
    server: ServerOpt = None,
) -> None:
    """Print a work order's log entries (events), oldest first; -f follows them live."""
    from shipyard.cli.client import IN_PROCESS_URL
    from shipyard.cli.follow import follow
    from shipyard.cli.render import format_log_entry

    async def main() -> None:
        async with await api_for(server) as api:
            if follow_ and api.base_url != IN_PROCESS_URL:
                await follow(api, work_order_id, console())
                return
            page = await api.get(f"/api/agent-work-orders/{work_order_id}/logs", limit=limit, offset=offset)
        for entry in page["log_entries"]:
            console().print(format_log_entry(entry), highlight=False, markup=False)
        if follow_:
            console().print("[dim]no server is running here, so there is nothing live to follow[/]")

    run_async(main)


def _interrupt(work_order_id: str, action: str, reason: str | None, server: str | None) -> None:
    async def main() -> None:
        async with await api_for(server) as api:
            body = {"action": action, "reason": reason}
            answer = await api.post(f"/api/agent-work-orders/{work_order_id}/interrupt", body)
        console().print(f"{work_order_id}: {answer['message']}")

    run_async(main)


ReasonOpt = Annotated[str | None, typer.Option(help="Why; recorded with the work order.")]


@app.command()
def pause(work_order_id: str, reason: ReasonOpt = None, server: ServerOpt = None) -> None:
    """Pause a work order; it holds before its next step until `shipyard resume`."""
    _interrupt(work_order_id, "pause", reason, server)


@app.command()
def resume(work_order_id: str, reason: ReasonOpt = None, server: ServerOpt = None) -> None:
    """Resume a paused work order."""
    _interrupt(work_order_id, "resume", reason, server)


@app.command()
def cancel(work_order_id: str, reason: ReasonOpt = None, server: ServerOpt = None) -> None:
    """Cancel a work order: its running step is stopped and its sandbox removed."""
    _interrupt(work_order_id, "cancel", reason, server)


@app.command()
def retry(
    work_order_id: str,
    step: Annotated[str | None, typer.Option(help="Start from this step (default: the failed one).")] = None,
    server: ServerOpt = None,
) -> None:
    """Run a failed or cancelled work order again from its failed step; completed steps are kept.

    A call step runs again keeping its children that completed (their output, their merge) and
    retrying in place those that failed or were cancelled.
    """

    async def main() -> None:
        async with await api_for(server) as api:
            body = {"step_id": step} if step else {}
            answer = await api.post(f"/api/agent-work-orders/{work_order_id}/retry", body)
        console().print(
            f"{work_order_id}: {answer['agent_work_order']['status']}; follow with `shipyard show`"
        )

    run_async(main)


@app.command("prompt")
def send_prompt(work_order_id: str, text: str, server: ServerOpt = None) -> None:
    """Send the agent a follow-up prompt; it runs when the current step ends."""

    async def main() -> None:
        async with await api_for(server) as api:
            answer = await api.post(f"/api/agent-work-orders/{work_order_id}/prompt", {"prompt_text": text})
        console().print(f"{work_order_id}: {answer['message']}")

    run_async(main)


@app.command()
def approve(
    work_order_id: str,
    response: Annotated[str, typer.Option(help="Your answer; the gate step's output.")] = "",
    server: ServerOpt = None,
) -> None:
    """Approve the gate a work order is waiting at."""
    _answer_gate(work_order_id, "approve", {"response": response}, server)


@app.command()
def advance(work_order_id: str, server: ServerOpt = None) -> None:
    """Go past the gate a work order is waiting at without approving it."""
    _answer_gate(work_order_id, "advance", {}, server)


def _answer_gate(work_order_id: str, verb: str, body: dict[str, Any], server: str | None) -> None:
    async def main() -> None:
        async with await api_for(server) as api:
            answer = await api.post(f"/api/agent-work-orders/{work_order_id}/{verb}", body)
        console().print(f"{work_order_id}: {answer['message']}")

    run_async(main)


def main() -> None:
    app()


if __name__ == "__main__":  # python -m shipyard.cli.main (what `python -X importtime` measures)
    main()
