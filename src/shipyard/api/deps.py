"""FastAPI dependencies: the services, auth, and a work order loaded or 404."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from shipyard.api.throttle import Throttle
from shipyard.config import Settings
from shipyard.domain.work_orders import WorkOrder
from shipyard.service.github_app import GitHubAppService
from shipyard.service.projects import ProjectService
from shipyard.service.work_orders import WorkOrderService


async def get_service(request: Request) -> WorkOrderService:
    service: WorkOrderService = request.app.state.service
    return service


ServiceDep = Annotated[WorkOrderService, Depends(get_service)]


async def get_projects(service: ServiceDep) -> ProjectService:
    return ProjectService(service)


ProjectsDep = Annotated[ProjectService, Depends(get_projects)]


async def get_github_app(service: ServiceDep) -> GitHubAppService:
    return GitHubAppService(service)


GitHubAppDep = Annotated[GitHubAppService, Depends(get_github_app)]


def bearer(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer …` header ('' when there is none)."""
    return (authorization or "").removeprefix("Bearer ").strip()


def is_api_token(settings: Settings, given: str) -> bool:
    """Whether `given` is the API token (False when none is set)."""
    token = settings.api_token
    if token is None or not given:  # an empty token set by mistake lets nobody in, not everybody
        return False
    return secrets.compare_digest(given.encode(), token.get_secret_value().encode())


def token_accepted(settings: Settings, given: str) -> bool:
    """Whether `given` lets its holder in: the API token, or anything when none is set."""
    return settings.api_token is None or is_api_token(settings, given)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def refuse_if_throttled(request: Request) -> None:
    """429 with Retry-After while the caller's address has failed too often."""
    throttle: Throttle = request.app.state.throttle
    wait_s = throttle.retry_after_s(client_address(request))
    if wait_s:
        message = f"too many wrong tokens from {client_address(request)}; try again in {wait_s} s"
        raise HTTPException(429, message, headers={"Retry-After": str(wait_s)})


def count_failure(request: Request) -> None:
    """Count a wrong token or failed sign-in against the caller's address."""
    throttle: Throttle = request.app.state.throttle
    throttle.failed(client_address(request))


def check_token(request: Request, given: str) -> bool:
    """Whether `given` lets its holder in (see `token_accepted`); a wrong one given is counted, and a
    caller that failed too often is refused (429) before its token is looked at."""
    refuse_if_throttled(request)
    settings: Settings = request.app.state.service.settings
    accepted = token_accepted(settings, given)
    if not accepted and given:
        count_failure(request)
    return accepted


async def require_token(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    """Bearer-token check, when `SHIPYARD_API_TOKEN` is set."""
    if not check_token(request, bearer(authorization)):
        raise HTTPException(401, "missing or wrong bearer token")


async def read_limited(request: Request, limit: int, too_big: str) -> bytes:
    """The request body; 413 saying `too_big` once it is over `limit` bytes (declared or streamed)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, too_big)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, too_big)
        chunks.append(chunk)
    return b"".join(chunks)


async def get_work_order(work_order_id: str, service: ServiceDep) -> WorkOrder:
    return await service.get(work_order_id)


WorkOrderDep = Annotated[WorkOrder, Depends(get_work_order)]
