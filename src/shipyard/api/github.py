"""POST /api/github/verify-repository (seed 003's request and response)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from shipyard.api.deps import ServiceDep
from shipyard.forge.github import RepositoryCheck

router = APIRouter(prefix="/api/github", tags=["github"])


class VerifyRepositoryRequest(BaseModel):
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
