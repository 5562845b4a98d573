"""Sandboxes through the real engine: a workflow that writes, commits and tests completes alike
under git_worktree, bwrap, docker (against podman's Docker Engine API), e2b (against the fake
E2B SDK) and dagger (against the fake Dagger SDK); an e2b work order keeps its sandbox's id and
cancelling it kills the sandbox; under bwrap, each way out of the sandbox fails."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from pydantic import SecretStr

import shipyard.sandboxes.dagger as dagger_sandbox
import shipyard.sandboxes.e2b as e2b_sandbox
from fakes.dagger_sdk import FakeDagger
from fakes.e2b_sdk import FakeE2B
from podman_kit import Podman
from shipyard.cli.server import RunningServer
from shipyard.config import Settings
from shipyard.sandboxes.docker import CONTAINER_LABEL
from support import MakeRepo, MakeSettings, git, wait_done

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


E2B_KEY = "e2b_e2e_f4ke_key_0123"


@pytest.fixture
def settings(make_settings: MakeSettings, podman: Podman) -> Settings:
    return make_settings(docker_host=podman.url, docker_image=podman.image, e2b_api_key=SecretStr(E2B_KEY))


@pytest.fixture
def e2b(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeE2B:
    fake = FakeE2B(tmp_path / "e2b", api_key=E2B_KEY)
    monkeypatch.setattr(e2b_sandbox, "AsyncSandbox", fake.sdk)
    return fake


@pytest.fixture
def dagger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeDagger:
    fake = FakeDagger(tmp_path / "dagger")
    monkeypatch.setattr(dagger_sandbox, "Connection", fake.sdk)
    monkeypatch.setenv("DAGGER_SESSION_PORT", "8080")  # as inside `dagger run`
    monkeypatch.setenv("DAGGER_SESSION_TOKEN", "session-token")
    return fake


async def test_the_same_work_completes_alike_under_each_sandbox(
    api: httpx.AsyncClient, make_repo: MakeRepo, podman: Podman, e2b: FakeE2B, dagger: FakeDagger
) -> None:
    results: dict[str, tuple[int, list[str], str]] = {}
    ids: dict[str, str] = {}
    for sandbox in ("git_worktree", "bwrap", "docker", "e2b", "dagger"):
        ids[sandbox], results[sandbox] = await _outcome(api, make_repo, sandbox)
    mine = {"label": f"{CONTAINER_LABEL}={ids['docker']}"}
    assert podman.client.containers.list(all=True, filters=mine) == []  # removed at the end
    assert e2b.vms and e2b.alive == []  # killed at the end
    assert dagger.runs  # its commands ran in the (fake) engine
    assert (
        results["bwrap"]
        == results["git_worktree"]
        == results["docker"]
        == results["e2b"]
        == results["dagger"]
    )
    commits, files, subjects = results["bwrap"]
    assert commits == 2 and "src/calc.py" in files  # feat and docs; not what the test left
    assert not any("__pycache__" in name for name in files)
    assert subjects.splitlines() == ["docs: notes", "feat: add"]


async def test_an_e2b_work_order_keeps_its_sandbox_id_and_cancelling_kills_it(
    api: httpx.AsyncClient, make_repo: MakeRepo, e2b: FakeE2B
) -> None:
    steps = [{"id": "leak", "run": f"echo key={E2B_KEY}"}, {"id": "nap", "run": "echo napping; sleep 600"}]
    definition = yaml.safe_dump({"name": "nap", "steps": steps})
    body = {"repository_url": str(make_repo()), "workflow_definition": definition, "sandbox_type": "e2b"}
    created = await api.post("/api/agent-work-orders", json=body)
    wid = created.json()["agent_work_order"]["agent_work_order_id"]
    async with asyncio.timeout(60):
        while not (e2b.alive and any("sleep 600" in c["cmd"] for c in e2b.vms[e2b.alive[0]].commands)):
            await asyncio.sleep(0.1)
    shown = (await api.get(f"/api/agent-work-orders/{wid}")).json()["agent_work_order"]
    assert shown["sandbox_type"] == "e2b" and shown["sandbox_identifier"] == e2b.alive[0]
    resp = await api.post(f"/api/agent-work-orders/{wid}/interrupt", json={"action": "cancel", "reason": "t"})
    assert resp.status_code == 200, resp.text
    assert (await wait_done(api, wid, timeout_s=60))["status"] == "cancelled"
    assert e2b.alive == [] and all(not vm.processes for vm in e2b.vms.values())
    logs = (await api.get(f"/api/agent-work-orders/{wid}/logs")).text
    assert "key=***" in logs and E2B_KEY not in logs  # the E2B key is redacted like every key we hold


async def _outcome(
    api: httpx.AsyncClient, make_repo: MakeRepo, sandbox: str
) -> tuple[str, tuple[int, list[str], str]]:
    """The work order's id, and what it left on its branch: commits, files, subjects."""
    repo = make_repo(f"repo-{sandbox}")
    wo = await run(api, repo, sandbox, WORK)
    assert wo["status"] == "completed", wo["error_message"]
    branch = wo["git_branch_name"]
    files = git(repo, "ls-tree", "-r", "--name-only", branch).split()
    subjects = git(repo, "log", "--format=%s", f"main..{branch}").replace(wo["agent_work_order_id"], "ID")
    return wo["agent_work_order_id"], (wo["git_commit_count"], files, subjects)


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
