"""Work-order routes (seed 003's endpoints under /api)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Query, Response
from fastapi.responses import PlainTextResponse

from shipyard.api.deps import ServiceDep, WorkOrderDep
from shipyard.api.schemas import (
    AgentWorkOrder,
    AgentWorkOrderList,
    AgentWorkOrderResponse,
    CommitEntry,
    GitProgressSnapshot,
    LogEntries,
    PhaseEntry,
    StepList,
    WorkOrderPlan,
)
from shipyard.domain.jsontext import MAX_SQL_INT
from shipyard.domain.models import CreateWorkOrderRequest, WorkOrderStatus
from shipyard.domain.work_orders import BranchProgress, Step
from shipyard.gitutil.progress import GitProgress

router = APIRouter(prefix="/api/agent-work-orders", tags=["work orders"])


@router.post(
    "",
    status_code=201,
    response_model=None,
    responses={
        201: {"model": AgentWorkOrderResponse, "description": "The work order, created and started."},
        200: {"model": WorkOrderPlan, "description": "`dry_run`: its plan; nothing was created."},
    },
)
async def create_work_order(
    req: CreateWorkOrderRequest, service: ServiceDep, response: Response
) -> AgentWorkOrderResponse | WorkOrderPlan:
    if req.dry_run:
        checked, plan = await service.plan(req)
        response.status_code = 200
        return WorkOrderPlan.of(checked, plan)
    record = await service.create(req)
    return AgentWorkOrderResponse.of(await service.get(record.id), children=[])


@router.get("")
async def list_work_orders(
    service: ServiceDep,
    status: WorkOrderStatus | None = None,
    repository: str | None = Query(None, description="Only work orders on this repository_url."),
    q: str | None = Query(
        None, description="Text in the id, workflow, repository, branch, error or latest commit message."
    ),
    parent_id: str | None = Query(None, description="Only the children of this work order."),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_SQL_INT),
) -> AgentWorkOrderList:
    rows, total = await service.search(
        status=status, repository=repository, search=q, parent_id=parent_id, limit=limit, offset=offset
    )
    items = [AgentWorkOrder.of(r) for r in rows]
    return AgentWorkOrderList(agent_work_orders=items, total_count=total, has_more=offset + len(rows) < total)


@router.get("/{work_order_id}")
async def get_work_order(wo: WorkOrderDep, service: ServiceDep) -> AgentWorkOrderResponse:
    children = [child.id for child in await service.children(wo.id)]
    return AgentWorkOrderResponse.of(wo, children)


@router.get("/{work_order_id}/steps")
async def list_steps(wo: WorkOrderDep, service: ServiceDep) -> StepList:
    return StepList(agent_work_order_id=wo.id, steps=await service.steps(wo.id))


@router.get("/{work_order_id}/logs")
async def get_logs(
    wo: WorkOrderDep,
    service: ServiceDep,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_SQL_INT),
) -> LogEntries:
    events, total = await service.events(wo.id, limit=limit, offset=offset)
    entries = [LogEntries.entry(e) for e in events]
    return LogEntries(
        agent_work_order_id=wo.id,
        log_entries=entries,
        total_count=total,
        has_more=offset + len(events) < total,
    )


@router.get("/{work_order_id}/git-progress")
async def get_git_progress(wo: WorkOrderDep, service: ServiceDep) -> GitProgressSnapshot:
    stats = await service.git_progress(wo)
    steps = await service.steps(wo.id)
    return GitProgressSnapshot(
        agent_work_order_id=wo.id,
        current_phase=wo.current_phase,
        **BranchProgress.of(stats).fields(),
        snapshot_timestamp=datetime.now(UTC),
        phase_history=phase_history(steps, stats),
        commits=[CommitEntry.model_validate(c.model_dump()) for c in stats.commits],
    )


@router.get("/{work_order_id}/diff", response_class=PlainTextResponse)
async def get_diff(wo: WorkOrderDep, service: ServiceDep) -> str:
    return await service.diff(wo)


def phase_history(steps: list[Step], stats: GitProgress) -> list[PhaseEntry]:
    """One entry per phase in order: when its first step started, its last ended, its commits."""
    entries: dict[str, PhaseEntry] = {}
    for step in steps:
        if not step.phase or step.started_at is None:
            continue
        entry = entries.setdefault(
            step.phase,
            PhaseEntry(phase=step.phase, started_at=step.started_at, completed_at=None, commits=0),
        )
        entry.completed_at = step.completed_at
    for commit in stats.commits:
        if commit.phase in entries:
            entries[commit.phase].commits += 1
    return list(entries.values())
