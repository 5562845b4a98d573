"""A work order recorded from a request, and the input its workflow starts with: what the service's
create does before it starts the workflow, and what a call step does for each child it starts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.config import Settings
from shipyard.domain.errors import Conflict
from shipyard.domain.ids import branch_name
from shipyard.domain.models import CreateWorkOrderRequest
from shipyard.domain.work_orders import WorkOrder, WorkOrderCreate
from shipyard.engine.types import StartWorkOrderInput
from shipyard.service.requests import CheckedRequest, check_request
from shipyard.store.store import Store


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
            base_branch=req.base_branch,
            github_issue_number=req.github_issue_number,
            parent_id=parent_id,
            git_branch_name=branch or branch_name(work_order_id, title),
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
