"""`shipyard clusters` and `shipyard jobs` against a server: a cluster made from a file, its plan
made and edited, the fix followed to its pull request, the job read; errors in one line."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Awaitable
from pathlib import Path

import httpx
import yaml
from test_fix_jobs import github_fixture, settings  # noqa: F401 (the fake GitHub, a replay runner)

from cli_kit import shipyard
from fix_kit import EDITED, cluster_body
from forge_kit import GitHub
from shipyard.cli.server import RunningServer


async def test_a_cluster_planned_edited_and_fixed_from_the_cli(
    server: RunningServer,
    api: httpx.AsyncClient,
    github: GitHub,
    tmp_path: Path,
) -> None:
    data = tmp_path / "cli"

    def cli(*args: str) -> Awaitable[subprocess.CompletedProcess[str]]:
        return asyncio.to_thread(shipyard, data, *args, "--server", server.url)

    project = {"name": "widgets", "repository_url": github.url, "forge": "github"}
    assert (await api.post("/api/projects", json=project)).status_code == 201
    (tmp_path / "cluster.yaml").write_text(yaml.safe_dump(cluster_body(github, project="widgets")))
    made = await cli("clusters", "create", str(tmp_path / "cluster.yaml"))
    assert made.returncode == 0, made.stderr
    cluster_id = made.stdout.split()[0]
    assert cluster_id.startswith("cl-") and "new" in made.stdout

    planned = await cli("clusters", "plan", cluster_id)
    assert planned.returncode == 0, planned.stderr
    assert "plan v1 (generated)" in planned.stdout and "The greeting is rude." in planned.stdout
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(EDITED))
    edited = await cli("clusters", "plan", cluster_id, "--edit", str(tmp_path / "plan.yaml"))
    assert edited.returncode == 0 and "plan v2 (edited)" in edited.stdout, edited.stderr

    fixed = await cli("clusters", "fix", cluster_id)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    job_id = fixed.stdout.split("job ")[1].split()[0]
    assert "The greeting says hello now." in fixed.stdout  # the agent's words, from the job's log
    assert f"{job_id} succeeded" in fixed.stdout and "pull request https://github.com/" in fixed.stdout

    listed = await cli("clusters", "ls")
    assert cluster_id in listed.stdout and "pr_opened" in listed.stdout and "plan v2" in listed.stdout
    shown = await cli("jobs", "show", job_id)
    assert shown.returncode == 0 and "succeeded" in shown.stdout and "plan v2" in shown.stdout
    again = await cli("jobs", "cancel", job_id)
    assert again.returncode != 0 and "nothing to cancel" in again.stderr
    missing = await cli("clusters", "show", "cl-00000000")
    assert missing.returncode != 0 and "cluster 'cl-00000000' not found" in missing.stderr
