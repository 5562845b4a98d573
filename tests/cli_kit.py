"""`shipyard` commands run in this process with Typer's runner, answering like a real process."""

from __future__ import annotations

import subprocess
from pathlib import Path

import structlog
from typer.testing import CliRunner

from shipyard.cli.main import app


def shipyard(data_dir: Path, *args: str, **env: str | None) -> subprocess.CompletedProcess[str]:
    """Run `shipyard ARGS` on `data_dir` in-process; its exit code, stdout and stderr.

    An exception the CLI does not handle fails the test (a real process would print a traceback).
    `env` adds variables (None removes one) for the command's duration.
    """
    saved = structlog.get_config()  # commands configure logging to the runner's (soon closed) stderr
    try:
        result = CliRunner().invoke(
            app,
            list(args),
            env={"SHIPYARD_DATA_DIR": str(data_dir), "COLUMNS": "200", "SHIPYARD_SERVER": None, **env},
            catch_exceptions=False,
        )
    finally:
        structlog.configure(**saved)
    return subprocess.CompletedProcess(["shipyard", *args], result.exit_code, result.stdout, result.stderr)
