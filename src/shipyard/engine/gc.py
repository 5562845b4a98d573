"""Reclaiming what work orders leave on this machine: the sandboxes of work orders that ended (or
that the store does not know), of work orders whose Temporal workflow is gone without finishing
them (a lost worker), and stale worktree records in the mirrors. Work orders whose workflow ended
while the store could not be written are first given that end (engine/reconcile.py). `shipyard gc`
runs it by hand; every worker runs it now and then (SHIPYARD_GC_INTERVAL_S)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from shipyard.config import Settings
from shipyard.domain.errors import Conflict, NotFound, SandboxError, ShipyardError
from shipyard.domain.models import WorkOrderStatus
from shipyard.domain.work_orders import WorkOrder, WorkOrderChange
from shipyard.engine.reconcile import reconcile
from shipyard.gitutil import run_git
from shipyard.sandboxes.registry import build_sandbox
from shipyard.store.records import NewEvent
from shipyard.store.store import Store

log = structlog.get_logger()
LOST = "failed: its workflow ended without finishing it (a worker lost mid-run); reclaimed by gc"


@dataclass
class Collected:
    removed: list[str] = field(default_factory=list)  # work order ids (or directory names)
    kept: list[tuple[str, str]] = field(default_factory=list)  # (work order id, why)
    marked_failed: list[str] = field(default_factory=list)
    containers: list[str] = field(default_factory=list)  # docker sandboxes' containers removed
    e2b: list[str] = field(default_factory=list)  # E2B sandboxes killed


async def collect(
    settings: Settings, store: Store, client: Client | None, dry_run: bool = False
) -> Collected:
    """Remove every sandbox no work order will use again; say which were kept and why."""
    done = Collected()
    if client is not None:  # first, so that the sandboxes of the work orders it ends go too
        done.marked_failed += await reconcile(store, client, dry_run)
    root = settings.sandboxes_dir
    entries = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    for entry in entries:
        why_kept = await _verdict(store, client, entry.name, done, dry_run)
        if why_kept:
            done.kept.append((entry.name, why_kept))
            continue
        done.removed.append(entry.name)
        if not dry_run:
            await _remove(settings, store, entry)
    if not dry_run:
        await _prune_mirrors(settings.mirrors_dir)
    await _containers(settings, store, done, dry_run)
    await _e2b_sandboxes(settings, store, done, dry_run)
    return done


async def _containers(settings: Settings, store: Store, done: Collected, dry_run: bool) -> None:
    """Remove the containers of docker sandboxes whose work orders ended or are unknown."""
    from shipyard.sandboxes.docker import CONTAINER_LABEL, engine  # the Docker SDK loads only here

    try:
        client = await asyncio.to_thread(engine, settings)
    except SandboxError:
        return  # no engine: no containers
    for container in await asyncio.to_thread(
        client.containers.list, all=True, filters={"label": CONTAINER_LABEL}
    ):
        owner = container.labels.get(CONTAINER_LABEL, "")
        with contextlib.suppress(NotFound):
            if not (await store.get_work_order(owner)).status.is_terminal:
                continue  # still running, here or on another worker of this engine
        done.containers.append(container.name)
        if not dry_run:
            await asyncio.to_thread(container.remove, force=True)


async def _e2b_sandboxes(settings: Settings, store: Store, done: Collected, dry_run: bool) -> None:
    """Kill the E2B sandboxes of work orders that ended (one whose set-up was cut short has no
    handle to be cleaned up by). Those of work orders this store does not know stay: another
    Shipyard may share the E2B account."""
    if settings.e2b_api_key is None:
        return
    from shipyard.sandboxes.e2b import E2BSandbox  # the E2B SDK loads only here

    e2b = E2BSandbox(settings)
    try:
        running = await e2b.running()
    except SandboxError as err:  # E2B unreachable: the rest of gc is done; next time, these
        log.warning("gc_e2b_unreachable", error=err.message)
        return
    for owner, sandbox_id in running:
        try:
            if not (await store.get_work_order(owner)).status.is_terminal:
                continue
        except NotFound:
            continue
        done.e2b.append(sandbox_id)
        if not dry_run:
            await e2b.kill(sandbox_id)


async def _verdict(
    store: Store, client: Client | None, name: str, done: Collected, dry_run: bool
) -> str | None:
    """None when the sandbox `name` can go; else why it stays."""
    try:
        wo = await store.get_work_order(name)
    except NotFound:
        return None  # no work order of that id: nothing will come back for it
    if wo.status.is_terminal:
        return None
    if client is None:
        return f"{wo.status.value}; Temporal was not asked (no server running)"
    if await _workflow_running(client, wo):
        return wo.status.value
    done.marked_failed.append(wo.id)
    if not dry_run:
        with contextlib.suppress(Conflict):  # it finished meanwhile
            lost = WorkOrderChange(status=WorkOrderStatus.FAILED, error_message=LOST)
            said = NewEvent("workflow.failed", {"error": LOST, "recorded_by": "gc"}, "error")
            await store.update_work_order_saying(wo.id, lost, said)
    return None


async def _workflow_running(client: Client, wo: WorkOrder) -> bool:
    try:
        described = await client.get_workflow_handle(wo.id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return described.status == WorkflowExecutionStatus.RUNNING


async def _remove(settings: Settings, store: Store, entry: Path) -> None:
    with contextlib.suppress(NotFound):
        wo = await store.get_work_order(entry.name)
        if wo.sandbox is not None:
            try:
                await build_sandbox(wo.sandbox.sandbox_type, settings).cleanup(wo.sandbox)
            except ShipyardError as err:  # the directory goes anyway, below
                log.warning("gc_cleanup_failed", work_order_id=wo.id, error=err.message)
    await asyncio.to_thread(shutil.rmtree, entry, ignore_errors=True)


async def _prune_mirrors(mirrors: Path) -> None:
    """Forget worktrees whose directories are gone (a mirror would refuse their branch otherwise)."""
    if not mirrors.is_dir():
        return
    for mirror in sorted(p for p in mirrors.iterdir() if p.is_dir()):
        await run_git("worktree", "prune", cwd=mirror)


async def sweep_forever(settings: Settings, store: Store, client: Client) -> None:
    """Collect every SHIPYARD_GC_INTERVAL_S until cancelled; failures are logged, not raised."""
    while True:
        await asyncio.sleep(settings.gc_interval_s)
        try:
            done = await collect(settings, store, client)
        except Exception as err:  # the next round tries again
            log.warning("gc_sweep_failed", error=f"{type(err).__name__}: {err}")
            continue
        if done.removed:
            log.info("gc_swept", removed=len(done.removed), marked_failed=len(done.marked_failed))
