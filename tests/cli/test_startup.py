"""What the CLI imports to start: `shipyard --help` and `shipyard report` load no SDK (issue 13)."""

from __future__ import annotations

import os
import subprocess
import sys

from shipyard.engine.devserver import free_port

# Loaded by the commands that use them (serve, run, worker, gc, doctor …), never to start.
SDKS = {"docker", "e2b", "dagger", "githubkit", "alembic", "uvicorn", "fastapi", "starlette", "temporalio"}
SERVER_SIDE = {"sqlalchemy", "jinja2", "structlog", "pydantic_settings"}


Ran = subprocess.CompletedProcess[str]


def imported(*argv: str, env: dict[str, str] | None = None) -> tuple[Ran, set[str]]:
    """`python -X importtime -m shipyard.cli.main ARGV`: how it ended, and the packages it imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "shipyard.cli.main", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )
    names = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    return done, names


def test_help_loads_no_sdk_and_no_http_client() -> None:
    done, names = imported("--help")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Commands" in done.stdout and "report" in done.stdout
    assert "shipyard" in names  # the listing is real: our own package is in it
    assert names & (SDKS | SERVER_SIDE | {"httpx"}) == set()


def test_a_command_s_help_loads_no_sdk() -> None:
    done, names = imported("run", "--help")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "--workflow" in done.stdout
    assert names & (SDKS | SERVER_SIDE | {"httpx"}) == set()


def test_report_help_loads_no_sdk() -> None:
    done, names = imported("report", "event", "--help")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "TYPE" in done.stdout
    assert names & (SDKS | SERVER_SIDE | {"httpx"}) == set()


def test_a_report_loads_no_http_library_and_no_sdk() -> None:
    env = {
        "SHIPYARD_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens there: it fails at once
        "SHIPYARD_WORK_ORDER_ID": "wo-abcd1234",
        "SHIPYARD_TOKEN": "t",
    }
    done, names = imported("report", "event", "tests", "passed=41", env=env)
    assert done.returncode == 1
    assert "cannot reach Shipyard" in done.stderr
    assert names & (SDKS | SERVER_SIDE | {"httpx"}) == set()


def test_listing_sandbox_names_loads_no_sandbox_sdk() -> None:
    script = (
        "import sys; from shipyard.sandboxes.registry import SANDBOX_NAMES; "
        "print(len(SANDBOX_NAMES), sorted(m for m in ('docker', 'e2b', 'dagger') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["6", "[]"]
