"""The Temporal client and workers, and `open_engine`, which brings a whole engine up and down."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import socket
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from shipyard.config import Settings
from shipyard.engine import reconcile
from shipyard.engine.activities import WorkOrderActivities
from shipyard.engine.calls import call_activities
from shipyard.engine.devserver import DevServer
from shipyard.engine.gates import gate_activities
from shipyard.engine.gc import sweep_forever
from shipyard.engine.sink import redactor_for
from shipyard.engine.workflows import WorkOrderWorkflow
from shipyard.store.store import Store

log = structlog.get_logger()
# Heartbeats carry cancellation back to activities; the SDK's default throttle (up to 60 s)
# would delay a cancel by that much.
HEARTBEAT_THROTTLE = timedelta(seconds=1)


def worker_queue_name(settings: Settings) -> str:
    """This worker's own task queue, stable across restarts so a sandbox on disk finds its worker again."""
    digest = hashlib.sha1(str(settings.data_dir.resolve()).encode()).hexdigest()[:8]
    return f"{settings.task_queue}.{socket.gethostname()}.{digest}"


@functools.cache
def _runtime() -> Runtime:
    # Temporal's core logs reconnect warnings to stderr while a dev server stops; we report
    # errors ourselves, so only its errors are worth a user's terminal.
    quiet = TelemetryFilter(core_level="ERROR", other_level="ERROR")
    return Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=quiet)))


async def connect(address: str, namespace: str) -> Client:
    return await Client.connect(
        address, namespace=namespace, data_converter=pydantic_data_converter, runtime=_runtime()
    )


@dataclass
class WorkerParts:
    """Workflows and activities a worker runs beside the work order's own: the application
    layer's and the products', listed by the composition root (shipyard/composition.py)."""

    workflows: list[type] = field(default_factory=list)
    activities: list[Callable[..., Any]] = field(default_factory=list)
    # Jobs that run beside the worker, as long as it does (cancelled when it stops).
    jobs: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)


PartsFactory = Callable[[Settings, Store, Client], WorkerParts]


def workflow_runner() -> SandboxedWorkflowRunner:
    """Temporal's sandbox, guarding each workflow's calls, with imports shared instead of redone per
    workflow run (about 20 ms of CPU each: 8 work orders started at once queued behind it). Safe
    because workflow modules have no state or side effects at import."""
    return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_all_modules())


def build_workers(client: Client, settings: Settings, store: Store, extra: WorkerParts) -> list[Worker]:
    """A worker on the shared queue (workflows + unpinned activities) and one on this worker's own queue."""
    acts = WorkOrderActivities(settings, store, worker_queue_name(settings), redactor_for(settings))
    activities: list[Callable[..., Any]] = [
        acts.prepare,
        acts.run_step,
        acts.record_gate,
        acts.end_loop_iteration,
        acts.set_status,
        acts.finish,
        acts.finish_here,
        *call_activities(acts),
        *gate_activities(acts),
    ]
    shared = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[WorkOrderWorkflow, *extra.workflows],
        workflow_runner=workflow_runner(),
        activities=[*activities, *extra.activities],
        max_concurrent_activities=settings.worker_slots,
        max_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
    )
    pinned = Worker(
        client,
        task_queue=worker_queue_name(settings),
        activities=activities,
        max_concurrent_activities=settings.worker_slots,
        max_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
    )
    return [shared, pinned]


@dataclass
class Engine:
    settings: Settings
    store: Store
    client: Client
    temporal_address: str
    devserver: DevServer | None


async def _start_devserver(settings: Settings, persistent: bool) -> DevServer:
    """The embedded dev server, supervised. A persistent one takes the port it had last time when
    that is free, so that workers still connected to it (`shipyard worker`) find it again."""
    port_file = settings.data_dir / "temporal.port"
    previous = None
    if persistent and port_file.exists():
        with contextlib.suppress(ValueError):
            previous = int(port_file.read_text().strip())
    db_path = settings.data_dir / "temporal.db" if persistent else None
    devserver = DevServer(db_path, log_path=settings.data_dir / "temporal.log", port=previous)
    await devserver.start()
    devserver.supervise()
    if persistent:
        port_file.write_text(f"{devserver.port}\n")
    return devserver


def _keep_tidy(settings: Settings, store: Store, client: Client, stack: contextlib.AsyncExitStack) -> None:
    """gc's sweep, and the more frequent recording of ends the store missed, until the stack closes."""
    every_s = min(settings.gc_interval_s, reconcile.EVERY_S)
    for job in (sweep_forever(settings, store, client), reconcile.reconcile_forever(store, client, every_s)):
        stack.callback(asyncio.create_task(job).cancel)


async def _stop(task: asyncio.Task[None]) -> None:
    """Cancel a job and wait for it to have tidied up."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@contextlib.asynccontextmanager
async def open_engine(
    settings: Settings,
    *,
    persistent: bool = True,
    run_worker: bool = True,
    parts: PartsFactory | None = None,
    tidy: bool | None = None,
) -> AsyncIterator[Engine]:
    """Store (migrated), Temporal (given address or an embedded dev server) and, optionally, workers
    that also run what `parts` adds.

    `persistent=False` keeps an embedded Temporal in memory (an embedded `shipyard run`). `tidy`
    (default: where a worker runs) sweeps ended work orders' sandboxes and records missed ends.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    async with contextlib.AsyncExitStack() as stack:
        store = await Store.open(settings.resolved_database_url)
        stack.push_async_callback(store.close)
        devserver = None
        address = settings.temporal_address
        if address is None:
            devserver = await _start_devserver(settings, persistent)
            stack.push_async_callback(devserver.stop)
            address = devserver.address
        client = await connect(address, settings.temporal_namespace)
        if run_worker:
            extra = parts(settings, store, client) if parts else WorkerParts()
            for worker in build_workers(client, settings, store, extra):
                await stack.enter_async_context(worker)
            for job in extra.jobs:
                stack.push_async_callback(_stop, asyncio.create_task(job()))
        if (run_worker if tidy is None else tidy) and settings.gc_interval_s > 0:
            _keep_tidy(settings, store, client, stack)
        log.info("engine_started", temporal=address, worker=run_worker)
        yield Engine(settings, store, client, address, devserver)
