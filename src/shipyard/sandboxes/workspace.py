"""A workspace on local disk: commands run as child processes in their own process group."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from shipyard.domain.errors import SandboxError
from shipyard.domain.models import ExecResult
from shipyard.sandboxes.base import LineCallback, argv_of

# Only these variables of the worker's environment reach sandbox commands; everything else
# (tokens, keys) must be passed explicitly by the caller.
ENV_ALLOWLIST = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TERM",
    "USER",
    "LOGNAME",
    "SHELL",
    "TMPDIR",
    "TZ",
)
_KILL_GRACE_S = 2.0
_EXIT_POLL_S = 0.25
_DRAIN_GRACE_S = 1.0  # how long background children may keep writing after the command exits
_LINE_LIMIT_BYTES = 16 * 1024 * 1024  # agents print single JSON lines of several MB


def sandbox_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The allow-listed environment plus `extra`."""
    env = {k: os.environ[k] for k in ENV_ALLOWLIST if k in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update(extra or {})
    return env


# util-linux's setpriv sets the parent-death signal, then runs the program: killed when the thread
# that started it dies, even by SIGKILL. (It was a preexec_fn, Python run between fork and exec:
# that makes subprocess fork instead of vfork, and in a process with threads, Temporal's and
# SQLite's, a child could deadlock before its exec, and the event loop, which waits for that exec,
# with it: the whole server stopped answering.)
_SETPRIV = shutil.which("setpriv")


def dying_with_parent(argv: Sequence[str]) -> list[str]:
    """`argv` set to be killed when this process dies (as it is where setpriv is missing)."""
    return [_SETPRIV, "--pdeathsig", "KILL", "--", *argv] if _SETPRIV else list(argv)


def kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    """Signal the whole process group led by `pid`, ignoring a group that is already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class LocalWorkspace:
    """Runs commands in a directory on this machine."""

    def __init__(self, path: Path | str, env: Mapping[str, str] | None = None) -> None:
        self._path = Path(path)
        self._env = dict(env or {})

    @property
    def path(self) -> Path:
        return self._path

    async def exec(
        self,
        command: str | Sequence[str],
        *,
        timeout_s: float | None = None,
        env: Mapping[str, str] | None = None,
        stdin: str | None = None,
        on_line: LineCallback | None = None,
    ) -> ExecResult:
        argv = argv_of(command)
        started = time.monotonic()
        if not _is_dir(self._path):
            raise SandboxError(f"workspace directory {self._path} does not exist")
        try:
            proc = await asyncio.create_subprocess_exec(
                *dying_with_parent(argv),
                cwd=self._path,
                env=sandbox_env({**self._env, **(env or {})}),
                stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                limit=_LINE_LIMIT_BYTES,
            )
        except OSError as exc:  # the program is missing or not executable: a failed command
            code = 127 if isinstance(exc, FileNotFoundError) else 126
            return ExecResult(exit_code=code, stderr=f"{argv[0]}: {exc.strerror}\n")
        try:
            out, err, timed_out = await _communicate(proc, stdin, timeout_s, on_line)
        except BaseException:
            await _terminate(proc)
            raise
        return ExecResult(
            exit_code=proc.returncode if proc.returncode is not None else -1,
            stdout=out,
            stderr=err,
            duration_s=time.monotonic() - started,
            timed_out=timed_out,
        )


async def _communicate(
    proc: asyncio.subprocess.Process,
    stdin: str | None,
    timeout_s: float | None,
    on_line: LineCallback | None,
) -> tuple[str, str, bool]:
    assert proc.stdout is not None and proc.stderr is not None
    outs: list[str] = []
    errs: list[str] = []
    streams = (proc.stdout, proc.stderr)
    readers = asyncio.gather(
        _pump(proc.stdout, "stdout", outs, on_line),
        _pump(proc.stderr, "stderr", errs, on_line),
        _feed(proc, stdin),
        _reap(proc, streams),
    )
    # When the loop shuts down it cancels the readers one by one; mark that outcome as seen.
    readers.add_done_callback(lambda fut: fut.cancelled() or fut.exception())
    try:
        await asyncio.wait_for(readers, timeout_s)
        timed_out = False
    except TimeoutError:
        await _terminate(proc)
        timed_out = True
    return "".join(outs), "".join(errs), timed_out


async def _feed(proc: asyncio.subprocess.Process, stdin: str | None) -> None:
    """Write `stdin` alongside the readers; a command that exits without reading it is fine."""
    if stdin is None or proc.stdin is None:
        return
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        proc.stdin.write(stdin.encode())
        await proc.stdin.drain()
    proc.stdin.close()


async def _reap(proc: asyncio.subprocess.Process, streams: tuple[asyncio.StreamReader, ...]) -> None:
    """Wait for the command; then end what it left in the background holding its pipes open."""
    await _exited(proc)
    if await _drained(streams):
        return
    kill_group(proc.pid, signal.SIGKILL)
    if not await _drained(streams):  # something escaped the group (setsid): stop reading
        for stream in streams:
            stream.feed_eof()


async def _exited(proc: asyncio.subprocess.Process) -> None:
    # wait() also waits for the pipes to close, which background children may hold open; the
    # return code is there as soon as the command itself has exited.
    waiter = asyncio.ensure_future(proc.wait())
    try:
        while proc.returncode is None and not waiter.done():
            await asyncio.wait({waiter}, timeout=_EXIT_POLL_S)
    finally:
        waiter.cancel()


async def _drained(streams: tuple[asyncio.StreamReader, ...]) -> bool:
    deadline = time.monotonic() + _DRAIN_GRACE_S
    while not all(stream.at_eof() for stream in streams):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def _pump(
    stream: asyncio.StreamReader, name: str, sink: list[str], on_line: LineCallback | None
) -> None:
    while True:
        try:
            raw = await stream.readline()
        except ValueError:  # a line over the limit; asyncio has already dropped it
            raw = b"[shipyard: line longer than 16 MiB dropped]\n"
        if not raw:
            return
        line = raw.decode(errors="replace")
        sink.append(line)
        if on_line is not None:
            await on_line(name, line.rstrip("\n"))


def _is_dir(path: Path) -> bool:
    return path.is_dir()


async def _terminate(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM the process group, then SIGKILL it if it has not gone within the grace period."""
    if proc.returncode is None:
        kill_group(proc.pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), _KILL_GRACE_S)
    kill_group(proc.pid, signal.SIGKILL)
    if proc.returncode is None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(proc.wait(), _KILL_GRACE_S)
