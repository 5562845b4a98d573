"""FastAPI dependencies: the service, auth, and a work order loaded or 404."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from shipyard.engine.service import WorkOrderService
from shipyard.store.records import WorkOrderRecord


def get_service(request: Request) -> WorkOrderService:
    service: WorkOrderService = request.app.state.service
    return service


ServiceDep = Annotated[WorkOrderService, Depends(get_service)]


async def require_token(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    """Bearer-token check, when `SHIPYARD_API_TOKEN` is set."""
    token = request.app.state.service.settings.api_token
    if token is None:
        return
    given = (authorization or "").removeprefix("Bearer ").strip()
    if not secrets.compare_digest(given.encode(), token.get_secret_value().encode()):
        raise HTTPException(401, "missing or wrong bearer token")


async def get_work_order(work_order_id: str, service: ServiceDep) -> WorkOrderRecord:
    return await service.store.get_work_order(work_order_id)


WorkOrderDep = Annotated[WorkOrderRecord, Depends(get_work_order)]
