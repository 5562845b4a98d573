"""A cluster's work (seed 004) as one Temporal workflow: its plan made by a work order of
`fix_plan` (when asked, or when a job finds none), then, for a job, the fix: a work order of `fix`
run by the job's runner, or the job handed to a remote executor and its callback waited for.
Each work order is a child `WorkOrder` workflow; what it ended as is recorded by an activity, so
the cluster's status and the job follow it even across restarts. `cancel` stops the running work
order (its agent's processes killed, its sandbox cleaned) and ends the job cancelled."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ChildWorkflowError
from temporalio.workflow import ChildWorkflowCancellationType, ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from shipyard.engine.types import WorkOrderOutcome
    from shipyard.engine.workflows import WorkOrderWorkflow, failure_message, is_cancellation
    from shipyard.plans.activities import PlanActivities
    from shipyard.plans.types import ClusterWorkInput, FixMade, RemoteReport, WorkEnded, WorkMade

_TIMEOUT = timedelta(minutes=5)
_RETRY = RetryPolicy(maximum_attempts=5, initial_interval=timedelta(seconds=1))


@workflow.defn(name="ClusterWork")
class ClusterWorkWorkflow:
    def __init__(self) -> None:
        self._cancel: str | None = None
        self._child: workflow.ChildWorkflowHandle[WorkOrderWorkflow, WorkOrderOutcome] | None = None
        self._report: RemoteReport | None = None  # a remote runner's final word

    @workflow.signal
    async def cancel(self, reason: str | None) -> None:
        self._cancel = reason or "cancelled"
        if self._child is not None and not self._child.done():
            await self._child.signal(WorkOrderWorkflow.cancel, f"job cancelled: {self._cancel}")

    @workflow.signal
    def report(self, report: RemoteReport) -> None:
        if report.status != "running":
            self._report = report

    @workflow.run
    async def run(self, inp: ClusterWorkInput) -> str:
        if inp.plan_first and not await self._plan(inp):
            return "failed"
        if inp.job_id is None:
            return "completed"
        ended = WorkEnded(
            cluster_id=inp.cluster_id, job_id=inp.job_id, work_order_id=None, status="cancelled"
        )
        if self._cancel is None:
            fix = await workflow.execute_activity_method(
                PlanActivities.start_fix, inp, start_to_close_timeout=_TIMEOUT, retry_policy=_RETRY
            )
            if fix is None:  # refused: the job says why
                return "failed"
            ended = await (self._child_work(inp, fix.work) if fix.work else self._remote(inp, fix))
        await workflow.execute_activity_method(
            PlanActivities.fix_ended, ended, start_to_close_timeout=_TIMEOUT, retry_policy=_RETRY
        )
        return ended.status

    async def _plan(self, inp: ClusterWorkInput) -> bool:
        """Make the cluster's plan; whether it was made."""
        made = await workflow.execute_activity_method(
            PlanActivities.start_plan, inp, start_to_close_timeout=_TIMEOUT, retry_policy=_RETRY
        )
        if made is None:  # refused: the cluster says why
            return False
        ended = await self._child_work(inp, made)
        return await workflow.execute_activity_method(
            PlanActivities.plan_ended, ended, start_to_close_timeout=_TIMEOUT, retry_policy=_RETRY
        )

    async def _child_work(self, inp: ClusterWorkInput, made: WorkMade) -> WorkEnded:
        """Run the work order to its end (not at all once cancelled): how it ended."""
        ended = WorkEnded(
            cluster_id=inp.cluster_id, job_id=inp.job_id, work_order_id=made.work_order_id, status="cancelled"
        )
        if self._cancel is not None:
            return ended.model_copy(update={"error": self._cancel})
        self._child = await workflow.start_child_workflow(
            WorkOrderWorkflow.run,
            made.start,
            id=made.work_order_id,
            task_queue=made.start.task_queue,
            parent_close_policy=ParentClosePolicy.REQUEST_CANCEL,
            cancellation_type=ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        try:
            outcome = await self._child
            return ended.model_copy(update={"status": outcome.status.value, "error": outcome.error})
        except ChildWorkflowError as err:
            status = "cancelled" if is_cancellation(err) else "failed"
            return ended.model_copy(update={"status": status, "error": failure_message(err)})
        finally:
            self._child = None

    async def _remote(self, inp: ClusterWorkInput, fix: FixMade) -> WorkEnded:
        """Wait for the remote executor's final callback, a cancel, or the runner's timeout."""
        ended = WorkEnded(cluster_id=inp.cluster_id, job_id=inp.job_id, work_order_id=None, status="failed")
        try:
            await workflow.wait_condition(
                lambda: self._report is not None or self._cancel is not None,
                timeout=timedelta(seconds=fix.timeout_s),
            )
        except TimeoutError:
            silent = f"runner {inp.runner}: the executor did not report an end within {fix.timeout_s:g} s"
            return ended.model_copy(update={"error": silent})
        if self._cancel is not None:
            return ended.model_copy(update={"status": "cancelled", "error": self._cancel})
        assert self._report is not None
        status = {"succeeded": "completed"}.get(self._report.status, self._report.status)
        return ended.model_copy(update={"status": status, "error": self._report.error})
