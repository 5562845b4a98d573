"""A fix job's page: its status, runner, plan version, work orders, pull request and error, its log
(the lines of PlanService.log_lines), which polls while the job runs and stops once it ended, and
a cancel button while it runs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shipyard.api.errors import status_of
from shipyard.domain.errors import ShipyardError
from shipyard.plans.page_kit import digest, render
from shipyard.plans.routes import JobId, PlansDep
from shipyard.plans.service import PlanService

router = APIRouter(tags=["dashboard"], include_in_schema=False)
LOG_SHOWN = 1000  # the last lines of a job's log drawn on its page
DONE = {"cancel": "Cancel requested: the job's running work order is being stopped."}


async def _job_context(plans: PlanService, job_id: str) -> dict[str, Any]:
    """The job, its cluster, the last lines of its log, and the digest they are drawn from."""
    job = await plans.job(job_id)
    lines = (await plans.logs(job_id)).lines
    cluster = await plans.cluster(job.cluster_id)
    return {
        "job": job, "cluster": cluster, "lines": lines[-LOG_SHOWN:],
        "earlier": max(0, len(lines) - LOG_SHOWN), "live": not job.status.is_terminal,
        "seen": digest(job.model_dump_json(), *lines), "error": None, "done": None,
    }  # fmt: skip


@router.get("/jobs/{job_id}")
async def job_page(
    request: Request, job_id: JobId, plans: PlansDep, done: Annotated[str, Query(max_length=32)] = ""
) -> HTMLResponse:
    """One job: what it is, how it goes, its log."""
    context = await _job_context(plans, job_id) | {"done": DONE.get(done)}
    return render(request, "job.html", **context)


@router.get("/jobs/{job_id}/live")
async def job_live(
    request: Request, job_id: JobId, plans: PlansDep, seen: Annotated[str, Query(max_length=64)] = ""
) -> Response:
    """The job's part of its page for htmx to swap in; 204 while it is the one drawn as `seen`.
    Once the job has ended the part polls no more."""
    context = await _job_context(plans, job_id)
    if seen == context["seen"]:
        return Response(status_code=204)
    return render(request, "_job.html", **context)


@router.post("/jobs/{job_id}/cancel")
async def cancel_job(request: Request, job_id: JobId, plans: PlansDep) -> Response:
    """Stop the job; back to its page, which says why when it could not."""
    try:
        await plans.cancel(job_id)
    except ShipyardError as err:
        context = await _job_context(plans, job_id) | {"error": err.message}
        return render(request, "job.html", status_code=status_of(err), **context)
    return RedirectResponse(f"/jobs/{job_id}?done=cancel", status_code=303)
