"""Control routes: steer a running work order (Temporal signals)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from shipyard.api.deps import ServiceDep, WorkOrderDep
from shipyard.api.schemas import AgentWorkOrderResponse
from shipyard.domain.models import (
    ApproveRequest,
    InterruptAction,
    InterruptRequest,
    PromptRequest,
    RetryRequest,
)

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


@router.post("/{work_order_id}/retry")
async def retry(
    wo: WorkOrderDep, service: ServiceDep, req: RetryRequest | None = None
) -> AgentWorkOrderResponse:
    """Run a failed or cancelled work order again from its failed step (or `step_id`)."""
    return AgentWorkOrderResponse.of(await service.retry(wo, req or RetryRequest()))


class PromptResponse(BaseModel):
    agent_work_order_id: str
    prompt_accepted: bool
    message: str


@router.post("/{work_order_id}/prompt")
async def prompt(req: PromptRequest, wo: WorkOrderDep, service: ServiceDep) -> PromptResponse:
    """Send the agent a follow-up; it runs after the current step, resuming the agent's session."""
    await service.prompt(wo, req)
    message = "prompt queued: the agent gets it when the current step ends"
    return PromptResponse(agent_work_order_id=wo.id, prompt_accepted=True, message=message)


class GateResponse(BaseModel):
    agent_work_order_id: str
    step_id: str
    message: str


@router.post("/{work_order_id}/approve")
async def approve(wo: WorkOrderDep, service: ServiceDep, req: ApproveRequest | None = None) -> GateResponse:
    """Let a work order waiting at a gate go on; `response` becomes the gate step's output."""
    step_id = await service.answer_gate(wo, (req or ApproveRequest()).response)
    return GateResponse(agent_work_order_id=wo.id, step_id=step_id, message=f"gate '{step_id}' approved")


@router.post("/{work_order_id}/advance")
async def advance(wo: WorkOrderDep, service: ServiceDep) -> GateResponse:
    """Go past the gate a work order waits at without approving it (the step is skipped)."""
    step_id = await service.answer_gate(wo, None)
    return GateResponse(agent_work_order_id=wo.id, step_id=step_id, message=f"gate '{step_id}' skipped")
