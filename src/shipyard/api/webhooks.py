"""POST /api/webhooks/github: verified, stored before the answer, processed after it."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from shipyard.api.deps import ServiceDep, read_limited, require_token
from shipyard.domain.errors import InvalidInput
from shipyard.service import intake
from shipyard.service.work_orders import WorkOrderService
from shipyard.store.records import DeliveryRecord
from shipyard.triggers.github import parse_delivery, signature_ok

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])
_processing: set[asyncio.Task[None]] = set()  # held so they are not collected mid-run
# Deliveries processed at once, per event loop: processing writes to the store too, and acks (which
# must stay fast) should not queue behind a burst of them for the database's write lock.
PROCESSING_SLOTS = 4
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


@router.post("/github", status_code=202)
async def github_webhook(request: Request, service: ServiceDep) -> JSONResponse:
    """Verify the signature, store the delivery (a redelivery is answered and ignored), then
    process it after answering: GitHub waits at most 10 s for an answer."""
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
    _process_later(service, record)
    return JSONResponse({**answer, "accepted": True}, status_code=202)


def _process_later(service: WorkOrderService, delivery: DeliveryRecord) -> None:
    task = asyncio.create_task(_in_slot(intake.process_delivery(service, delivery)))
    _processing.add(task)
    task.add_done_callback(_processing.discard)


async def _in_slot(work: Coroutine[Any, Any, None]) -> None:
    loop = asyncio.get_running_loop()
    slots = _slots.get(loop)
    if slots is None:
        slots = _slots[loop] = asyncio.Semaphore(PROCESSING_SLOTS)
    async with slots:
        await work


async def resume_received(service: WorkOrderService) -> int:
    """Process deliveries stored but never taken up (the server stopped in between); how many.
    Ones a crash interrupted mid-processing stay `processing`: they may have started work already."""
    pending = await intake.list_deliveries(service, status="received", limit=500)
    for delivery in reversed(pending):  # oldest first
        _process_later(service, delivery)
    return len(pending)


@router.get("/deliveries", dependencies=[Depends(require_token)])
async def list_deliveries(
    service: ServiceDep, status: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> dict[str, list[DeliveryRecord]]:
    """Received deliveries, newest first, with what processing made of each."""
    return {"deliveries": await intake.list_deliveries(service, status=status, limit=limit)}
