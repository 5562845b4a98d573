"""LocalWorkspace: real child processes, their output, exit codes, timeouts and cancellation."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from shipyard.domain.errors import SandboxError
from shipyard.sandboxes.workspace import LocalWorkspace


def alive(pid: int) -> bool:
    """Whether `pid` is a running (not zombie) process."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


async def wait_dead(*pids: int) -> list[int]:
    """The pids still alive after giving the kernel a few seconds to finish them."""
    for _ in range(100):
        if not any(alive(pid) for pid in pids):
            break
        await asyncio.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


def pid_in(path: Path) -> int | None:
    text = path.read_text().strip() if path.exists() else ""
    return int(text) if text else None


async def read_pid(path: Path) -> int:
    for _ in range(200):
        if (pid := pid_in(path)) is not None:
            return pid
        await asyncio.sleep(0.02)
    raise AssertionError(f"{path} never written")


async def test_lines_stream_while_the_command_runs(tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []

    async def on_line(stream: str, line: str) -> None:
        seen.append((stream, line))
        if line == "waiting":  # the command only goes on once we have seen this line
            (tmp_path / "go").touch()

    script = "echo waiting; echo oops >&2; until [ -f go ]; do sleep 0.02; done; echo done"
    result = await LocalWorkspace(tmp_path).exec(script, on_line=on_line, timeout_s=30)
    assert result.ok and not result.timed_out
    assert result.stdout == "waiting\ndone\n"
    assert result.stderr == "oops\n"
    assert [line for stream, line in seen if stream == "stdout"] == ["waiting", "done"]
    assert [line for stream, line in seen if stream == "stderr"] == ["oops"]


async def test_exit_codes_are_data(tmp_path: Path) -> None:
    workspace = LocalWorkspace(tmp_path)
    failed = await workspace.exec("echo partial; exit 3")
    assert (failed.exit_code, failed.ok, failed.stdout) == (3, False, "partial\n")
    assert (await workspace.exec(["false"])).exit_code == 1
    assert (await workspace.exec(["pwd"])).stdout.strip() == str(tmp_path)
    missing = await workspace.exec(["no-such-program-xyz"])
    assert missing.exit_code == 127
    assert "no-such-program-xyz" in missing.stderr


async def test_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    script = "sleep 300 & echo $! > bg.pid; echo $$ > main.pid; echo started; wait"
    result = await LocalWorkspace(tmp_path).exec(script, timeout_s=1)
    assert result.timed_out and not result.ok
    assert result.stdout == "started\n"
    pids = [int((tmp_path / name).read_text()) for name in ("bg.pid", "main.pid")]
    assert await wait_dead(*pids) == []


async def test_background_child_holding_the_pipes_does_not_hang_exec(tmp_path: Path) -> None:
    script = "sleep 300 & echo $! > bg.pid; echo started"
    result = await LocalWorkspace(tmp_path).exec(script, timeout_s=30)
    assert (result.exit_code, result.timed_out, result.stdout) == (0, False, "started\n")
    assert await wait_dead(int((tmp_path / "bg.pid").read_text())) == []


async def test_cancelling_exec_kills_the_group(tmp_path: Path) -> None:
    started = asyncio.Event()

    async def on_line(_: str, line: str) -> None:
        if line == "started":
            started.set()

    script = "sleep 300 & echo $! > bg.pid; echo $$ > main.pid; echo started; wait"
    task = asyncio.create_task(LocalWorkspace(tmp_path).exec(script, on_line=on_line))
    await asyncio.wait_for(started.wait(), 30)
    pids = [await read_pid(tmp_path / name) for name in ("bg.pid", "main.pid")]
    assert all(alive(pid) for pid in pids)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_dead(*pids) == []


async def test_environment_is_allow_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_TEST_SECRET", "hunter2")
    monkeypatch.setenv("PATH", "/usr/local/bin:/usr/bin:/bin")
    workspace = LocalWorkspace(tmp_path, env={"WORKSPACE_VAR": "w"})
    result = await workspace.exec(["env"], env={"STEP_TOKEN": "t"})
    env = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert "SHIPYARD_TEST_SECRET" not in env
    assert "hunter2" not in result.stdout
    assert env["PATH"] == "/usr/local/bin:/usr/bin:/bin"
    assert (env["WORKSPACE_VAR"], env["STEP_TOKEN"]) == ("w", "t")


async def test_stdin_is_passed(tmp_path: Path) -> None:
    workspace = LocalWorkspace(tmp_path)
    result = await workspace.exec("tr a-z A-Z", stdin="hello\nworld\n")
    assert result.stdout == "HELLO\nWORLD\n"
    assert (await workspace.exec("read -r x; echo got:$x", stdin="line\n")).stdout == "got:line\n"
    assert (await workspace.exec("cat", timeout_s=10)).stdout == ""  # no stdin: EOF at once


async def test_unread_stdin_is_not_an_error(tmp_path: Path) -> None:
    result = await LocalWorkspace(tmp_path).exec("exit 0", stdin="x" * 4_000_000)
    assert result.ok


async def test_missing_directory_is_a_sandbox_error(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match="does not exist"):
        await LocalWorkspace(tmp_path / "gone").exec("true")


async def test_a_command_dies_with_the_process_that_ran_it(tmp_path: Path) -> None:
    """A worker killed outright (SIGKILL: no clean-up runs) leaves no command behind it."""
    runner = (
        "import asyncio, sys\n"
        "from shipyard.sandboxes.workspace import LocalWorkspace\n"
        "asyncio.run(LocalWorkspace(sys.argv[1]).exec('echo $$ > cmd.pid; sleep 300'))\n"
    )
    worker = await asyncio.create_subprocess_exec(sys.executable, "-c", runner, str(tmp_path))
    try:
        async with asyncio.timeout(30):
            while (pid := pid_in(tmp_path / "cmd.pid")) is None:
                await asyncio.sleep(0.05)
        assert alive(pid)
    finally:
        worker.kill()
        await worker.wait()
    assert await wait_dead(pid) == []
