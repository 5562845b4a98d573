"""The FastAPI application."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Path, Query

import shipyard
from shipyard.api.control import router as control_router
from shipyard.api.deps import ServiceDep, require_token
from shipyard.api.errors import PageRenderer, install_error_handlers
from shipyard.api.events import router as events_router
from shipyard.api.front_door import FrontDoor
from shipyard.api.github import repos_router
from shipyard.api.github import router as github_router
from shipyard.api.hub import EventHub
from shipyard.api.limits import BodyLimit
from shipyard.api.projects import router as projects_router
from shipyard.api.reports import router as reports_router
from shipyard.api.schedules import router as schedules_router
from shipyard.api.schemas import Health, PullRequestResponse
from shipyard.api.throttle import Throttle
from shipyard.api.webhooks import router as webhooks_router
from shipyard.api.work_orders import router as work_orders_router
from shipyard.composition import product_open_routers, product_routers
from shipyard.domain.jsontext import MAX_SQL_INT32
from shipyard.domain.metrics import Metrics
from shipyard.service.work_orders import WorkOrderService

misc = APIRouter(prefix="/api", tags=["misc"])
open_misc = APIRouter(prefix="/api", tags=["misc"])  # no token: load balancers ask it


@open_misc.get("/health")
async def health(service: ServiceDep) -> Health:
    """Whether the database, Temporal (`ok`, `restarting`, `down`) and the data dir's disk (`ok`,
    `low`: under 1 GiB or 5 % free) are fine; `degraded` when one is not.
    Open without the token (load balancers ask it), and nothing secret in it."""
    check = await service.check_health()
    return Health(
        status="ok" if check.healthy else "degraded",
        version=shipyard.__version__,
        database=check.database,
        temporal=check.temporal,
        temporal_restarts=check.temporal_restarts,
        disk=check.disk.state,
        disk_free_bytes=check.disk.free_bytes,
        disk_total_bytes=check.disk.total_bytes,
    )


@misc.get("/metrics")
async def get_metrics(
    service: ServiceDep,
    bucket: Annotated[str, Query(description="the series' buckets: `day` or `week`")] = "day",
) -> Metrics:
    """Success rate, runtimes, spend and failure causes of finished work orders, overall, per
    workflow, agent and runner, and a series per day or week (UTC, by completion; the newest
    10,000 work orders)."""
    return await service.metrics(bucket)


@misc.get("/pull-requests/{number}")
async def get_pull_request(
    number: Annotated[int, Path(ge=1, le=MAX_SQL_INT32)], service: ServiceDep
) -> PullRequestResponse:
    return PullRequestResponse(pull_request=await service.pull_request(number))


def create_app(service: WorkOrderService, error_page: PageRenderer | None = None) -> FastAPI:
    """The API serving `service`; the caller owns the engine's lifetime. Errors outside /api are
    drawn by `error_page` when given (the dashboard's)."""
    app = FastAPI(title="Shipyard", version=shipyard.__version__)
    app.state.service = service
    app.state.hub = EventHub(service.event_feed())
    app.add_middleware(BodyLimit, limit_bytes=service.settings.max_body_bytes)
    app.state.throttle = Throttle()
    install_error_handlers(app, error_page)
    # Outermost: a foreign Host is refused before anything else runs, and every answer, a 500
    # included, leaves with the security headers.
    app.add_middleware(FrontDoor, trusted_hosts=service.settings.trusted_hosts)
    # FastAPI tries the routes in order (the last router's paths cost a request ~0.4 ms more to
    # find) and no two API routes take the same request: machines' traffic first. The health check
    # (load balancers ask it every few seconds; status and version only, nothing secret), GitHub's
    # deliveries (signed with its own secret instead of the token) and the sandboxes' reports (a
    # sandbox's own token will do; each route checks).
    app.include_router(open_misc)
    app.include_router(webhooks_router)
    app.include_router(reports_router)
    token = [Depends(require_token)]
    routers = (
        work_orders_router, control_router, events_router, github_router, repos_router, projects_router,
        schedules_router, misc, *product_routers(),
    )  # fmt: skip
    for router in routers:
        app.include_router(router, dependencies=token)
    for router in product_open_routers():  # a token of their own will do (each route checks)
        app.include_router(router)
    return app
