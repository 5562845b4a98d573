"""The e2b sandbox through the E2B SDK's interface, against a fake of the service at that
boundary (tests/fakes/e2b_sdk.py): commands really run, in a directory standing for the VM."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import SecretStr

import shipyard.sandboxes.e2b as e2b_sandbox
from fakes.e2b_sdk import FakeE2B
from fakes.git_http import GitHttpServer
from remote_kit import work_flows_both_ways
from shipyard.config import Settings
from shipyard.domain.errors import SandboxError
from shipyard.domain.models import REMOTE_ID, SandboxHandle, SandboxSpec
from shipyard.domain.work_orders import WorkOrderChange, WorkOrderCreate
from shipyard.engine.gc import collect
from shipyard.sandboxes.e2b import MADE_BY, REPO, E2BSandbox
from shipyard.sandboxes.git_worktree import sandbox_dir
from shipyard.store.store import Store

KEY = "e2b_f4ke_api_key_0123456789"


def spec(url: str, n: int = 1, token: str | None = None) -> SandboxSpec:
    wo = f"wo-e2b0000{n}"
    return SandboxSpec(work_order_id=wo, repository_url=url, branch=f"wo/{wo}", git_token=token)


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeE2B:
    fake = FakeE2B(tmp_path / "e2b", api_key=KEY)
    monkeypatch.setattr(e2b_sandbox, "AsyncSandbox", fake.sdk)
    return fake


@pytest.fixture
def e2b_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"e2b_api_key": SecretStr(KEY), "e2b_template": "base"})


def remote(service: FakeE2B, handle: SandboxHandle) -> Path:
    """The working tree inside the (fake) E2B sandbox."""
    return service.vms[handle.extra[REMOTE_ID]].local(REPO)


async def test_the_repository_is_cloned_inside_with_the_token_and_the_id_kept(
    tmp_path: Path, origin: Path, service: FakeE2B, e2b_settings: Settings, sh: Callable[..., str]
) -> None:
    token = "ghs_e2bCl0neT0ken"
    with GitHttpServer(tmp_path / "git-http", tokens={token}) as forge:
        url = forge.add_repo("acme/widgets", source=origin)
        handle = await E2BSandbox(e2b_settings).setup(spec(url, token=token))
    vm = service.vms[handle.extra[REMOTE_ID]]
    assert handle.sandbox_type == "e2b" and handle.identifier == vm.sandbox_id
    assert vm.template == "base" and vm.metadata == {**MADE_BY, "shipyard_work_order_id": "wo-e2b00001"}
    inside = remote(service, handle)
    assert (inside / "app.py").read_text() == "print('hello')\n"
    assert sh(inside, "rev-parse", "--abbrev-ref", "HEAD").strip() == "wo/wo-e2b00001"
    assert sh(inside, "rev-parse", "HEAD") == sh(Path(handle.path), "rev-parse", "HEAD")
    # The token went in through the clone command's environment, and stays nowhere inside.
    assert token not in vm.commands[0]["cmd"] and token in str(vm.commands[0]["envs"])
    assert token not in (inside / ".git" / "config").read_text()


async def test_commands_stream_and_work_flows_both_ways(
    origin: Path, service: FakeE2B, e2b_settings: Settings
) -> None:
    sandbox = E2BSandbox(e2b_settings)
    handle = await sandbox.setup(spec(str(origin)))
    work = sandbox.workspace(handle, env={"SHIPYARD_WORK_ORDER_ID": handle.work_order_id})
    inside = await work_flows_both_ways(work, Path(handle.path), handle.work_order_id)
    assert inside == str(remote(service, handle))  # ran inside the sandbox


async def test_a_command_past_its_timeout_is_killed(
    origin: Path, service: FakeE2B, e2b_settings: Settings
) -> None:
    sandbox = E2BSandbox(e2b_settings)
    handle = await sandbox.setup(spec(str(origin)))
    result = await sandbox.workspace(handle).exec(
        "echo started; sleep 30; echo never > late.txt", timeout_s=1
    )
    assert result.timed_out and result.stdout == "started\n"
    await asyncio.sleep(0.5)
    assert not (remote(service, handle) / "late.txt").exists()
    assert service.vms[handle.extra[REMOTE_ID]].processes == set()


async def test_cleanup_kills_the_sandbox_and_removes_the_clone_twice_safely(
    origin: Path, service: FakeE2B, e2b_settings: Settings
) -> None:
    sandbox = E2BSandbox(e2b_settings)
    handle = await sandbox.setup(spec(str(origin)))
    assert service.alive == [handle.extra[REMOTE_ID]]
    await sandbox.cleanup(handle)
    await sandbox.cleanup(handle)
    assert service.alive == [] and not Path(handle.path).exists()
    with pytest.raises(SandboxError, match="cannot reach sandbox"):
        await sandbox.workspace(handle).exec("true")


async def test_a_missing_or_wrong_key_or_template_is_a_clear_error_leaving_nothing(
    origin: Path, service: FakeE2B, e2b_settings: Settings
) -> None:
    no_key = e2b_settings.model_copy(update={"e2b_api_key": None})
    with pytest.raises(SandboxError, match="E2B_API_KEY"):
        await E2BSandbox(no_key).setup(spec(str(origin)))
    assert not E2BSandbox.check(no_key).available and E2BSandbox.check(e2b_settings).available
    wrong = "e2b_wr0ng_key_abcdef"
    with pytest.raises(SandboxError, match="Invalid API key") as raised:
        await E2BSandbox(e2b_settings.model_copy(update={"e2b_api_key": SecretStr(wrong)})).setup(
            spec(str(origin))
        )
    assert wrong not in str(raised.value)
    with pytest.raises(SandboxError, match="template 'nope'"):
        await E2BSandbox(e2b_settings.model_copy(update={"e2b_template": "nope"})).setup(spec(str(origin)))
    # A template without git: the clone inside fails, the sandbox is killed, the local clone gone.
    broken = E2BSandbox(e2b_settings.model_copy(update={"e2b_template": "no-git"}))
    with pytest.raises(SandboxError, match="cloning the repository failed"):
        await broken.setup(spec(str(origin), n=9))
    assert service.alive == [] and not sandbox_dir(e2b_settings, "wo-e2b00009").exists()


async def test_gc_kills_the_sandboxes_of_ended_work_orders_even_without_a_handle(
    origin: Path, service: FakeE2B, e2b_settings: Settings
) -> None:
    """A set-up cut short (the worker killed) leaves an E2B sandbox no work order holds."""
    store = await Store.open(e2b_settings.resolved_database_url)
    try:
        made = {}
        for wid, status in (
            ("wo-e2b0000a", "failed"),
            ("wo-e2b0000b", "running"),
            ("wo-e2b0000c", "cancelled"),
        ):
            record = WorkOrderCreate(
                id=wid, repository_url=str(origin), workflow_type="w", sandbox_type="e2b", agent="shell"
            )
            await store.create_work_order(record)
            await store.update_work_order(wid, WorkOrderChange(status="running"))
            if status != "running":
                await store.update_work_order(wid, WorkOrderChange(status=status))
            metadata = {**MADE_BY, "shipyard_work_order_id": wid}
            made[wid] = (await service.sdk.create(metadata=metadata, api_key=KEY)).sandbox_id
        stranger = await service.sdk.create(
            metadata={**MADE_BY, "shipyard_work_order_id": "wo-0ther"}, api_key=KEY
        )
        mine = await service.sdk.create(metadata={"made_by": "someone else"}, api_key=KEY)
        preview = await collect(e2b_settings, store, None, dry_run=True)
        assert sorted(preview.e2b) == sorted([made["wo-e2b0000a"], made["wo-e2b0000c"]])
        assert len(service.alive) == 5
        done = await collect(e2b_settings, store, None)
        assert sorted(done.e2b) == sorted(preview.e2b)
        assert sorted(service.alive) == sorted([made["wo-e2b0000b"], stranger.sandbox_id, mine.sandbox_id])
    finally:
        await store.close()
