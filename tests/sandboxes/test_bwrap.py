"""The bwrap sandbox: what a command inside cannot do, and that work inside the clone goes on
as under the other sandboxes. Real bubblewrap (the test command installs Debian's package)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from shipyard.agents.install import INSTALLABLE, cli_path
from shipyard.config import Settings
from shipyard.domain.models import SandboxHandle, SandboxSpec
from shipyard.sandboxes.bwrap import BwrapSandbox

Sh = Callable[..., str]
CANARY = "sandbox-canary-5b1e9"
Opened = tuple[BwrapSandbox, SandboxHandle]


@pytest.fixture
async def opened(origin: Path, settings: Settings) -> AsyncIterator[Opened]:
    availability = BwrapSandbox.check(settings)
    if not availability.available:
        pytest.fail(f"bubblewrap cannot run here: {availability.reason}", pytrace=False)
    sandbox = BwrapSandbox(settings)
    spec = SandboxSpec(work_order_id="wo-bwrap001", repository_url=str(origin), branch="wo/wo-bwrap001")
    handle = await sandbox.setup(spec)
    yield sandbox, handle
    await sandbox.cleanup(handle)


async def test_work_inside_the_clone_goes_on_as_usual(opened: Opened, sh: Sh) -> None:
    sandbox, handle = opened
    assert handle.sandbox_type == "bwrap"
    work = sandbox.workspace(handle)
    script = (
        "echo made > made.txt && mkdir -p src && echo 'x = 1' > src/x.py && "
        "echo scratch > /tmp/scratch && cat /tmp/scratch && "
        "git add -A && git -c user.name=A -c user.email=a@b.c commit -q -m inside && "
        "git log -1 --format=%s && pwd"
    )
    result = await work.exec(script)
    assert result.ok, result.stderr
    assert result.stdout.split() == ["scratch", "inside", handle.path]
    assert sh(Path(handle.path), "log", "-1", "--format=%s").strip() == "inside"  # seen from outside too


async def test_nothing_outside_the_clone_can_be_written(
    opened: Opened, settings: Settings, origin: Path
) -> None:
    sandbox, handle = opened
    targets = [origin / "README.md", settings.data_dir / "shipyard.db", Path("/etc/shipyard-was-here"),
               Path(handle.path).parent / "next-door"]  # fmt: skip
    for target in targets:
        result = await sandbox.workspace(handle).exec(f"echo pwned >> {target}")
        assert not result.ok, target
        assert "Read-only file system" in result.stderr or "No such file" in result.stderr, result.stderr
    assert (origin / "README.md").read_text() == "# widgets\n"
    assert (
        not Path("/etc/shipyard-was-here").exists() and not (Path(handle.path).parent / "next-door").exists()
    )


async def test_the_home_directory_and_the_servers_environment_are_hidden(
    opened: Opened, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text(CANARY)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SHIPYARD_SECRET_CANARY", CANARY)
    sandbox, handle = opened
    result = await sandbox.workspace(handle).exec(
        "cat ~/.ssh/id_ed25519; ls -A ~; env; "
        "cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'; ps -e -o pid=,comm="
    )
    assert CANARY not in result.stdout + result.stderr
    assert "No such file or directory" in result.stderr  # the key is not there at all
    processes = [line.split() for line in result.stdout.splitlines() if line.strip().split()[0].isdigit()]
    assert all(int(pid) < 10 for pid, *_ in processes), processes  # only the sandbox's own processes


async def test_no_network_unless_the_step_asks_for_it(opened: Opened) -> None:
    sandbox, handle = opened
    accepted: list[bool] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(True)
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reach = f"exec 3<>/dev/tcp/127.0.0.1/{port} && echo reached"
    try:
        closed = await sandbox.workspace(handle).exec(reach)
        assert not closed.ok and "reached" not in closed.stdout
        assert accepted == []
        opened_up = await sandbox.workspace(handle, network=True).exec(reach)
        assert opened_up.ok and "reached" in opened_up.stdout
    finally:
        server.close()
        await server.wait_closed()


async def test_processes_outside_cannot_be_signalled(opened: Opened) -> None:
    sandbox, handle = opened
    outside = subprocess.Popen(["sleep", "300"])
    try:
        result = await sandbox.workspace(handle).exec(f"kill -TERM {outside.pid} || kill -0 {os.getpid()}")
        assert not result.ok and "No such process" in result.stderr
        assert outside.poll() is None  # still sleeping
    finally:
        outside.send_signal(signal.SIGKILL)
        outside.wait()


async def test_cpu_time_and_memory_are_limited(origin: Path, settings: Settings, opened: Opened) -> None:
    _, handle = opened
    tight = BwrapSandbox(settings.model_copy(update={"sandbox_cpu_s": 1, "sandbox_memory_mb": 256}))
    spin = await tight.workspace(handle).exec("while :; do :; done", timeout_s=60)
    assert not spin.ok and not spin.timed_out  # stopped by the CPU limit, well before the timeout
    hog = await tight.workspace(handle).exec("python3 -c 'bytearray(1024 ** 3)'")
    assert not hog.ok and "MemoryError" in hog.stderr
    fine = await tight.workspace(handle).exec("python3 -c 'print(len(bytearray(10 * 1024 ** 2)))'")
    assert fine.ok and fine.stdout.strip() == str(10 * 1024**2)


async def test_agent_clis_installed_in_the_data_dir_run_inside_but_cannot_be_changed(
    settings: Settings, opened: Opened
) -> None:
    binary = cli_path(settings.data_dir, INSTALLABLE["codex"])  # where `shipyard agents install` puts it
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\necho 'codex-cli 9.9.9'\n")
    binary.chmod(0o755)
    sandbox, handle = opened
    result = await sandbox.workspace(handle).exec(f"{binary} --version && echo pwned >> {binary}")
    assert result.stdout.strip() == "codex-cli 9.9.9"
    assert not result.ok and "Read-only file system" in result.stderr
    assert binary.read_text() == "#!/bin/sh\necho 'codex-cli 9.9.9'\n"
