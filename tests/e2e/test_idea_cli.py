"""`shipyard ideas`: submit an idea to a server, read the run, cancel it; errors in one line."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Awaitable
from pathlib import Path

import httpx
import pytest
from test_idea_control import settings, started, until  # noqa: F401 (settings: a replay agent whose spec naps)
from test_idea_runs import wait_run

from cli_kit import shipyard
from shipyard.cli.server import RunningServer
from support import MakeRepo


@pytest.fixture
def spec_seconds() -> float:
    return 60.0  # the run stays in its spec while the commands look at it


async def test_submit_show_and_cancel_a_run_from_the_cli(
    server: RunningServer, api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = make_repo("greet", {"README.md": "# greet\n"})
    data = tmp_path / "cli"

    def cli(*args: str) -> Awaitable[subprocess.CompletedProcess[str]]:
        return asyncio.to_thread(shipyard, data, "ideas", *args, "--server", server.url)

    checks = ("--required-check", "ci", "--required-check", "lint")
    submitted = await cli(
        "submit", "Greeting helpers", str(repo), "--size", "small", "--test-command", "pytest -q", *checks,
        "--qa-rounds", "1", "--detach",
    )  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    run_id = submitted.stdout.split("run ")[1].split()[0]
    options = (await api.get(f"/api/runs/{run_id}")).json()["options"]
    assert (options["test_command"], options["required_checks"], options["qa_rounds"]) == (
        "pytest -q",
        ["ci", "lint"],
        1,
    )
    refused = await cli("submit", "Too much QA", str(repo), "--qa-rounds", "9", "--detach")
    assert refused.returncode != 0 and "qaRounds" in refused.stderr and "Traceback" not in refused.stderr
    await until(api, run_id, lambda run: started(run, "spec"))  # the epic exists by then
    shown = await cli("show", run_id)
    assert shown.returncode == 0 and run_id in shown.stdout and str(repo) in shown.stdout
    assert "epic #" in shown.stdout and "idea submitted" in shown.stdout
    cancelled = await cli("cancel", run_id, "--reason", "not now")
    assert cancelled.returncode == 0 and "cancel sent" in cancelled.stdout
    assert (await wait_run(api, run_id))["state"] == "CANCELLED"
    missing = await cli("show", "run-00000000")
    assert missing.returncode != 0 and "run 'run-00000000' not found" in missing.stderr
