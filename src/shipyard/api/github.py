"""POST /api/github/verify-repository (seed 003's request and response),
POST /api/github/dispatch (an outbound repository_dispatch, sent at most once per dispatch id) and
GET /api/repos (seed 002: the repositories the GitHub App's recorded installations reach)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from shipyard.api.deps import GitHubAppDep, ServiceDep
from shipyard.domain.models import RequestModel
from shipyard.forge.models import RepositoryCheck
from shipyard.service.dispatch import DispatchRequest, send_dispatch
from shipyard.service.github_app import ReachableRepositories

router = APIRouter(prefix="/api/github", tags=["github"])
repos_router = APIRouter(prefix="/api", tags=["github"])


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


@repos_router.get("/repos")
async def list_repositories(github_app: GitHubAppDep) -> ReachableRepositories:
    """Every repository the GitHub App's installations (recorded by /auth/github-app/callback) can
    reach, and the installations; one whose repositories GitHub would not list carries `error`.
    409 when no GitHub App is configured."""
    return await github_app.reachable()
