"""Sandboxes through the real engine: a workflow that writes, commits and tests completes alike
under git_worktree, bwrap and docker (against the fake Docker engine); under bwrap, each way out
of the sandbox fails."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from fakes.docker_engine import fake_docker
from shipyard.cli.server import RunningServer
from shipyard.config import Settings
from support import MakeRepo, git, wait_done

CHECK = "import sys; sys.path.insert(0, 'src'); import calc; assert calc.add(2, 3) == 5"
WORK = [
    {"id": "write", "run": "mkdir -p src && printf 'def add(a, b):\\n    return a + b\\n' > src/calc.py",
     "commit": "feat: add", "phase": "implementing"},
    {"id": "test", "run": f"python3 -c \"{CHECK}\"", "phase": "testing"},
    {"id": "inside", "run": "echo notes > NOTES.md && git add NOTES.md && "
     "git -c user.name=A -c user.email=a@b.c commit -q -m 'docs: notes'"},
]  # fmt: skip


async def run(
    api: httpx.AsyncClient, repo: Path, sandbox: str, steps: list[dict[str, Any]]
) -> dict[str, Any]:
    definition = yaml.safe_dump({"name": "work", "steps": steps})
    body = {"repository_url": str(repo), "workflow_definition": definition, "sandbox_type": sandbox}
    resp = await api.post("/api/agent-work-orders", json=body)
    assert resp.status_code == 201, resp.text
    return await wait_done(api, resp.json()["agent_work_order"]["agent_work_order_id"])


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    docker_host = f"unix://{tmp_path / 'docker.sock'}"  # where the test's fake engine listens
    return Settings(data_dir=tmp_path / "data", heartbeat_timeout_s=5, agent="shell", docker_host=docker_host)


async def test_the_same_work_completes_alike_under_each_sandbox(
    api: httpx.AsyncClient, make_repo: MakeRepo, settings: Settings, tmp_path: Path
) -> None:
    results: dict[str, tuple[int, list[str], str]] = {}
    async with fake_docker(tmp_path, images={settings.docker_image}) as engine:
        for sandbox in ("git_worktree", "bwrap", "docker"):
            results[sandbox] = await _outcome(api, make_repo, sandbox)
        assert engine.containers == {}  # removed at the end
    assert results["bwrap"] == results["git_worktree"] == results["docker"]
    commits, files, subjects = results["bwrap"]
    assert commits == 3 and "src/calc.py" in files  # feat, docs, and what the test left (__pycache__)
    assert subjects.split("\n")[0] == "chore: uncommitted changes of ID"


async def _outcome(api: httpx.AsyncClient, make_repo: MakeRepo, sandbox: str) -> tuple[int, list[str], str]:
    repo = make_repo(f"repo-{sandbox}")
    wo = await run(api, repo, sandbox, WORK)
    assert wo["status"] == "completed", wo["error_message"]
    branch = wo["git_branch_name"]
    files = git(repo, "ls-tree", "-r", "--name-only", branch).split()
    subjects = git(repo, "log", "--format=%s", f"main..{branch}").replace(wo["agent_work_order_id"], "ID")
    return wo["git_commit_count"], files, subjects


async def test_under_bwrap_each_way_out_fails(
    api: httpx.AsyncClient, server: RunningServer, make_repo: MakeRepo
) -> None:
    repo = make_repo()
    port = urlsplit(server.url).port
    # Not under /tmp: the sandbox's /tmp is its own, where writing works and nothing leaves.
    outside = Path(tempfile.mkdtemp(dir="/var/tmp")) / "outside.txt"
    attempts = {
        "write-outside": f"echo pwned > {outside}",
        "read-ssh": "cat ~/.ssh/id_rsa ~/.ssh/id_ed25519",
        "read-server-env": f"cat /proc/{os.getpid()}/environ",
        "reach-server": f"exec 3<>/dev/tcp/127.0.0.1/{port} && echo reached",
        "signal-server": f"kill -0 {os.getpid()}",
    }
    steps = [{"id": name, "run": command, "continue_on_error": True} for name, command in attempts.items()]
    wo = await run(api, repo, "bwrap", [*steps, {"id": "still-fine", "run": "echo inside > ok.txt"}])
    listed = await api.get(f"/api/agent-work-orders/{wo['agent_work_order_id']}/steps")
    rows = {s["step_id"]: s for s in listed.json()["steps"]}
    failed = {name for name in attempts if rows[name]["status"] == "failed"}
    assert failed == set(attempts), {name: rows[name]["status"] for name in attempts}
    assert rows["still-fine"]["status"] == "completed"
    assert not outside.exists()
    shutil.rmtree(outside.parent)
