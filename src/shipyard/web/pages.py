"""Dashboard pages that read: work orders (list and detail, with the parts htmx refreshes), the
workflow library, the agent catalog and metrics."""

from __future__ import annotations

import asyncio
from typing import Any, Literal, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from shipyard.agents.registry import describe_agents
from shipyard.domain.errors import NotFound, status_named
from shipyard.domain.jsontext import MAX_SQL_INT
from shipyard.domain.models import WorkOrderStatus
from shipyard.domain.work_orders import WorkOrder
from shipyard.service.work_orders import WorkOrderService
from shipyard.web import views
from shipyard.web.diff import parse_diff
from shipyard.web.pictures import time_chart
from shipyard.web.render import Service, is_htmx, page
from shipyard.web.trends import trend_charts
from shipyard.web.workflows import library, workflow_entry

router = APIRouter(tags=["dashboard"], include_in_schema=False)
WEBHOOKS_SHOWN = 100
DeliveryStatus = Literal["received", "processing", "processed", "ignored", "refused", "failed"]
PAGE_SIZE = 25
DETAIL_PARTS = ("head", "chart", "steps", "progress", "diff")


@router.get("/")
async def work_orders(
    request: Request,
    service: Service,
    status: str | None = None,
    repository: str | None = None,
    q: str | None = None,
    page_no: int = Query(1, alias="page", ge=1, le=MAX_SQL_INT // PAGE_SIZE),
    part: str | None = None,
) -> HTMLResponse:
    """Every work order, newest first, filtered and paged; `part=rows` is the table alone."""
    filters = {"status": status or "", "repository": repository or "", "q": q or ""}
    rows, total = await service.search(
        status=status_named(WorkOrderStatus, status), repository=repository or None, search=q,
        limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE,
    )  # fmt: skip
    pages = max(1, -(-total // PAGE_SIZE))
    active = {k: v for k, v in filters.items() if v}
    context: dict[str, Any] = {
        "rows": rows, "total": total, "page_no": page_no, "pages": pages, "filters": filters,
        "query": urlencode(active), "page_url": lambda n: "/?" + urlencode({**active, "page": n}),
    }  # fmt: skip
    if part == "rows":
        return page(request, "_rows.html", **context)
    statuses = [s.value for s in WorkOrderStatus]
    repositories = await service.repositories()
    return page(request, "work_orders.html", statuses=statuses, repositories=repositories, **context)


async def _part_context(service: WorkOrderService, wo: WorkOrder, part: str) -> dict[str, Any]:
    """What the template of one part of the detail page needs."""
    if part in ("head", "chart", "steps"):
        steps = await service.steps(wo.id)
        return {
            "wo": wo, "steps": views.timeline(wo, steps), "gate": views.waiting_gate(wo, steps),
            "chart": time_chart(views.spans(steps), views.now()),
            "children": await service.children(wo.id),
        }  # fmt: skip
    if part == "progress":
        try:
            return {"wo": wo, "progress": await service.git_progress(wo), "progress_note": None}
        except NotFound as err:
            return {"wo": wo, "progress": None, "progress_note": err.message}
    try:
        return {"wo": wo, "files": parse_diff(await service.diff(wo)), "diff_note": None}
    except NotFound as err:
        return {"wo": wo, "files": [], "diff_note": err.message}


async def _log_context(service: WorkOrderService, wo: WorkOrder, before: int | None) -> dict[str, Any]:
    """The last page of the log (before event `before`) and how many events come earlier."""
    events = await service.last_events(wo.id, limit=views.LOG_PAGE, before_id=before)
    earlier = await service.count_events(wo.id, before_id=events[0].id) if events else 0
    return {"wo": wo, "lines": [views.log_line(e) for e in events], "earlier": earlier}


async def detail_context(service: WorkOrderService, work_order_id: str) -> dict[str, Any]:
    """Everything the detail page shows."""
    wo = await service.get(work_order_id)
    context: dict[str, Any] = {"error": None}
    for part in ("steps", "progress", "diff"):  # the head and the chart share the steps' context
        context |= await _part_context(service, wo, part)
    context |= await _log_context(service, wo, None)
    # The live stream goes on from the last line drawn (a work order's events commit in id order).
    context["last_event_id"] = context["lines"][-1].id if context["lines"] else 0
    return context


@router.get("/work-orders/{work_order_id}")
async def work_order(request: Request, work_order_id: str, service: Service, done: str = "") -> HTMLResponse:
    """One work order: header and controls, steps, git progress, the live log tail, the diff."""
    context = await detail_context(service, work_order_id)
    return page(request, "work_order.html", done=views.DONE.get(done), **context)


@router.get("/work-orders/{work_order_id}/part/{part}")
async def work_order_part(request: Request, work_order_id: str, part: str, service: Service) -> HTMLResponse:
    """One part of the detail page, for htmx to swap in when events say it changed."""
    if part not in DETAIL_PARTS:
        raise NotFound(f"no part '{part}'; parts: {', '.join(DETAIL_PARTS)}")
    wo = await service.get(work_order_id)
    return page(request, f"_{part}.html", **await _part_context(service, wo, part))


@router.get("/work-orders/{work_order_id}/log")
async def work_order_log(
    request: Request,
    work_order_id: str,
    service: Service,
    before: int | None = Query(None, ge=1, le=MAX_SQL_INT),
) -> HTMLResponse:
    """A page of the log before an event: lines for htmx to put on top, or a page of its own."""
    wo = await service.get(work_order_id)
    context = await _log_context(service, wo, before)
    return page(request, "_log_lines.html" if is_htmx(request) else "log.html", **context)


@router.get("/workflows")
async def workflows(request: Request) -> HTMLResponse:
    return page(request, "workflows.html", workflows=library())


@router.get("/workflows/{name}")
async def workflow(request: Request, name: str) -> HTMLResponse:
    return page(request, "workflow.html", workflow=workflow_entry(name))


@router.get("/webhooks")
async def webhooks(request: Request, service: Service, status: DeliveryStatus | None = None) -> HTMLResponse:
    """The newest webhook deliveries and what processing made of each (the API's list, shown)."""
    found = await service.store.list_deliveries(status=status, limit=WEBHOOKS_SHOWN)
    return page(
        request, "webhooks.html", deliveries=found, status=status or "", statuses=get_args(DeliveryStatus)
    )


@router.get("/agents")
async def agents(request: Request, service: Service) -> HTMLResponse:
    return page(request, "agents.html", agents=await asyncio.to_thread(describe_agents, service.settings))


@router.get("/metrics")
async def metrics(request: Request, service: Service, bucket: str = "day") -> HTMLResponse:
    """The figures, and charts of them over time per day or week."""
    figures = await service.metrics(bucket)
    return page(request, "metrics.html", metrics=figures, charts=trend_charts(figures.series, figures.bucket))
