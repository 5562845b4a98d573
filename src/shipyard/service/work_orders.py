"""WorkOrderService: create, read and inspect work orders. The API and the CLI both go through it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from shipyard.config import Settings
from shipyard.domain.errors import Conflict, InvalidInput, NotFound, ShipyardError, Unavailable
from shipyard.domain.ids import new_work_order_id
from shipyard.domain.metrics import Finished, Metrics, bucket_of, compute_metrics
from shipyard.domain.models import (
    CreateWorkOrderRequest,
    InterruptAction,
    InterruptRequest,
    PromptRequest,
    RetryRequest,
    WorkOrderStatus,
)
from shipyard.domain.work_orders import WorkOrder, WorkOrderChange
from shipyard.engine.devserver import TemporalWatch
from shipyard.engine.sink import sink_for
from shipyard.engine.types import StartWorkOrderInput
from shipyard.forge.base import RepositoryCheck
from shipyard.forge.registry import forge_for, hosted_forge_for
from shipyard.gitutil import diff, progress
from shipyard.gitutil.progress import GitProgress
from shipyard.sandboxes.registry import build_sandbox
from shipyard.service.creation import check_retryable, record_work_order, retry_input, retrying
from shipyard.service.reads import WorkOrderReads
from shipyard.service.requests import CheckedRequest, check_request, exists, local_repository
from shipyard.store.records import NewEvent
from shipyard.store.store import Store
from shipyard.workflows.plan import WorkflowPlan, plan_workflow

TEMPORAL_DOWN = "Temporal is not answering (restarting, or down); nothing was changed: try again shortly"
_UNREACHABLE = (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED)
RETRY_WAIT_S = 10.0  # how long a retry waits for the previous run's workflow to close


@contextlib.contextmanager
def engine_calls(work_order_id: str) -> Iterator[None]:
    """Temporal's refusals in words: Unavailable when it does not answer, Conflict when it answers no."""
    try:
        yield
    except RPCError as err:
        if err.status in _UNREACHABLE:
            raise Unavailable(TEMPORAL_DOWN) from err
        raise Conflict(f"work order {work_order_id}: Temporal refused: {err.message}") from err


class WorkOrderService(WorkOrderReads):
    """Validates requests up front, records work orders and starts their workflows."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        client: Client | None,
        temporal_watch: TemporalWatch | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.client = client
        self.temporal_watch = temporal_watch

    async def create(
        self,
        req: CreateWorkOrderRequest,
        *,
        trigger: dict[str, Any] | None = None,
        comment_id: str | None = None,
        branch: str | None = None,
        work_order_id: str | None = None,
    ) -> WorkOrder:
        """Validate, record and start a work order; `trigger` records what started it (a webhook),
        `comment_id` the issue comment it is to keep up to date (ChatOps' answer), `branch` an
        earlier work order's branch to continue on (a follow-up on the same issue). With
        `work_order_id` (derived from what started it) creating it again is creating it once."""
        if self.client is None:
            raise Conflict("this process has no engine; start `shipyard serve` to run work orders")
        self._engine_answers()
        recorded = await record_work_order(
            self.settings,
            self.store,
            req,
            work_order_id or new_work_order_id(),
            trigger=trigger,
            comment_id=comment_id,
            branch=branch,
        )
        record = recorded.work_order
        if recorded.created or record.status is WorkOrderStatus.PENDING:  # recorded, maybe never started
            try:
                await self._start_workflow(record.id, recorded.start)
            except Unavailable:
                if recorded.created:  # nothing refers to it yet: the caller tries again, or the delivery
                    await self.store.forget_work_order(record.id)
                raise
        return record

    async def plan(self, req: CreateWorkOrderRequest) -> tuple[CheckedRequest, WorkflowPlan]:
        """What `create` would start, checked as it checks it (the same errors), with nothing
        recorded or started: no engine is needed."""
        checked = await check_request(self.settings, self.store, req)
        if checked.definition is None or checked.bound is None:
            raise Conflict(
                f"workflow '{req.workflow_type}' is not built in, so it would be read from the"
                f" .shipyard/workflows of {checked.repository_url} once it is cloned: a dry run cannot"
                " show it; pass the definition itself (workflow_definition, or --workflow-file)"
            )
        known = {"repository_url": checked.repository_url, "base_branch": req.base_branch}
        plan = plan_workflow(
            checked.definition,
            checked.bound,
            agent=checked.agent,
            work_order={key: value for key, value in known.items() if value is not None},
            repo_path=local_repository(checked.repository_url),
        )
        return checked, plan

    def _engine_answers(self) -> None:
        """Unavailable while the embedded Temporal restarts: answered at once, before anything is
        recorded (a call to it would wait out the client's retries, then fail)."""
        if self.temporal_watch is not None and self.temporal_watch.state != "ok":
            raise Unavailable(TEMPORAL_DOWN)

    async def verify_repository(self, url: str) -> tuple[RepositoryCheck, str | None]:
        """Whether Shipyard can work on the repository (a local path or a hosted forge's URL), and if
        not, why; InvalidInput when `url` names neither."""
        path = local_repository(url)
        if path is not None and exists(path):
            return await forge_for("local", self.settings, url, self.store).check_repository()
        forge = hosted_forge_for(self.settings, url)
        if forge is None:
            raise InvalidInput(f"'{url}' is neither a local directory nor a GitHub repository URL")
        return await forge.check_repository()

    async def _start_workflow(self, work_order_id: str, start: StartWorkOrderInput) -> None:
        assert self.client is not None
        try:
            await self.client.start_workflow(
                "WorkOrder",
                start,
                id=work_order_id,
                task_queue=self.settings.task_queue,
                # Where this process runs a worker, the start's answer carries the first workflow
                # task: one poll fewer (bench/hops.py); elsewhere the server dispatches as usual.
                request_eager_start=True,
            )
        except WorkflowAlreadyStartedError:
            return  # an earlier attempt at the same work started it
        except RPCError as err:
            if err.status in _UNREACHABLE:
                raise Unavailable(TEMPORAL_DOWN) from err
            await self._start_failed(work_order_id, err)
        except Exception as err:
            await self._start_failed(work_order_id, err)

    async def _start_failed(self, work_order_id: str, err: Exception) -> None:
        """Temporal answered, and refused: the work order fails, saying why, in its log too (where
        a follower of its events learns that it ended)."""
        message = f"could not start the workflow: {err}"
        failed = WorkOrderChange(status=WorkOrderStatus.FAILED, error_message=message)
        said = NewEvent("workflow.failed", {"error": message}, "error")
        await self.store.update_work_order_saying(work_order_id, failed, said)
        raise ShipyardError(message) from err

    async def retry(self, wo: WorkOrder, req: RetryRequest) -> WorkOrder:
        """Run a failed or cancelled work order again from a step, keeping what completed before it
        (a call step's children that completed are kept too, those that did not are retried)."""
        if self.client is None:
            raise Conflict("this process has no engine; start `shipyard serve` to retry work orders")
        check_retryable(wo)
        start = await retry_input(self.settings, self.store, wo, req.step_id)
        self._engine_answers()
        await self._previous_run_closed(wo.id)
        await self.store.update_work_order(wo.id, retrying())
        try:
            await self._start_workflow(wo.id, start)
        except Unavailable:
            as_was = WorkOrderChange(status=wo.status, error_message=wo.error_message)
            await self.store.update_work_order(wo.id, as_was)
            raise
        return await self.store.get_work_order(wo.id)

    async def _previous_run_closed(self, work_order_id: str) -> None:
        """Wait for the work order's last workflow run to close. Its end is stored just before the
        run closes, so a retry sent at once could find the run still open, and Temporal would
        refuse the new run's id (a retry lost: the work order stayed pending until gc failed it
        again). Conflict if it stays open past RETRY_WAIT_S."""
        assert self.client is not None
        handle = self.client.get_workflow_handle(work_order_id)
        deadline = time.monotonic() + RETRY_WAIT_S
        while True:
            try:
                described = await handle.describe()
            except RPCError as err:
                if err.status == RPCStatusCode.NOT_FOUND:
                    return  # no run left (the history's retention passed)
                if err.status in _UNREACHABLE:
                    raise Unavailable(TEMPORAL_DOWN) from err
                raise
            if described.status != WorkflowExecutionStatus.RUNNING:
                return
            if time.monotonic() >= deadline:
                raise Conflict(
                    f"work order {work_order_id} has ended but its workflow has not closed after "
                    f"{RETRY_WAIT_S:g} s; try the retry again shortly"
                )
            await asyncio.sleep(0.05)

    async def interrupt(self, wo: WorkOrder, req: InterruptRequest) -> str:
        """Signal pause, resume or cancel; raise Conflict when the work order's state forbids it."""
        if self.client is None:
            raise Conflict("this process has no engine; start `shipyard serve` to control work orders")
        action = req.action.value
        if wo.status.is_terminal:
            raise Conflict(f"work order {wo.id} is {wo.status.value}; it cannot {action}")
        handle = self.client.get_workflow_handle(wo.id)
        if req.action == InterruptAction.PAUSE and wo.status == WorkOrderStatus.PAUSED:
            raise Conflict(f"work order {wo.id} is already paused")
        if req.action == InterruptAction.RESUME and not await self._pause_held(handle, wo):
            raise Conflict(f"work order {wo.id} is not paused")
        self._engine_answers()
        with engine_calls(wo.id):
            await handle.signal(action, req.reason)
        return {
            InterruptAction.PAUSE: "pause requested: it takes effect when the running step ends",
            InterruptAction.RESUME: "resumed",
            InterruptAction.CANCEL: "cancel requested: the running step is being stopped",
        }[req.action]

    async def prompt(self, wo: WorkOrder, req: PromptRequest) -> None:
        """Queue a follow-up for the agent; it runs when the current step ends."""
        if self.client is None:
            raise Conflict("this process has no engine; start `shipyard serve` to prompt work orders")
        if wo.status.is_terminal:
            raise Conflict(f"work order {wo.id} is {wo.status.value}; it takes no more prompts")
        self._engine_answers()
        with engine_calls(wo.id):
            await self.client.get_workflow_handle(wo.id).signal("prompt", req.prompt_text)
        await sink_for(self.settings, self.store, wo).emit("agent.prompt_queued", {"prompt": req.prompt_text})

    async def answer_gate(self, wo: WorkOrder, response: str | None) -> str:
        """Approve the gate a work order waits at (`response` None: advance past it); its step id."""
        if self.client is None:
            raise Conflict("this process has no engine; start `shipyard serve` to approve work orders")
        if wo.status.is_terminal:
            raise Conflict(f"work order {wo.id} is {wo.status.value}; it waits at no gate")
        handle = self.client.get_workflow_handle(wo.id)
        gate = (await self._state(handle, wo)).get("gate")
        if not gate:
            raise Conflict(f"work order {wo.id} is not waiting at a gate")
        with engine_calls(wo.id):
            if response is None:
                await handle.signal("advance")
            else:
                await handle.signal("approve", response)
        return str(gate)

    async def _state(self, handle: WorkflowHandle[Any, Any], wo: WorkOrder) -> dict[str, Any]:
        self._engine_answers()
        with engine_calls(wo.id):
            state: dict[str, Any] = await handle.query("state")
        return state

    async def _pause_held(self, handle: WorkflowHandle[Any, Any], wo: WorkOrder) -> bool:
        if wo.status == WorkOrderStatus.PAUSED:
            return True
        return bool((await self._state(handle, wo)).get("paused"))

    async def abandon(self, work_order_id: str, reason: str) -> None:
        """Mark a work order no engine will finish as cancelled, and remove its working tree."""
        abandoned = WorkOrderChange(status=WorkOrderStatus.CANCELLED, error_message=reason)
        said = NewEvent("workflow.cancelled", {"error": reason}, "warning")
        await self.store.update_work_order_saying(work_order_id, abandoned, said)
        wo = await self.store.get_work_order(work_order_id)
        if wo.sandbox is not None:
            await build_sandbox(wo.sandbox.sandbox_type, self.settings).cleanup(wo.sandbox)

    async def metrics(self, bucket: str = "day") -> Metrics:
        """Figures over the newest finished work orders (seed 004's dashboard stats), over time
        per `bucket` (day or week; InvalidInput else)."""
        size = bucket_of(bucket)
        rows = await self.store.finished_work_orders()
        return compute_metrics((Finished.of(wo) for wo in rows), size)

    async def git_progress(self, wo: WorkOrder) -> GitProgress:
        repo, base_sha, ref = self._git_location(wo)
        return await progress(repo, base_sha, ref)

    async def diff(self, wo: WorkOrder) -> str:
        repo, base_sha, ref = self._git_location(wo)
        return await diff(repo, base_sha, ref)

    def _git_location(self, wo: WorkOrder) -> tuple[Path, str, str]:
        """Where the branch can be read: the working tree while it exists, else the mirror."""
        if not wo.sandbox:
            raise NotFound(f"work order {wo.id} has no branch yet")
        handle = wo.sandbox
        if Path(handle.path).exists():
            return Path(handle.path), handle.base_sha, "HEAD"
        mirror = handle.extra.get("mirror")
        if mirror and Path(mirror).exists():
            return Path(mirror), handle.base_sha, f"refs/heads/{handle.branch}"
        local = local_repository(handle.repository_url)
        if local is not None and local.exists():
            return local, handle.base_sha, f"refs/heads/{handle.branch}"
        raise NotFound(f"the branch of work order {wo.id} is no longer on this machine")
