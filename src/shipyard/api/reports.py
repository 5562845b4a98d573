"""What a sandbox sends back about its own work order with its SHIPYARD_TOKEN (`shipyard report`):
events and artifacts. The API token is good here too; a sandbox token only for its own work
order, and only while that work order runs."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel, Field

from shipyard.api.deps import (
    ServiceDep,
    WorkOrderDep,
    bearer,
    count_failure,
    is_api_token,
    read_limited,
    refuse_if_throttled,
    require_token,
)
from shipyard.domain.errors import Forbidden, InvalidInput
from shipyard.domain.models import RequestModel
from shipyard.domain.tokens import sandbox_token_subject
from shipyard.domain.work_orders import WorkOrder
from shipyard.store.records import ArtifactRecord

router = APIRouter(prefix="/api/agent-work-orders", tags=["reports"])
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_LEVELS = ("debug", "info", "warning", "error")


async def reporter(
    request: Request,
    wo: WorkOrderDep,
    service: ServiceDep,
    authorization: Annotated[str | None, Header()] = None,
) -> WorkOrder:
    """The work order, once the caller has shown the API token or this work order's sandbox token."""
    refuse_if_throttled(request)
    given = bearer(authorization)
    if is_api_token(service.settings, given):
        return wo
    if not given:
        if service.settings.api_token is None:
            return wo  # an open API (loopback, no token set) is open here too
        raise Forbidden("send the work order's SHIPYARD_TOKEN (or the API token) as a bearer token")
    try:
        subject = sandbox_token_subject(service.settings.signing_key(), given)
    except Forbidden:
        count_failure(request)  # neither token: a guess at the API token counts here too
        raise
    if subject != wo.id:
        raise Forbidden(f"this sandbox token is for another work order, not {wo.id}")
    if wo.status.is_terminal:
        raise Forbidden(f"work order {wo.id} has ended ({wo.status.value}); its sandbox token with it")
    return wo


ReporterDep = Annotated[WorkOrder, Depends(reporter)]


class ReportRequest(RequestModel):
    """An event from the sandbox: it is stored as `report.<type>`."""

    type: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$", examples=["progress", "tests.summary"])
    data: dict[str, Any] = Field(default_factory=dict)
    level: str = "info"
    step_id: str | None = None


class ReportResponse(BaseModel):
    agent_work_order_id: str
    event: str


@router.post("/{work_order_id}/report", status_code=201)
async def report(req: ReportRequest, wo: ReporterDep, service: ServiceDep) -> ReportResponse:
    """Append an event to the work order (secrets redacted, as for every event)."""
    if req.level not in _LEVELS:
        raise InvalidInput(f"level must be one of {', '.join(_LEVELS)}, not '{req.level}'")
    await service.report(wo, f"report.{req.type}", req.data, req.level, req.step_id)
    return ReportResponse(agent_work_order_id=wo.id, event=f"report.{req.type}")


@router.put("/{work_order_id}/artifacts/{name}", status_code=201)
async def upload_artifact(
    name: str, request: Request, wo: ReporterDep, service: ServiceDep
) -> ArtifactRecord:
    """Store the request body as the artifact `name` (a plain file name), replacing one of that name."""
    if not _NAME.match(name):
        raise InvalidInput(f"artifact name '{name}' must be a plain file name (letters, digits, . _ -)")
    limit = service.settings.artifact_max_bytes
    content = await read_limited(
        request, limit, f"the artifact is over {limit} bytes (SHIPYARD_ARTIFACT_MAX_BYTES)"
    )
    kind = request.headers.get("content-type", "application/octet-stream")
    return await service.save_artifact(wo, name, kind, content)


@router.get("/{work_order_id}/artifacts", dependencies=[Depends(require_token)])
async def list_artifacts(wo: WorkOrderDep, service: ServiceDep) -> dict[str, list[ArtifactRecord]]:
    return {"artifacts": await service.artifacts(wo.id)}


@router.get("/{work_order_id}/artifacts/{name}", dependencies=[Depends(require_token)])
async def download_artifact(name: str, wo: WorkOrderDep, service: ServiceDep) -> Response:
    return artifact_response(*await service.read_artifact(wo.id, name))


def artifact_response(record: ArtifactRecord, content: bytes) -> Response:
    """The artifact as a download that a browser will not run (the API's and the dashboard's)."""
    headers = {
        "Content-Disposition": f'attachment; filename="{record.name}"',
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    return Response(content, media_type=safe_content_type(content), headers=headers)


def safe_content_type(content: bytes) -> str:
    """Text as plain text, anything else as bytes: never the type the uploader claimed, which a
    browser would obey (HTML, SVG with scripts) on this server's origin."""
    if b"\0" in content:
        return "application/octet-stream"
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain; charset=utf-8"
