"""`shipyard actions`: the GitHub Actions workflows through which a run's work is done in a
repository's own Actions (seed 002 §9)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shipyard.cli.common import CliError, console, run_async

actions_app = typer.Typer(
    help="GitHub Actions: the workflows that do a run's work in a repository's own Actions.",
    no_args_is_help=True,
)


@actions_app.command("init")
def init(
    path: Annotated[
        Path, typer.Argument(help="A git repository's working tree (default: this directory).")
    ] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite workflow files already there.")] = False,
) -> None:
    """Write Shipyard's GitHub Actions workflows into .github/workflows/.

    orchestrator.yml takes Shipyard's repository_dispatch events and runs the
    reusable workflow each asks for:
      ai.spec.request        _reusable.ai.spec.yml        the spec
      ai.plan.request        _reusable.ai.plan.yml        the issue tree
      agent.execute.request  _reusable.agent.execute.yml  one issue's code
      qa.run.request         _reusable.qa.run.yml         the tests
      merge.gate.request     _reusable.merge.gate.yml     the merge
      release.notes.request  _reusable.release.notes.yml  the release
    (orchestrator.start, .pause and .cancel it answers itself; .cancel stops
    the run's workflow runs). Each checks out the dispatch's branch, runs a
    step that is yours to fill in (Shipyard cannot know your build; until
    then it fails, saying so), and reports to Shipyard when it starts and
    when it ends.

    The repository needs two settings (Settings, Secrets and variables,
    Actions): the variable SHIPYARD_URL, where Shipyard answers (reachable
    from GitHub's runners), and the secret SHIPYARD_TOKEN, Shipyard's API
    token (SHIPYARD_API_TOKEN). Files already there are kept unless --force.
    """
    from shipyard.domain.errors import Conflict, ShipyardError
    from shipyard.ideas.actions import install_workflows

    async def main() -> list[Path]:
        try:
            return await install_workflows(path, force=force)
        except Conflict as err:
            raise CliError(f"{err.message}; --force overwrites them") from None
        except ShipyardError as err:
            raise CliError(err.message, exit_code=2) from None

    written = run_async(main)
    for file in written:
        console().print(f"wrote {file}", highlight=False, markup=False)
    console().print(
        "next: commit them, then give the repository Shipyard's URL and API token:\n"
        "  gh variable set SHIPYARD_URL --body https://shipyard.example.com\n"
        "  gh secret set SHIPYARD_TOKEN",
        highlight=False,
        markup=False,
    )
