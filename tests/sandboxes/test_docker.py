"""The docker sandbox through the Docker SDK, against a fake Docker Engine API on a Unix socket
(tests/fakes/docker_engine.py); and against a real engine when one answers (none does here)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import docker
import pytest

from fakes.docker_engine import FakeDockerEngine, fake_docker
from shipyard.config import Settings
from shipyard.domain.errors import SandboxError
from shipyard.domain.models import SandboxSpec
from shipyard.domain.work_orders import WorkOrderChange, WorkOrderCreate
from shipyard.engine.gc import collect
from shipyard.sandboxes.docker import DockerSandbox
from shipyard.store.store import Store

IMAGE = "python:3.12-bookworm"


def spec(origin: Path, n: int = 1) -> SandboxSpec:
    return SandboxSpec(work_order_id=f"wo-d0cker0{n}", repository_url=str(origin), branch=f"wo/wo-d0cker0{n}")


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[FakeDockerEngine]:
    async with fake_docker(tmp_path) as fake:
        yield fake


@pytest.fixture
def docker_settings(settings: Settings, engine: FakeDockerEngine) -> Settings:
    return settings.model_copy(update={"docker_host": engine.base_url, "sandbox_memory_mb": 512})


async def test_commands_run_in_a_container_on_the_clone_with_output_streamed(
    origin: Path, docker_settings: Settings, engine: FakeDockerEngine
) -> None:
    sandbox = DockerSandbox(docker_settings)
    handle = await sandbox.setup(spec(origin))
    assert handle.sandbox_type == "docker" and Path(handle.path, "README.md").exists()
    lines: list[tuple[str, str]] = []

    async def seen(stream: str, line: str) -> None:
        lines.append((stream, line))

    work = sandbox.workspace(handle, env={"SHIPYARD_WORK_ORDER_ID": handle.work_order_id})
    script = (
        'echo made > made.txt; echo "in $PWD as $SHIPYARD_WORK_ORDER_ID"; echo oops >&2; printf tail; exit 3'
    )
    result = await work.exec(script, on_line=seen)
    assert result.exit_code == 3 and not result.ok
    assert (
        result.stdout == f"in {Path(handle.path)} as {handle.work_order_id}\ntail"
    )  # /workspace is the clone
    assert result.stderr == "oops\n"
    assert ("stdout", "tail") in lines and ("stderr", "oops") in lines
    assert Path(handle.path, "made.txt").read_text() == "made\n"
    fed = await work.exec(["cat"], stdin="from stdin\n")
    assert fed.ok and fed.stdout == "from stdin\n" and not list(Path(handle.path).glob(".shipyard-stdin-*"))

    (created,) = engine.created()
    host = created["HostConfig"]
    assert (
        created["Image"] == IMAGE
        and created["Cmd"] == ["sleep", "infinity"]
        and created["WorkingDir"] == "/workspace"
    )
    assert host["Binds"] == [f"{handle.path}:/workspace:rw"] and host["NetworkMode"] == "none"
    assert (
        host["Memory"] == 512 * 1024 * 1024
        and host["NanoCpus"] == 2_000_000_000
        and host["PidsLimit"] == 1024
    )
    assert any(r.path.endswith("/images/create") for r in engine.received)  # pulled, as it was missing
    await sandbox.cleanup(handle)
    assert engine.containers == {} and not Path(handle.path).exists()
    await sandbox.cleanup(handle)  # twice is fine


async def test_a_step_that_asks_for_the_network_gets_a_container_with_it(
    origin: Path, docker_settings: Settings, engine: FakeDockerEngine
) -> None:
    sandbox = DockerSandbox(docker_settings)
    handle = await sandbox.setup(spec(origin, 2))
    assert (await sandbox.workspace(handle).exec("true")).ok
    assert (await sandbox.workspace(handle, network=True).exec("true")).ok
    assert (await sandbox.workspace(handle).exec("true")).ok  # the first one again, not a third
    names = sorted(c.name for c in engine.containers.values())
    assert names == ["shipyard-wo-d0cker02", "shipyard-wo-d0cker02-net"]
    assert [c["HostConfig"]["NetworkMode"] for c in engine.created()] == ["none", "bridge"]
    await sandbox.cleanup(handle)
    assert engine.containers == {}


async def test_a_command_over_its_time_is_stopped(
    origin: Path, docker_settings: Settings, tmp_path: Path
) -> None:
    sandbox = DockerSandbox(docker_settings)
    handle = await sandbox.setup(spec(origin, 3))
    marker = f"sleep 30.{tmp_path.stat().st_ino % 1000}"
    result = await sandbox.workspace(handle).exec(marker, timeout_s=1)
    assert result.timed_out and not result.ok
    await asyncio.sleep(0.2)
    assert subprocess.run(["pgrep", "-f", marker], capture_output=True, check=False).returncode == 1
    await sandbox.cleanup(handle)


async def test_without_an_engine_it_says_so(origin: Path, settings: Settings, tmp_path: Path) -> None:
    nowhere = settings.model_copy(update={"docker_host": f"unix://{tmp_path / 'no.sock'}"})
    availability = DockerSandbox.check(nowhere)
    assert not availability.available
    assert availability.reason == f"no Docker engine answers at {nowhere.docker_host}"  # no Python repr
    with pytest.raises(SandboxError, match="no Docker engine answers"):
        await DockerSandbox(nowhere).setup(spec(origin, 4))


def test_without_an_address_it_names_the_default_socket(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    reason = DockerSandbox.check(settings.model_copy(update={"docker_host": None})).reason
    assert reason in (None, "no Docker engine answers at unix:///var/run/docker.sock")  # None: one answers


def _real_engine() -> str | None:
    """Why there is no real engine to test against, or None when one answers."""
    try:
        docker.from_env(timeout=5).ping()
    except Exception as err:  # any failure to reach it is the answer
        return f"{type(err).__name__}: {err}"
    return None


async def test_against_a_real_engine_when_one_answers(origin: Path, settings: Settings) -> None:
    missing = _real_engine()
    if missing is not None:
        pytest.skip(
            f"no Docker engine answers here ({missing[:120]}); the fake engine tests above cover the sandbox"
        )
    sandbox = DockerSandbox(settings.model_copy(update={"docker_image": "alpine:3.20"}))
    handle = await sandbox.setup(spec(origin, 5))
    try:
        result = await sandbox.workspace(handle).exec("echo hello > hi.txt && cat hi.txt")
        assert result.ok and result.stdout == "hello\n" and Path(handle.path, "hi.txt").exists()
    finally:
        await sandbox.cleanup(handle)


async def test_gc_removes_the_containers_of_ended_work_orders_only(
    origin: Path, docker_settings: Settings, engine: FakeDockerEngine
) -> None:
    store = await Store.open(docker_settings.resolved_database_url)
    try:
        sandbox = DockerSandbox(docker_settings)
        handles = {}
        for n, status in ((6, "completed"), (7, "running")):
            wid = f"wo-d0cker0{n}"
            record = WorkOrderCreate(
                id=wid, repository_url=str(origin), workflow_type="w", sandbox_type="docker", agent="shell"
            )
            await store.create_work_order(record)
            await store.update_work_order(wid, WorkOrderChange(status="running"))
            if status == "completed":
                await store.update_work_order(wid, WorkOrderChange(status="completed"))
            handles[wid] = await sandbox.setup(spec(origin, n))
            assert (await sandbox.workspace(handles[wid]).exec("true")).ok  # its container now exists
        done = await collect(docker_settings, store, None)
        assert done.containers == ["shipyard-wo-d0cker06"]
        assert [c.name for c in engine.containers.values()] == ["shipyard-wo-d0cker07"]
        assert done.kept == [("wo-d0cker07", "running; Temporal was not asked (no server running)")]
        await sandbox.cleanup(handles["wo-d0cker07"])
    finally:
        await store.close()
