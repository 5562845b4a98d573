"""A deployment as a Temporal workflow: begin (the forge's deployment, `in_progress`, the deploy
work order recorded), run that work order as a child `WorkOrder` workflow, end (success or
failure; on success the environment's earlier live deployment becomes inactive, or rolled back).
A worker lost at any point resumes there: each activity finds what an earlier attempt made."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from shipyard.engine.types import StartWorkOrderInput, WorkOrderOutcome
    from shipyard.engine.workflows import WorkOrderWorkflow, failure_message

_TIMEOUT = timedelta(minutes=5)
_DOCKER_TIMEOUT = timedelta(hours=1, minutes=5)  # a health check may take up to an hour
_RETRIES = RetryPolicy(maximum_attempts=5, initial_interval=timedelta(seconds=1))


class DeployStart(BaseModel):
    """How the deployment goes: through the Docker engine (`docker`), or by the deploy work order,
    with the input to start it (none when it ran already)."""

    work_order_id: str = ""
    start: StartWorkOrderInput | None = None
    docker: bool = False


class DeployEnd(BaseModel):
    deployment_id: str
    error: str | None = None  # why the deploy did not complete; None: it did
    docker: bool = False  # `error` alone decides (the engine deployed it, or nothing could be done)


@workflow.defn(name="Deployment")
class DeploymentWorkflow:
    @workflow.run
    async def run(self, deployment_id: str) -> str:
        docker, error = False, None
        try:
            begun: DeployStart = await workflow.execute_activity(
                "deploy_begin", deployment_id, result_type=DeployStart, start_to_close_timeout=_TIMEOUT,
                retry_policy=_RETRIES,
            )  # fmt: skip
            docker = begun.docker
            error = await self._deploy(deployment_id, begun)
        except ActivityError as err:  # what could not be done is the deployment's failure
            error = failure_message(err)
        ended = DeployEnd(deployment_id=deployment_id, error=error, docker=docker or error is not None)
        status: str = await workflow.execute_activity(
            "deploy_end", ended, result_type=str, start_to_close_timeout=_TIMEOUT, retry_policy=_RETRIES
        )
        return status

    async def _deploy(self, deployment_id: str, begun: DeployStart) -> str | None:
        """Deploy through the engine or by the work order; why it failed, or None."""
        if begun.docker:
            said: str = await workflow.execute_activity(
                "deploy_docker", deployment_id, result_type=str, start_to_close_timeout=_DOCKER_TIMEOUT,
                retry_policy=_RETRIES,
            )  # fmt: skip
            return said or None
        if begun.start is None:  # it ran before this attempt: deploy_end reads how it ended
            return None
        try:
            outcome: WorkOrderOutcome = await workflow.execute_child_workflow(
                WorkOrderWorkflow.run,
                begun.start,
                id=begun.work_order_id,
                task_queue=begun.start.task_queue,
                parent_close_policy=ParentClosePolicy.REQUEST_CANCEL,
            )
        except ChildWorkflowError as err:
            return f"work order {begun.work_order_id}: {failure_message(err)}"
        if outcome.status.value != "completed":
            return f"work order {begun.work_order_id} {outcome.status.value}: {outcome.error or ''}"
        return None
