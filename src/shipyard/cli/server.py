"""Running the API and engine in one process: `shipyard serve`, and an embedded `shipyard run`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import structlog
import uvicorn

from shipyard.api.front_door import is_loopback
from shipyard.cli.client import server_file
from shipyard.composition import worker_parts
from shipyard.config import Settings
from shipyard.domain.errors import ShipyardError
from shipyard.engine.processes import WorkerProcesses
from shipyard.engine.worker import Engine, open_engine
from shipyard.service.schedules import ScheduleService
from shipyard.service.work_orders import WorkOrderService
from shipyard.web.app import create_app

log = structlog.get_logger()


@dataclass
class RunningServer:
    url: str
    engine: Engine
    service: WorkOrderService
    uvicorn: uvicorn.Server
    workers: WorkerProcesses | None = None  # child worker processes, when the worker is not in this one


# Event streams (dashboard tabs, `logs -f`) never end by themselves: on stop they get this long.
SHUTDOWN_GRACE_S = 2
# How long an idle kept-alive connection stays open. It must outlast the clients' own expiry (httpx
# reuses a connection for 5 s, proxies for 60 s or more): with uvicorn's 5 s, a request sent as
# the server closed the connection was lost (the client read nothing: httpx.ReadError).
KEEP_ALIVE_S = 75


@contextlib.asynccontextmanager
async def running_server(
    settings: Settings,
    *,
    persistent: bool,
    port: int | None = None,
    announce: bool = True,
    run_worker: bool = True,
    worker_processes: int = 0,
) -> AsyncIterator[RunningServer]:
    """Engine + worker (unless `run_worker` is False) + API on `settings.host`; `port=0` picks a free
    one. The worker runs in this process, on the API's loop, or in `worker_processes` children."""
    refuse_unsafe_settings(settings)
    # Bound before anything else starts, so nothing (the dev server's own ports) can take it meanwhile.
    listener = _listen(settings.host, 0 if port == 0 else (port or settings.port))
    chosen = listener.getsockname()[1]
    settings = settings.model_copy(update={"port": chosen})  # sandboxes are told where the API is
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(listener.close)
        in_process = run_worker and worker_processes == 0
        engine = await stack.enter_async_context(
            open_engine(
                settings, persistent=persistent, run_worker=in_process, parts=worker_parts, tidy=run_worker
            )
        )
        workers = None
        if run_worker and not in_process:
            workers = await stack.enter_async_context(
                WorkerProcesses(settings, engine.temporal_address, worker_processes)
            )
        watch = engine.devserver.watch if engine.devserver else None
        service = WorkOrderService(settings, engine.store, engine.client, watch)
        app = create_app(service)
        config = uvicorn.Config(
            app, host=settings.host, port=chosen, log_level="warning", lifespan="off", http="httptools",
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S, timeout_keep_alive=KEEP_ALIVE_S,
        )  # fmt: skip
        server = _Server(config)
        task = asyncio.create_task(server.serve(sockets=[listener]))
        try:
            await _wait_started(server, task)
            await _reconcile_schedules(service)
            url = f"http://{settings.host}:{chosen}"
            if announce:
                _announce(settings, url, engine)
            yield RunningServer(url, engine, service, server, workers)
        finally:
            app.state.hub.close()  # open event streams end, so uvicorn can stop at once
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError, SystemExit):
                await task
            if announce:
                server_file(settings).unlink(missing_ok=True)


async def _reconcile_schedules(service: WorkOrderService) -> None:
    """Temporal's schedules in step with projects' sources (made while no server ran, say)."""
    try:
        await ScheduleService(service).reconcile()
    except ShipyardError as err:  # Temporal down a moment: the server still starts
        log.warning("schedules_not_reconciled", error=err.message)


def refuse_unsafe_settings(settings: Settings) -> None:
    """SystemExit, in one line, when the settings would leave a server unguarded."""
    problem = settings.api_token_problem()
    if problem is not None:
        raise SystemExit(f"refusing to start: {problem}")
    if not is_loopback(settings.host) and settings.api_token is None:
        raise SystemExit(f"refusing to listen on {settings.host} without SHIPYARD_API_TOKEN")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the CLI decides what a signal means."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _wait_started(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    while not server.started:
        if task.done():
            raise SystemExit(f"the API server could not start on {server.config.host}:{server.config.port}")
        await asyncio.sleep(0.05)


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: a free one); SystemExit saying so when it is taken."""
    # IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on sockets that say they are
    # TCP, and without it every answer on a kept-alive connection waited ~40 ms for a delayed ACK.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as err:
        listener.close()
        raise SystemExit(
            f"cannot listen on {host}:{port}: {err.strerror} (another shipyard serve? try --port)"
        ) from None
    listener.listen(2048)
    return listener


def _announce(settings: Settings, url: str, engine: Engine) -> None:
    info = {"url": url, "pid": os.getpid(), "temporal": engine.temporal_address}
    server_file(settings).write_text(json.dumps(info))
