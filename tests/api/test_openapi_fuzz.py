"""Schemathesis over the whole OpenAPI of a real `shipyard serve`: whatever a client sends, no
answer is a 5xx and every answer matches the schema the API declares for it.

Creates that pass validation really run (on a local repository, under bwrap so that a generated
command reaches nothing), so the routes are probed with work orders in the store too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from shipyard.engine.devserver import DevServer, free_port
from support import git

SHIPYARD = str(Path(sys.executable).parent / "shipyard")
EXAMPLES = 12  # per operation: the whole API in well under a minute
ONE_STEP = "name: fuzz\nsteps:\n  - id: touch\n    run: touch fuzzed.txt\n"


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz-repo")
    git(path, "init", "-q", "-b", "main")
    (path / "README.md").write_text("# fuzzed\n")
    git(path, "add", "-A")
    git(path, "-c", "user.name=Test", "-c", "user.email=t@example.com", "commit", "-q", "-m", "initial")
    return path


@pytest.fixture(scope="module")
def shipyard_url(tmp_path_factory: pytest.TempPathFactory, temporal: DevServer) -> Iterator[str]:
    """A real `shipyard serve` (API, dashboard and worker) on the session's Temporal."""
    data, port = tmp_path_factory.mktemp("fuzz-data"), free_port()
    env = {
        **os.environ,
        "SHIPYARD_DATA_DIR": str(data),
        "SHIPYARD_PORT": str(port),
        "SHIPYARD_TEMPORAL_ADDRESS": temporal.address,
        "SHIPYARD_TASK_QUEUE": f"fuzz-{port}",
        "SHIPYARD_AGENT": "shell",
        "SHIPYARD_SANDBOX": "bwrap",
        "SHIPYARD_LOG_LEVEL": "error",
    }
    with (data / "serve.log").open("ab") as log:
        serve = subprocess.Popen([SHIPYARD, "serve"], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, serve)
        yield url
    finally:
        serve.terminate()
        serve.wait(timeout=30)


def _wait_healthy(url: str, serve: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert serve.poll() is None, "shipyard serve exited while starting"
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("shipyard serve did not start")


def test_no_answer_is_a_server_error_or_breaks_its_schema(shipyard_url: str, repository: Path) -> None:
    schema = schemathesis.openapi.from_url(f"{shipyard_url}/openapi.json")
    for found in schema.get_all_operations():
        operation = found.ok()
        if operation.path.endswith(("/events", "/stream")):
            continue  # an event stream ends only with its work order or run

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def probe(case: Any) -> None:
            aimed(case, repository)
            case.call_and_validate(
                base_url=shipyard_url, checks=[not_a_server_error, response_schema_conformance], timeout=30
            )

        probe()


def aimed(case: Any, repository: Path) -> None:
    """A create runs under bwrap (a generated command reaches nothing); half of them are made
    valid (a real repository, a one-step workflow) so that work orders run meanwhile."""
    if case.method == "POST" and case.path == "/api/agent-work-orders" and isinstance(case.body, dict):
        case.body["sandbox_type"] = "bwrap"
        if len(str(case.body)) % 2:
            case.body.update(repository_url=str(repository), workflow_definition=ONE_STEP, inputs={})
            for key in ("workflow_type", "agent", "project", "forge", "github_issue_number", "base_branch"):
                case.body.pop(key, None)
