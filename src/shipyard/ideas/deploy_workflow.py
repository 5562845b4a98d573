"""A deployment as a Temporal workflow: begin (the forge's deployment, `in_progress`, the deploy
work order recorded), run that work order as a child `WorkOrder` workflow, end (success or
failure; on success the environment's earlier live deployment becomes inactive, or rolled back).
A worker lost at any point resumes there: each activity finds what an earlier attempt made."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from shipyard.engine.types import StartWorkOrderInput, WorkOrderOutcome
    from shipyard.engine.workflows import WorkOrderWorkflow, failure_message

_TIMEOUT = timedelta(minutes=5)
_RETRIES = RetryPolicy(maximum_attempts=5, initial_interval=timedelta(seconds=1))


class DeployStart(BaseModel):
    """The deploy work order: the input to start it with, or none when it ran already."""

    work_order_id: str
    start: StartWorkOrderInput | None = None


class DeployEnd(BaseModel):
    deployment_id: str
    error: str | None = None  # why the work order did not complete; None: it did


@workflow.defn(name="Deployment")
class DeploymentWorkflow:
    @workflow.run
    async def run(self, deployment_id: str) -> str:
        begun: DeployStart = await workflow.execute_activity(
            "deploy_begin", deployment_id, result_type=DeployStart, start_to_close_timeout=_TIMEOUT,
            retry_policy=_RETRIES,
        )  # fmt: skip
        error = None
        if begun.start is not None:
            try:
                outcome: WorkOrderOutcome = await workflow.execute_child_workflow(
                    WorkOrderWorkflow.run,
                    begun.start,
                    id=begun.work_order_id,
                    task_queue=begun.start.task_queue,
                    parent_close_policy=ParentClosePolicy.REQUEST_CANCEL,
                )
                if outcome.status.value != "completed":
                    error = f"work order {begun.work_order_id} {outcome.status.value}: {outcome.error or ''}"
            except ChildWorkflowError as err:
                error = f"work order {begun.work_order_id}: {failure_message(err)}"
        ended = DeployEnd(deployment_id=deployment_id, error=error)
        status: str = await workflow.execute_activity(
            "deploy_end", ended, result_type=str, start_to_close_timeout=_TIMEOUT, retry_policy=_RETRIES
        )
        return status
