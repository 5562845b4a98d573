"""Control routes: steer a running work order (Temporal signals)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from shipyard.api.deps import ServiceDep, WorkOrderDep
from shipyard.domain.models import InterruptAction, InterruptRequest

router = APIRouter(prefix="/api/agent-work-orders", tags=["control"])


class InterruptResponse(BaseModel):
    agent_work_order_id: str
    action: InterruptAction
    accepted: bool
    message: str


@router.post("/{work_order_id}/interrupt")
async def interrupt(req: InterruptRequest, wo: WorkOrderDep, service: ServiceDep) -> InterruptResponse:
    """Pause (between steps), resume or cancel; 409 when the work order's state does not allow it."""
    message = await service.interrupt(wo, req)
    return InterruptResponse(agent_work_order_id=wo.id, action=req.action, accepted=True, message=message)
