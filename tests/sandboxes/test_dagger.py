"""The dagger sandbox through the Dagger SDK's interface, against a fake of the engine at that
boundary (tests/fakes/dagger_sdk.py): no engine runs here, so execs really run in directories
standing for the containers."""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import Callable
from pathlib import Path

import dagger
import pytest

import shipyard.sandboxes.dagger as dagger_sandbox
from cli_kit import shipyard
from fakes import dagger_sdk
from fakes.dagger_sdk import FakeDagger
from remote_kit import work_flows_both_ways
from shipyard.config import Settings
from shipyard.domain.errors import SandboxError
from shipyard.domain.models import SandboxSpec
from shipyard.sandboxes.dagger import DaggerSandbox
from shipyard.sandboxes.git_worktree import sandbox_dir


def spec(origin: Path, n: int = 1) -> SandboxSpec:
    wo = f"wo-dag0000{n}"
    return SandboxSpec(work_order_id=wo, repository_url=str(origin), branch=f"wo/{wo}")


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeDagger:
    fake = FakeDagger(tmp_path / "dagger")
    monkeypatch.setattr(dagger_sandbox, "Connection", fake.sdk)
    monkeypatch.setenv("DAGGER_SESSION_PORT", "8080")  # as inside `dagger run`
    monkeypatch.setenv("DAGGER_SESSION_TOKEN", "session-token")
    return fake


@pytest.mark.parametrize(
    ("real", "fake"),
    [
        (dagger.Connection, dagger_sdk.Connection),
        (dagger.Client, dagger_sdk.Client),
        (dagger.Host, dagger_sdk.Host),
        (dagger.Container, dagger_sdk.Container),
        (dagger.Directory, dagger_sdk.Directory),
    ],
)
def test_the_fake_keeps_the_sdk_s_signatures(real: type, fake: type) -> None:
    def shape(method: Callable[..., object]) -> list[tuple[str, object, object]]:
        return [(p.name, p.kind, p.default) for p in inspect.signature(method).parameters.values()]

    names = [n for n, v in vars(fake).items() if callable(v) and not n.startswith("_")]
    names += ["__init__"] if fake is dagger_sdk.Connection else []  # the one class callers make
    assert names
    for name in names:
        assert shape(getattr(fake, name)) == shape(getattr(real, name)), f"{real.__name__}.{name}"


async def test_commands_run_in_a_container_on_the_clone_and_their_work_comes_back(
    origin: Path, engine: FakeDagger, settings: Settings, sh: Callable[..., str]
) -> None:
    sandbox = DaggerSandbox(settings)
    handle = await sandbox.setup(spec(origin))
    local = Path(handle.path)
    assert handle.sandbox_type == "dagger" and (local / "app.py").read_text() == "print('hello')\n"
    assert sh(local, "rev-parse", "--abbrev-ref", "HEAD").strip() == "wo/wo-dag00001"
    work = sandbox.workspace(handle, env={"SHIPYARD_WORK_ORDER_ID": handle.work_order_id})
    inside = await work_flows_both_ways(work, local, handle.work_order_id)
    assert inside.startswith(str(engine.root)) and inside.endswith("/workspace")
    # Each command starts from the image again: only /workspace carries over.
    await work.exec("echo left > ../left.txt")
    assert (await work.exec("cat ../left.txt")).exit_code != 0


async def test_the_same_command_on_the_same_tree_runs_again(
    origin: Path, engine: FakeDagger, settings: Settings
) -> None:
    """The engine would answer a repeated exec from its cache: an agent's prompt would not run."""
    sandbox = DaggerSandbox(settings)
    work = sandbox.workspace(await sandbox.setup(spec(origin)))
    assert (await work.exec("echo once")).stdout == "once\n"
    assert (await work.exec("echo once")).stdout == "once\n"
    assert engine.runs == [["bash", "-c", "echo once"]] * 2


async def test_a_command_past_its_timeout_or_cancelled_is_killed_and_its_work_lost(
    origin: Path, engine: FakeDagger, settings: Settings
) -> None:
    sandbox = DaggerSandbox(settings)
    handle = await sandbox.setup(spec(origin))
    work = sandbox.workspace(handle)
    late = await work.exec("echo started; echo x > half.txt; sleep 30", timeout_s=1)
    assert late.timed_out and not late.ok and engine.processes == set()
    assert not (Path(handle.path) / "half.txt").exists()

    task = asyncio.create_task(work.exec("sleep 300"))
    while not engine.processes:
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert engine.processes == set()


async def test_a_command_a_signal_ends_fails_with_its_code(
    origin: Path, engine: FakeDagger, settings: Settings, sh: Callable[..., str]
) -> None:
    sandbox = DaggerSandbox(settings)
    handle = await sandbox.setup(spec(origin))
    killed = await sandbox.workspace(handle).exec("echo gone > gone.txt; echo before; kill -9 $$")
    assert killed.exit_code == 137 and killed.stdout == "before\n"
    assert sh(Path(handle.path), "status", "--porcelain") == ""  # the engine gives no tree back


async def test_without_an_engine_or_the_image_it_says_so_and_leaves_nothing(
    origin: Path, engine: FakeDagger, settings: Settings
) -> None:
    sandbox = DaggerSandbox(settings)
    handle = await sandbox.setup(spec(origin))
    engine.answers = False
    with pytest.raises(SandboxError, match=r"no Dagger engine answers: .*All connection attempts failed"):
        await sandbox.setup(spec(origin, 2))
    assert not sandbox_dir(settings, "wo-dag00002").exists()
    with pytest.raises(SandboxError, match="no Dagger engine answers"):
        await sandbox.workspace(handle).exec("true")
    unavailable = await asyncio.to_thread(DaggerSandbox.check, settings)
    assert not unavailable.available and unavailable.reason.startswith("no Dagger engine answers")

    engine.answers = True
    absent = settings.model_copy(update={"dagger_image": "shipyard-test-absent:none"})
    with pytest.raises(
        SandboxError, match=r"Dagger could not get image shipyard-test-absent:none: .*not found"
    ):
        await DaggerSandbox(absent).setup(spec(origin, 3))
    assert not sandbox_dir(settings, "wo-dag00003").exists()


async def test_cleanup_removes_the_clone_twice_safely(
    origin: Path, engine: FakeDagger, settings: Settings
) -> None:
    sandbox = DaggerSandbox(settings)
    handle = await sandbox.setup(spec(origin))
    await sandbox.cleanup(handle)
    await sandbox.cleanup(handle)
    assert not Path(handle.path).exists()


def test_doctor_says_whether_a_dagger_engine_answers(tmp_path: Path, engine: FakeDagger) -> None:
    def line() -> str:
        done = shipyard(tmp_path / "data", "doctor")
        return next(row for row in done.stdout.splitlines() if "sandbox dagger" in row)

    assert line().endswith(f"Dagger engine {dagger_sdk.VERSION}")
    engine.answers = False
    assert "no Dagger engine answers: Failed to establish client connection" in line()
    # Outside a `dagger run` session nothing is tried (the SDK would download its CLI).
    os.environ.pop("DAGGER_SESSION_PORT")
    assert line().endswith(dagger_sandbox.NO_SESSION)
