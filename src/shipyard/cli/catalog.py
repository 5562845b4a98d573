"""Commands that need no server: workflows, agents, doctor, db, gc."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from shipyard.cli.common import CliError, console, fail, run_async, settings

if TYPE_CHECKING:
    from shipyard.config import Settings
    from shipyard.engine.gc import Collected

workflows_app = typer.Typer(help="List, show and validate workflow definitions.", no_args_is_help=True)
agents_app = typer.Typer(help="Agent adapters and whether they can run here.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)


@workflows_app.command("ls")
def workflows_ls(
    repository: Annotated[
        Path | None, typer.Option(help="Also list the repository's .shipyard/workflows.")
    ] = None,
) -> None:
    """List the built-in workflows (and a repository's own)."""
    from rich.table import Table

    from shipyard.workflows.loader import builtin_names, list_repository_definitions, load_builtin

    table = Table("name", "source", "steps", "description", box=None)
    for name in builtin_names():
        d = load_builtin(name)
        table.add_row(d.name, "built-in", str(len(d.steps)), d.description)
    if repository is not None:
        for d in list_repository_definitions(repository):
            table.add_row(d.name, d.source or "", str(len(d.steps)), d.description)
    console().print(table)


@workflows_app.command("show")
def workflows_show(name: str) -> None:
    """Print a built-in workflow's definition as YAML."""
    import yaml

    from shipyard.domain.errors import ShipyardError
    from shipyard.workflows.loader import load_builtin

    try:
        definition = load_builtin(name)
    except ShipyardError as err:
        fail(CliError(err.message, exit_code=2))
    data = definition.model_dump(mode="json", exclude_none=True, exclude={"source"})
    console().print(yaml.safe_dump(data, sort_keys=False), highlight=False, markup=False)


@workflows_app.command("validate")
def workflows_validate(files: list[Path]) -> None:
    """Validate workflow YAML files; errors name the file, step and field."""
    from shipyard.domain.errors import ShipyardError
    from shipyard.workflows.loader import load_definition_text

    bad = 0
    for path in files:
        try:
            definition = load_definition_text(path.read_text(), str(path))
            console().print(f"[green]ok[/]  {path}  ({definition.name}, {len(definition.steps)} steps)")
        except OSError as err:
            bad += 1
            console().print(f"[red]error[/] {path}: {err.strerror}", highlight=False)
        except ShipyardError as err:
            bad += 1
            # The message is printed as it is: a definition's text may hold [brackets].
            console().print(Text.assemble(("error", "red"), " ", err.message), highlight=False)
    raise typer.Exit(1 if bad else 0)


@agents_app.command("ls")
def agents_ls() -> None:
    """List agent adapters and their state here: ready, no credentials, not installed or unavailable."""
    from rich.markup import escape
    from rich.table import Table

    from shipyard.agents.registry import describe_agents

    table = Table("agent", "state", "version", "note", "description", box=None)
    for name, description, avail in describe_agents(settings()):
        color = _STATE_COLORS.get(avail.state, "red")
        table.add_row(
            name, f"[{color}]{avail.state}[/]", avail.version or "", escape(avail.reason), description
        )
    console().print(table)


_STATE_COLORS = {"ready": "green", "no credentials": "yellow"}


@agents_app.command("install")
def agents_install(
    name: Annotated[
        str,
        typer.Argument(metavar="NAME", help="claude, codex, opencode, kilocode, gemini or aider."),
    ],
    version: Annotated[
        str | None, typer.Option("--version", help="The package's version (default: the latest).")
    ] = None,
) -> None:
    """Install an agent's CLI from npm or PyPI into the data dir (again: upgrade or reinstall it).

    npm packages go to DATA_DIR/agents/npm (Node.js and npm must be here); a PyPI one to its own venv.

    An adapter runs the copy installed here before one on PATH, unless its setting names a binary.
    """
    from rich.markup import escape

    from shipyard.agents._util import binary_version
    from shipyard.agents.install import install, installable
    from shipyard.domain.errors import InvalidInput, ShipyardError

    out = console()
    try:
        cli = installable(name)
        out.print(f"installing {cli.package} from {cli.registry} (it can take a minute)", highlight=False)
        binary = install(cli, settings().data_dir, version, on_line=lambda line: _progress(escape(line)))
    except ShipyardError as err:
        fail(CliError(err.message, exit_code=2 if isinstance(err, InvalidInput) else 1))
    except KeyboardInterrupt:  # npm or pip got the signal too, and has stopped
        raise typer.Exit(130) from None
    found = binary_version(binary)
    out.print(f"installed {name} {found or '(its --version failed)'}: {binary}", highlight=False)


def _progress(line: str) -> None:
    console().print(f"  [dim]{line}[/]", highlight=False, soft_wrap=True)


def gc(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would go; remove nothing.")] = False,
) -> None:
    """Remove the sandboxes of ended work orders (and of ones whose workflow is gone) from this data dir."""
    from shipyard.cli.client import local_temporal_address
    from shipyard.engine.gc import collect
    from shipyard.engine.worker import connect
    from shipyard.store.store import Store

    s = settings()

    async def main() -> Collected:
        store = await Store.open(s.resolved_database_url)
        try:
            address = s.temporal_address or local_temporal_address(s)
            client = await connect(address, s.temporal_namespace) if address else None
            return await collect(s, store, client, dry_run=dry_run)
        finally:
            await store.close()

    done = run_async(main)
    verb = "would remove" if dry_run else "removed"
    listed = f": {' '.join(done.removed)}" if done.removed else ""
    console().print(f"{verb} {len(done.removed)} sandbox(es){listed}", highlight=False)
    for kind, names in (("container(s)", done.containers), ("E2B sandbox(es)", done.e2b)):
        if names:
            console().print(f"{verb} {len(names)} {kind}: {' '.join(names)}", highlight=False)
    for work_order_id in done.marked_failed:
        console().print(f"  {work_order_id}: its workflow is gone; marked failed", highlight=False)
    for work_order_id, why in done.kept:
        console().print(f"kept {work_order_id}: {why}", highlight=False)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (Shipyard also does this on start)."""
    from shipyard.store.migrate import upgrade

    s = settings()
    s.data_dir.mkdir(parents=True, exist_ok=True)
    run_async(lambda: upgrade(s.resolved_database_url))
    console().print("database is at the latest revision")


def doctor() -> None:
    """Check this machine: git, Temporal, the database, the data dir and the agents."""
    from shipyard.agents.registry import describe_agents
    from shipyard.engine.devserver import temporal_binary
    from shipyard.sandboxes.registry import describe_sandboxes
    from shipyard.store.migrate import current_revision

    s = settings()
    problems = 0

    def check(name: str, ok: bool, detail: str, *, required: bool = True) -> None:
        nonlocal problems
        problems += 0 if ok or not required else 1
        mark = "[green]✓[/]" if ok else ("[red]✗[/]" if required else "[yellow]-[/]")
        console().print(f"  {mark} {name:<20} {detail}", highlight=False, soft_wrap=True)

    git = shutil.which("git")
    check("git", git is not None, _version([git, "--version"]) if git else "not found on PATH")
    try:
        binary = temporal_binary()
        check("temporal", True, _version([binary, "--version"]))
    except RuntimeError as err:
        check("temporal", False, str(err))
    s.data_dir.mkdir(parents=True, exist_ok=True)
    check("data dir", s.data_dir.is_dir(), str(s.data_dir))
    try:
        revision = run_async(lambda: current_revision(s.resolved_database_url))
        check("database", True, f"revision {revision or 'none (run shipyard db upgrade)'}")
    except Exception as err:  # doctor reports every failure instead of stopping
        check("database", False, f"{type(err).__name__}: {err}")
    for name, _, avail in describe_sandboxes(s):
        detail = " ".join(x for x in (avail.version or "", avail.reason) if x)
        check(f"sandbox {name}", avail.available, detail, required=False)  # git_worktree is enough
    agents = describe_agents(s)
    for name, _, avail in agents:
        detail = ", ".join(x for x in (avail.state, avail.version or "", avail.reason, avail.binary) if x)
        check(f"agent {name}", avail.state == "ready", detail, required=False)  # agents are optional
    ok, detail = _fix_runner(s, {name: avail.state for name, _, avail in agents})
    check("fix runner", ok, detail, required=False)
    raise typer.Exit(0 if problems == 0 else 1)


def _fix_runner(s: Settings, agent_states: dict[str, str]) -> tuple[bool, str]:
    """The runner fix jobs get by default (seed 004), and whether its agent is ready here."""
    from shipyard.domain.errors import InvalidInput
    from shipyard.plans.runners import runner_for

    try:
        runner = runner_for(s)
    except InvalidInput as err:
        return False, f"SHIPYARD_CODING_AGENT_RUNNER: {err.message}"
    if runner.remote:
        return True, f"{runner.name}: {runner.describe()}"
    state = agent_states.get(runner.agent, "unknown agent")
    return state == "ready", f"{runner.name}: {runner.describe()} ({runner.agent}: {state})"


def _version(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "version unknown"
