"""Worker processes: `serve` (and a `shipyard worker` asked for several) runs the workflows and
activities in child `shipyard worker` processes, one per core by default, so that the API's event
loop answers requests while work runs, and the work uses every core. Each child connects to the
same Temporal and store; they share this host's sandbox queue, so any of them can run the next
step of a work order whose sandbox is on this host. A child that dies is started again."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys

import structlog

from shipyard.config import Settings
from shipyard.sandboxes.workspace import dying_with_parent

log = structlog.get_logger()

_RESTART_BACKOFF_S = (0.5, 30.0)  # first and longest wait between restarts of a child that keeps dying
_HEALTHY_S = 60.0  # a child that lived this long starts the backoff afresh when it dies
STOP_GRACE_S = 20.0  # SIGTERM lets a child's running activities hand back; then SIGKILL


def child_env(settings: Settings, temporal_address: str) -> dict[str, str]:
    """A child worker's environment: this process's, pointed at the same Temporal and store, with
    one worker in-process and no sweeps (the parent sweeps, once for all of them)."""
    env = dict(os.environ)
    env.update(
        SHIPYARD_TEMPORAL_ADDRESS=temporal_address,
        SHIPYARD_DATA_DIR=str(settings.data_dir),
        SHIPYARD_DATABASE_URL=settings.resolved_database_url,
        SHIPYARD_TASK_QUEUE=settings.task_queue,
        SHIPYARD_HOST=settings.host,  # with the port: where its sandboxes reach the API
        SHIPYARD_PORT=str(settings.port),
        SHIPYARD_WORKERS="1",
        SHIPYARD_GC_INTERVAL_S="0",
    )
    return env


class WorkerProcesses:
    """`count` child workers, each restarted when it dies, all stopped by `stop`."""

    def __init__(self, settings: Settings, temporal_address: str, count: int) -> None:
        self._env = child_env(settings, temporal_address)
        self._count = count
        self._procs: list[asyncio.subprocess.Process | None] = [None] * count
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    async def __aenter__(self) -> WorkerProcesses:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    @property
    def pids(self) -> list[int]:
        return [proc.pid for proc in self._procs if proc is not None and proc.returncode is None]

    async def start(self) -> None:
        for slot in range(self._count):
            await self._spawn(slot)
            self._tasks.append(asyncio.create_task(self._keep(slot)))
        log.info("workers_started", processes=self._count, pids=self.pids)

    async def _spawn(self, slot: int) -> None:
        self._procs[slot] = await asyncio.create_subprocess_exec(
            *dying_with_parent([sys.executable, "-m", "shipyard.cli.main", "worker"]),
            env=self._env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,  # its banner; its log lines go to stderr, shared
        )  # fmt: skip

    async def _keep(self, slot: int) -> None:
        """Start the child in `slot` again whenever it dies, backing off while it keeps dying."""
        delay_s, longest_s = _RESTART_BACKOFF_S
        loop = asyncio.get_running_loop()
        while not self._stopping:
            proc = self._procs[slot]
            assert proc is not None
            started = loop.time()
            code = await proc.wait()
            if self._stopping:
                return
            log.error("worker_died", pid=proc.pid, exit_code=code, restart_in_s=delay_s)
            if loop.time() - started >= _HEALTHY_S:
                delay_s = _RESTART_BACKOFF_S[0]
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, longest_s)
            if not self._stopping:
                await self._spawn(slot)
                log.warning("worker_restarted", pid=self._procs[slot].pid)  # type: ignore[union-attr]

    async def stop(self) -> None:
        """SIGTERM every child, wait for them (SIGKILL after STOP_GRACE_S)."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        running = [proc for proc in self._procs if proc is not None and proc.returncode is None]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.gather(*(p.wait() for p in running)), STOP_GRACE_S)
        except TimeoutError:
            for proc in running:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            await asyncio.gather(*(p.wait() for p in running))
