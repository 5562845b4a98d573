"""WorkOrderWorkflow: interprets a resolved definition step by step as activities.

Determinism wall: this module imports only typed payloads; git, agents, sandboxes and the
database run in activities (engine/activities.py), referenced here by name.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from shipyard.domain.models import StepStatus, WorkOrderStatus
    from shipyard.engine.types import (
        FinishInput,
        PrepareResult,
        RunStepInput,
        StartWorkOrderInput,
        StepOutput,
        WorkOrderOutcome,
    )
    from shipyard.workflows.schema import StepDef

PREPARE_TIMEOUT = timedelta(minutes=30)
FINISH_TIMEOUT = timedelta(minutes=10)
# Errors that no retry can fix: bad definitions, unknown names, missing repositories.
NON_RETRYABLE = ["invalid_input", "workflow_invalid", "not_found"]
LOST_WORKER_ATTEMPTS = 3


def failure_message(err: BaseException) -> str:
    """The innermost application error's message (what the activity raised)."""
    cause: BaseException | None = err
    while isinstance(cause, ActivityError) and cause.cause is not None:
        cause = cause.cause
    return cause.message if isinstance(cause, ApplicationError) else str(cause)


@workflow.defn(name="WorkOrder")
class WorkOrderWorkflow:
    """One work order: prepare the sandbox, run each step, then finish (progress, push, cleanup)."""

    def __init__(self) -> None:
        self._current_step: str | None = None
        self._outputs: dict[str, StepOutput] = {}

    @workflow.query
    def state(self) -> dict[str, Any]:
        return {
            "current_step": self._current_step,
            "steps": {k: v.status.value for k, v in self._outputs.items()},
        }

    @workflow.run
    async def run(self, inp: StartWorkOrderInput) -> WorkOrderOutcome:
        try:
            prep = await workflow.execute_activity(
                "prepare_work_order",
                inp,
                result_type=PrepareResult,
                start_to_close_timeout=PREPARE_TIMEOUT,
                heartbeat_timeout=timedelta(seconds=inp.heartbeat_timeout_s),
                retry_policy=RetryPolicy(maximum_attempts=3, non_retryable_error_types=NON_RETRYABLE),
            )
        except ActivityError as err:
            return await self._finish(inp, None, WorkOrderStatus.FAILED, failure_message(err))
        error = await self._run_steps(inp, prep)
        status = WorkOrderStatus.FAILED if error else WorkOrderStatus.COMPLETED
        return await self._finish(inp, prep, status, error)

    async def _run_steps(self, inp: StartWorkOrderInput, prep: PrepareResult) -> str | None:
        for position, step in enumerate(prep.definition.steps):
            self._current_step = step.id
            try:
                self._outputs[step.id] = await self._run_step(inp, prep, step, position)
            except ActivityError as err:
                message = f"step '{step.id}' failed: {failure_message(err)}"
                self._outputs[step.id] = StepOutput(status=StepStatus.FAILED, error=message)
                if not step.continue_on_error:
                    return message
        self._current_step = None
        return None

    async def _run_step(
        self, inp: StartWorkOrderInput, prep: PrepareResult, step: StepDef, position: int
    ) -> StepOutput:
        timeout_s = step.timeout_s or inp.step_timeout_s
        output: StepOutput = await workflow.execute_activity(
            "run_step",
            RunStepInput(
                work_order_id=inp.work_order_id,
                handle=prep.handle,
                step=step,
                position=position,
                agent=inp.agent,
                inputs=prep.inputs,
                steps=dict(self._outputs),
                step_timeout_s=timeout_s,
            ),
            result_type=StepOutput,
            task_queue=prep.task_queue,
            # Room for the activity's own timeout to fire first and report it cleanly.
            start_to_close_timeout=timedelta(seconds=timeout_s + 60),
            heartbeat_timeout=timedelta(seconds=inp.heartbeat_timeout_s),
            # The activity marks its own failures final once `retries` is used up; the extra attempts
            # are for infrastructure: a worker that died mid-step (heartbeat timeout) is retried.
            retry_policy=RetryPolicy(
                maximum_attempts=step.retries + 1 + LOST_WORKER_ATTEMPTS,
                initial_interval=timedelta(seconds=1),
                backoff_coefficient=2.0,
                non_retryable_error_types=NON_RETRYABLE,
            ),
        )
        return output

    async def _finish(
        self,
        inp: StartWorkOrderInput,
        prep: PrepareResult | None,
        status: WorkOrderStatus,
        error: str | None,
    ) -> WorkOrderOutcome:
        await workflow.execute_activity(
            "finish_work_order",
            FinishInput(
                work_order_id=inp.work_order_id,
                status=status,
                handle=prep.handle if prep else None,
                error=error,
            ),
            task_queue=prep.task_queue if prep else inp.task_queue,
            start_to_close_timeout=FINISH_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=5),
        )
        return WorkOrderOutcome(status=status, error=error)
