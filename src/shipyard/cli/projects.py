"""`shipyard projects`: list, show, create and delete projects through the API."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from shipyard.cli.common import CliError, ServerOpt, api_for, console, fail, run_async

projects_app = typer.Typer(
    help="Projects: repositories with defaults and sources (the events that start work orders).",
    no_args_is_help=True,
)


@projects_app.command("ls")
def projects_ls(server: ServerOpt = None) -> None:
    """List projects by name."""
    from rich.table import Table

    async def main() -> list[dict[str, Any]]:
        async with await api_for(server) as api:
            answer: list[dict[str, Any]] = (await api.get("/api/projects"))["projects"]
            return answer

    table = Table("name", "id", "forge", "github", "sources", "repository", box=None)
    for p in run_async(main):
        row = (p["name"], p["id"], p["forge"], p["github_repository"] or "", str(len(p["sources"])))
        table.add_row(*row, p["repository_url"])
    console().print(table)


@projects_app.command("show")
def projects_show(
    name: Annotated[str, typer.Argument(help="The project's name or id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON.")] = False,
    server: ServerOpt = None,
) -> None:
    """Show one project: repository, defaults and sources."""

    async def main() -> dict[str, Any]:
        async with await api_for(server) as api:
            answer: dict[str, Any] = (await api.get(f"/api/projects/{name}"))["project"]
            return answer

    project = run_async(main)
    if as_json:
        sys.stdout.write(json.dumps(project, indent=2) + "\n")
        return
    console().print(f"[bold]{project['name']}[/]  {project['id']}  {project['forge']}", highlight=False)
    for key in ("repository_url", "github_repository", "agent", "sandbox_type", "budget"):
        console().print(f"  {key:<18} {project[key] if project[key] is not None else '-'}", highlight=False)
    console().print(f"  sources            {len(project['sources']) or 'none'}")
    for source in project["sources"]:
        console().print(f"    {describe_source(source)}", highlight=False, markup=False)


@projects_app.command("create")
def projects_create(
    name: Annotated[str, typer.Argument(help="A slug: a-z, 0-9, '.', '_', '-'.")],
    repository: Annotated[str, typer.Argument(help="A GitHub URL or the path of a local git repository.")],
    source_file: Annotated[
        Path | None, typer.Option(help="YAML or JSON: a list of sources, or a mapping with `sources:`.")
    ] = None,
    agent: Annotated[str | None, typer.Option(help="Default agent (see `shipyard agents ls`).")] = None,
    sandbox: Annotated[
        str | None,
        typer.Option(help="Default sandbox: git_worktree, git_branch, bwrap, docker, e2b, dagger."),
    ] = None,
    github_repository: Annotated[
        str | None, typer.Option(help="owner/name, when REPOSITORY is a local clone of a GitHub repository.")
    ] = None,
    limit: Annotated[
        list[str] | None,
        typer.Option(
            help="AGENT=COUNT: at most COUNT prompt steps of AGENT at once in this project (repeatable)."
        ),
    ] = None,
    server: ServerOpt = None,
) -> None:
    """Create a project; its GitHub repository and forge follow from REPOSITORY unless given."""
    body: dict[str, Any] = {"name": name, "repository_url": _repository(repository)}
    body |= {"agent": agent, "sandbox_type": sandbox, "github_repository": github_repository}
    try:
        body["limits"] = _limits(limit)
        body["sources"] = load_sources(source_file) if source_file is not None else None
    except CliError as err:
        fail(err)
    body = {key: value for key, value in body.items() if value is not None}

    async def main() -> dict[str, Any]:
        async with await api_for(server) as api:
            answer: dict[str, Any] = (await api.post("/api/projects", body))["project"]
            return answer

    project = run_async(main)
    where = project["github_repository"] or project["repository_url"]
    console().print(
        f"created [bold]{project['name']}[/] ({project['id']}): {project['forge']} {where},"
        f" {len(project['sources'])} source(s)",
        highlight=False,
    )


@projects_app.command("update")
def projects_update(
    name: Annotated[str, typer.Argument(help="The project's name or id.")],
    source_file: Annotated[
        Path | None, typer.Option(help="Replace the sources with this file's (YAML or JSON, as for create).")
    ] = None,
    agent: Annotated[str | None, typer.Option(help="Default agent.")] = None,
    sandbox: Annotated[str | None, typer.Option(help="Default sandbox.")] = None,
    limit: Annotated[
        list[str] | None,
        typer.Option(help="AGENT=COUNT, as for create (repeatable); replaces the project's limits."),
    ] = None,
    server: ServerOpt = None,
) -> None:
    """Change a project's sources (their schedules follow), defaults or limits; what is not given stays."""
    body: dict[str, Any] = {"agent": agent, "sandbox_type": sandbox}
    try:
        body["limits"] = _limits(limit)
        body["sources"] = load_sources(source_file) if source_file is not None else None
    except CliError as err:
        fail(err)
    body = {key: value for key, value in body.items() if value is not None}
    if not body:
        fail(CliError("nothing to change: give --source-file, --agent, --sandbox or --limit", exit_code=2))

    async def main() -> dict[str, Any]:
        async with await api_for(server) as api:
            answer: dict[str, Any] = (await api.patch(f"/api/projects/{name}", body))["project"]
            return answer

    project = run_async(main)
    count = len(project["sources"])
    console().print(f"updated [bold]{project['name']}[/]: {count} source(s)", highlight=False)


def _limits(given: list[str] | None) -> dict[str, str] | None:
    """`claude=2` options as a mapping (the API checks the counts); CliError for another form."""
    if not given:
        return None
    limits = {}
    for text in given:
        agent, sep, count = text.partition("=")
        if not sep or not agent.strip() or not count.strip():
            raise CliError(f"--limit {text!r}: expected AGENT=COUNT, e.g. claude=2", exit_code=2)
        limits[agent.strip()] = count.strip()
    return limits


@projects_app.command("delete")
def projects_delete(
    name: Annotated[str, typer.Argument(help="The project's name or id.")],
    server: ServerOpt = None,
) -> None:
    """Delete a project and its schedules; its work orders stay."""

    async def main() -> None:
        async with await api_for(server) as api:
            await api.delete(f"/api/projects/{name}")

    run_async(main)
    console().print(f"deleted {name}", highlight=False)


def _repository(repository: str) -> str:
    """A local path made absolute (the server may run elsewhere); anything else as given."""
    from shipyard.domain.errors import InvalidInput
    from shipyard.domain.projects import is_local_path
    from shipyard.gitutil import local_path

    try:
        path = local_path(repository)
    except InvalidInput:
        return repository  # the server says what is wrong with it
    if is_local_path(repository) and not repository.startswith("file:") and path.exists():
        return str(path.resolve())
    return repository


def load_sources(path: Path) -> list[dict[str, Any]]:
    """The sources in a YAML or JSON file, checked here so errors name the file; exit 2 if bad."""
    from shipyard.domain.errors import InvalidInput
    from shipyard.domain.projects import parse_sources

    try:
        sources = parse_sources(path.read_text())
    except OSError as err:
        raise CliError(f"cannot read {path}: {err.strerror}", exit_code=2) from None
    except InvalidInput as err:
        raise CliError(f"{path}: {err.message}", exit_code=2) from None
    return [source.model_dump(mode="json", exclude_defaults=True) for source in sources]


_SCHEDULE_KEYS = ("cron", "timezone", "overlap")


def describe_source(source: dict[str, Any]) -> str:
    """One line: `on issues actions=labeled labels=shipyard -> plan_build_test`."""
    parts = [f"on {source['on']}"]
    for key in ("repository", "branches", "actions", "labels", "command", "types", "paths", *_SCHEDULE_KEYS):
        value = source.get(key)
        if value:
            parts.append(f"{key}={','.join(value) if isinstance(value, list) else value}")
    return " ".join(parts) + f" -> {source['workflow']}"


secrets_app = typer.Typer(help="A project's secrets: stored encrypted, given to the steps that name them.")
projects_app.add_typer(secrets_app, name="secrets")


@secrets_app.command("ls")
def secrets_ls(
    project: Annotated[str, typer.Argument(help="The project's name or id.")], server: ServerOpt = None
) -> None:
    """The names of the project's secrets (their values are never shown)."""

    async def main() -> list[str]:
        async with await api_for(server) as api:
            names: list[str] = (await api.get(f"/api/projects/{project}/secrets"))["secrets"]
            return names

    names = run_async(main)
    console().print("\n".join(names) if names else "no secrets", highlight=False)


@secrets_app.command("set")
def secrets_set(
    project: Annotated[str, typer.Argument(help="The project's name or id.")],
    name: Annotated[str, typer.Argument(help="An environment variable name, e.g. NPM_TOKEN.")],
    server: ServerOpt = None,
) -> None:
    """Set a secret; its value is read from standard input (or asked for, hidden, on a terminal)."""
    value = typer.prompt(f"{name}", hide_input=True) if sys.stdin.isatty() else sys.stdin.read().rstrip("\n")

    async def main() -> None:
        async with await api_for(server) as api:
            await api.request("PUT", f"/api/projects/{project}/secrets/{name}", json={"value": value})

    run_async(main)
    console().print(f"secret {name} set on {project}", highlight=False)


@secrets_app.command("delete")
def secrets_delete(
    project: Annotated[str, typer.Argument(help="The project's name or id.")],
    name: Annotated[str, typer.Argument(help="The secret's name.")],
    server: ServerOpt = None,
) -> None:
    """Forget a secret."""

    async def main() -> None:
        async with await api_for(server) as api:
            await api.delete(f"/api/projects/{project}/secrets/{name}")

    run_async(main)
    console().print(f"secret {name} deleted from {project}", highlight=False)
