"""POST /api/webhooks/github: verified, stored before the answer, processed after it where a
worker runs (service/deliveries.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse

from shipyard.api.deps import ServiceDep, read_limited, require_token
from shipyard.domain.errors import InvalidInput
from shipyard.domain.jsontext import MAX_SQL_INT32
from shipyard.service import intake
from shipyard.store.records import DeliveryRecord, DeliverySummary
from shipyard.triggers.github import parse_delivery, signature_ok

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])


@router.post("/github", status_code=202)
async def github_webhook(request: Request, service: ServiceDep) -> JSONResponse:
    """Verify the signature, store the delivery (a redelivery is answered and ignored) and
    answer (GitHub waits at most 10 s); a worker's delivery processor takes it from the store."""
    secret = service.settings.github_webhook_secret
    if secret is None:
        raise HTTPException(401, "webhooks are off: set SHIPYARD_GITHUB_WEBHOOK_SECRET")
    limit = service.settings.webhook_max_bytes
    body = await read_limited(request, limit, f"the body is over {limit} bytes")
    if not signature_ok(secret.get_secret_value(), body, request.headers.get("x-hub-signature-256")):
        raise HTTPException(401, "missing or wrong X-Hub-Signature-256")
    try:
        delivery = parse_delivery(request.headers, body)
    except InvalidInput as err:
        raise HTTPException(400, err.message) from None
    record, duplicate = await intake.record_delivery(service, delivery)
    answer: dict[str, Any] = {"delivery_id": record.delivery_id, "event": record.event}
    if duplicate:
        return JSONResponse({**answer, "duplicate": True}, status_code=200)
    return JSONResponse({**answer, "accepted": True}, status_code=202)


@router.get("/deliveries", dependencies=[Depends(require_token)])
async def list_deliveries(
    service: ServiceDep, status: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> dict[str, list[DeliverySummary]]:
    """Received deliveries, newest first, with what processing made of each; without their
    payloads (`GET /api/webhooks/deliveries/{id}` has one's)."""
    return {"deliveries": await intake.list_deliveries(service, status=status, limit=limit)}


@router.get("/deliveries/{id}", dependencies=[Depends(require_token)])
async def get_delivery(
    id: Annotated[int, Path(ge=1, le=MAX_SQL_INT32)], service: ServiceDep
) -> dict[str, DeliveryRecord]:
    """One received delivery with its payload (the `id` the list gives, not GitHub's delivery GUID,
    which all hooks of an event share)."""
    return {"delivery": await intake.get_delivery(service, id)}
