"""The dashboard's templates and the few things every page handler needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from shipyard.api.deps import ProjectsDep, ServiceDep, bearer, check_token
from shipyard.api.front_door import host_trusted
from shipyard.service.work_orders import WorkOrderService
from shipyard.web import views

HERE = Path(__file__).parent
TOKEN_COOKIE = "shipyard_token"


def engine_notice(request: Request) -> str | None:
    """A line for the top of every page when the embedded Temporal died (being restarted, or down)."""
    service = getattr(request.app.state, "service", None)
    watch = service.temporal_watch if service is not None else None
    if watch is None:
        return None
    return views.engine_notice(watch.state, watch.restarts, watch.changed_at)


templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals.update(
    engine_notice=engine_notice,
    duration=views.duration,
    when=views.when,
    repository_name=views.repository_name,
    usd=views.usd,
    work_order_duration=views.work_order_duration,
)


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """`name` rendered with `context` (and `request`)."""
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def is_htmx(request: Request) -> bool:
    """Whether htmx asked (it wants a fragment, not a page)."""
    return request.headers.get("hx-request") == "true"


def wants_json(request: Request) -> bool:
    """Whether the client asked for JSON rather than a page (an API client, not a browser)."""
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


Service = ServiceDep
Projects = ProjectsDep


async def signed_in(request: Request) -> None:
    """Pages need the API token when one is set: as the sign-in cookie or a bearer header."""
    given = request.cookies.get(TOKEN_COOKIE) or bearer(request.headers.get("authorization"))
    if not check_token(request, given):
        raise HTTPException(401, "sign in with the API token")  # a GET goes to /login instead


async def same_origin(request: Request) -> None:
    """Forms that change something must come from this dashboard, not another site: the page that
    sent them (Origin, else Referer) is on this server, under a name this server is reached by."""
    if request.method in ("GET", "HEAD"):
        return
    source = request.headers.get("origin") or request.headers.get("referer")
    if source and not _is_here(request, urlsplit(source).netloc):
        raise HTTPException(403, "this form was sent from another site")
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise HTTPException(403, "this form was sent from another site")


def _is_here(request: Request, netloc: str) -> bool:
    """Whether a page at `netloc` is this server, named as it is reached (a rebinding page is not)."""
    service: WorkOrderService = request.app.state.service
    trusted = service.settings.trusted_hosts
    return netloc == request.url.netloc and host_trusted(netloc, trusted)
