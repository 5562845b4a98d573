"""POST /api/github/verify-repository (seed 003's request and response) and
POST /api/github/dispatch (an outbound repository_dispatch, sent at most once per dispatch id)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from shipyard.api.deps import ServiceDep
from shipyard.domain.models import RequestModel
from shipyard.forge.models import RepositoryCheck
from shipyard.service.dispatch import DispatchRequest, send_dispatch

router = APIRouter(prefix="/api/github", tags=["github"])


class VerifyRepositoryRequest(RequestModel):
    repository_url: str


class VerifyRepositoryResponse(BaseModel):
    repository: RepositoryCheck
    verification_success: bool
    error_message: str | None = None


@router.post("/verify-repository")
async def verify_repository(req: VerifyRepositoryRequest, service: ServiceDep) -> VerifyRepositoryResponse:
    """Owner, name, default branch and whether Shipyard can reach it (a GitHub URL or a local path)."""
    check, error = await service.verify_repository(req.repository_url)
    return VerifyRepositoryResponse(repository=check, verification_success=error is None, error_message=error)


@router.post("/dispatch", status_code=201)
async def dispatch(req: DispatchRequest, service: ServiceDep) -> JSONResponse:
    """Send a repository_dispatch with `dispatch_id` in its payload; the same id again is answered
    200 with `duplicate: true` and sends nothing."""
    record, duplicate = await send_dispatch(service, req)
    body = {"dispatch": record.model_dump(mode="json"), "duplicate": duplicate}
    return JSONResponse(body, status_code=200 if duplicate else 201)
