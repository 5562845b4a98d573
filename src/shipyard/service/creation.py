"""A work order recorded from a request, and the input its workflow starts (or a retry starts again)
with: what the service's create and retry do before they start the workflow, and what a call step
does for each child it starts (or retries in place)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.config import Settings
from shipyard.domain.budget import Budget
from shipyard.domain.errors import Conflict, InvalidInput
from shipyard.domain.ids import branch_name
from shipyard.domain.models import CreateWorkOrderRequest, StepStatus, WorkOrderStatus
from shipyard.domain.work_orders import Step, WorkOrder, WorkOrderChange, WorkOrderCreate
from shipyard.engine.types import StartWorkOrderInput, StepOutput
from shipyard.service.requests import PULL_REQUEST_INPUTS, CheckedRequest, check_request
from shipyard.store.store import Store
from shipyard.workflows.loader import bind_inputs
from shipyard.workflows.schema import WorkflowDefinition


@dataclass
class Recorded:
    """The work order as recorded; whether by this call (else an earlier attempt at the same work
    recorded it); the input its workflow starts with."""

    work_order: WorkOrder
    created: bool
    start: StartWorkOrderInput


async def record_work_order(
    settings: Settings,
    store: Store,
    req: CreateWorkOrderRequest,
    work_order_id: str,
    *,
    trigger: dict[str, Any] | None = None,
    comment_id: str | None = None,
    branch: str | None = None,
    parent_id: str | None = None,
    workflows_from: Path | None = None,
) -> Recorded:
    """Check `req` (InvalidInput saying what is wrong), record the work order and build its start.
    `workflows_from`: the working tree a workflow named by `req` is looked up in (a call's parent's),
    instead of the local repository's."""
    checked = await check_request(settings, store, req, workflows_from=workflows_from)
    definition = checked.definition
    title = req.title or str(checked.inputs.get("prompt") or (definition.name if definition else ""))
    record, created = await _record(
        store,
        WorkOrderCreate(
            id=work_order_id,
            repository_url=checked.repository_url,
            workflow_type=definition.name if definition else (req.workflow_type or ""),
            sandbox_type=checked.sandbox_type,
            agent=checked.agent,
            inputs=checked.inputs,
            base_branch=checked.base_branch,
            github_issue_number=req.github_issue_number,
            parent_id=parent_id,
            git_branch_name=branch or checked.branch or branch_name(work_order_id, title),
            budget=checked.budget.model_dump(mode="json") if checked.budget else None,
            project_id=checked.project.id if checked.project else None,
            forge=checked.forge,
            trigger=trigger,
            github_comment_id=comment_id,
            definition=definition.model_dump(mode="json") if definition else None,
        ),
    )
    return Recorded(record, created, _first_start(settings, record, checked))


async def _record(store: Store, data: WorkOrderCreate) -> tuple[WorkOrder, bool]:
    """The work order recorded, and whether by this call: one with the same id and trigger
    was recorded by an earlier attempt at the same work (a delivery processed again)."""
    try:
        return await store.create_work_order(data), True
    except Conflict:
        existing = await store.get_work_order(data.id)
        if data.trigger is None or existing.trigger != data.trigger:
            raise
        return existing, False


def _first_start(settings: Settings, record: WorkOrder, req: CheckedRequest) -> StartWorkOrderInput:
    if req.definition is not None and req.bound is not None:
        return start_input(settings, record, req.bound, definition=req.definition, budget=req.budget)
    # Named by a workflow of the remote repository: resolved once it is cloned.
    return start_input(settings, record, req.inputs, implicit_inputs=req.implicit, budget=req.budget)


def start_input(
    settings: Settings, record: WorkOrder, inputs: dict[str, Any], **extra: Any
) -> StartWorkOrderInput:
    """The input a work order's workflow starts (or a retry starts again) with."""
    return StartWorkOrderInput(
        work_order_id=record.id,
        workflow_name=record.workflow_type or None,
        repository_url=record.repository_url,
        branch=record.git_branch_name or branch_name(record.id),
        sandbox_type=record.sandbox_type,
        agent=record.agent,
        inputs=inputs,
        base_branch=record.base_branch,
        task_queue=settings.task_queue,
        heartbeat_timeout_s=settings.heartbeat_timeout_s,
        step_timeout_s=settings.step_timeout_s,
        work_order_timeout_s=settings.work_order_timeout_s,
        **extra,
    )


def check_retryable(wo: WorkOrder) -> None:
    """Conflict unless `wo` failed or was cancelled: only those run again."""
    if wo.status not in (WorkOrderStatus.FAILED, WorkOrderStatus.CANCELLED):
        state = f"work order {wo.id} is {wo.status.value}"
        raise Conflict(f"{state}; only failed or cancelled ones can be retried")


async def retry_input(
    settings: Settings, store: Store, wo: WorkOrder, step_id: str | None = None
) -> StartWorkOrderInput:
    """The input `wo`'s workflow starts again with: from `step_id`, else its first step that did not
    complete, the outputs of the steps before it kept. Conflict when there is nothing to run again."""
    if wo.definition is None:
        raise Conflict(f"work order {wo.id} failed before its workflow was resolved; start a new one")
    definition = WorkflowDefinition.model_validate(wo.definition)
    rows = {row.step_id: row for row in await store.list_steps(wo.id)}
    start_at = retry_start(definition, rows, step_id, wo.id)
    ids = [step.id for step in definition.steps]
    previous = {sid: step_output(rows[sid]) for sid in ids[: ids.index(start_at)] if sid in rows}
    # Filled in at creation (a workflow that declares none of them ignores them).
    implicit = (["issue", "prompt"] if wo.github_issue_number else []) + list(PULL_REQUEST_INPUTS)
    return start_input(
        settings,
        wo,
        bind_inputs(definition, wo.inputs, implicit),
        definition=definition,
        start_at=start_at,
        previous=previous,
        budget=Budget.model_validate(wo.budget) if wo.budget else None,
    )


def retrying() -> WorkOrderChange:
    """A retried work order as it waits for its workflow: pending, its last end forgotten."""
    return WorkOrderChange(status=WorkOrderStatus.PENDING, error_message=None, execution_completed_at=None)


def retry_start(
    definition: WorkflowDefinition, rows: dict[str, Step], step_id: str | None, work_order_id: str
) -> str:
    """The step a retry starts from: the one named, else the first that did not complete."""
    ids = [step.id for step in definition.steps]
    if step_id is not None:
        if step_id not in ids:
            raise InvalidInput(
                f"step '{step_id}' is not in workflow {definition.name}; its steps: {', '.join(ids)}"
            )
        return step_id
    done = (StepStatus.COMPLETED, StepStatus.SKIPPED)
    for sid in ids:
        if sid not in rows or rows[sid].status not in done:
            return sid
    raise Conflict(f"every step of work order {work_order_id} completed; name a step to run again")


def step_output(row: Step) -> StepOutput:
    """A stored step as later steps' templates see it (structured outputs as the data they were)."""
    return StepOutput.recorded(row)
