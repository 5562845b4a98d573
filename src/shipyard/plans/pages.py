"""Dashboard pages of seed 004: the clusters, newest first, filtered by status; one cluster with its
feedback, its plan (any version, edited in place), the runners with the buttons that make a plan or
start a fix, and its jobs (one job's page: job_pages.py). Plain HTML forms, like the ideas' pages:
a redirect on success, the same page with the reason otherwise. While a plan is made or a fix runs
the cluster's part of the page polls (204 while unchanged) and stops once that ends."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from shipyard.api.errors import status_of
from shipyard.domain.errors import InvalidInput, NotFound, ShipyardError, status_named
from shipyard.domain.jsontext import MAX_SQL_INT, MAX_SQL_INT32
from shipyard.domain.plans import ClusterStatus
from shipyard.plans import job_pages
from shipyard.plans.models import PlanEdit, PlanView, StartFix
from shipyard.plans.page_kit import digest, refusal, render, runner_context
from shipyard.plans.routes import ClusterId, PlansDep
from shipyard.plans.service import PlanService

router = APIRouter(tags=["dashboard"], include_in_schema=False)
router.include_router(job_pages.router)
PAGE_SIZE = 25
JOBS_SHOWN = 25  # a cluster's latest jobs on its page
LISTS = ("hypotheses", "candidate_files", "validation_steps")  # a plan's fields, one item a line
DONE = {
    "planning": "Making the plan: the runner's agent reads the feedback and the repository. "
    "This page shows the new version when it is ready.",
}
PageNo = Annotated[int, Query(alias="page", ge=1, le=MAX_SQL_INT // PAGE_SIZE)]
Version = Annotated[int | None, Query(ge=1, le=MAX_SQL_INT32)]


@router.get("/clusters")
async def clusters(
    request: Request,
    plans: PlansDep,
    status: Annotated[str, Query(max_length=32)] = "",
    page_no: PageNo = 1,
) -> HTMLResponse:
    """Every cluster, newest first, paged; `status` keeps those in it."""
    wanted = status_named(ClusterStatus, status)
    found, total = await plans.clusters(wanted, PAGE_SIZE, (page_no - 1) * PAGE_SIZE)
    kept = {"status": status} if status else {}
    context: dict[str, Any] = {
        "clusters": found, "total": total, "page_no": page_no, "pages": max(1, -(-total // PAGE_SIZE)),
        "status": status, "statuses": [s.value for s in ClusterStatus],
        "page_url": lambda n: "/clusters?" + urlencode({**kept, "page": n}),
    }  # fmt: skip
    return render(request, "clusters.html", **context, **runner_context(plans))


def _shown_plan(versions: list[PlanView], version: int | None, cluster_id: str) -> PlanView | None:
    """The version asked for, else the latest (None: no plan yet)."""
    if version is None:
        return versions[0] if versions else None
    found = next((v for v in versions if v.version == version), None)
    if found is None:
        raise NotFound(f"cluster {cluster_id} has no version {version} of its plan")
    return found


def _form_values(plan: PlanView | None) -> dict[str, str]:
    """What the edit form holds at first: the plan shown, one item a line."""
    if plan is None:
        return {"summary": "", **dict.fromkeys(LISTS, "")}
    return {"summary": plan.summary, **{name: "\n".join(getattr(plan, name)) for name in LISTS}}


async def _cluster_context(
    plans: PlanService, cluster_id: str, version: int | None = None, edit: dict[str, str] | None = None
) -> dict[str, Any]:
    """The cluster's page: the cluster, the plan shown and every version, its jobs, the runners;
    `edit`: what a refused edit held (the form opens with it)."""
    cluster = await plans.cluster(cluster_id)
    versions = await plans.plan_versions(cluster_id)
    plan = _shown_plan(versions, version, cluster_id)
    jobs, jobs_total = await plans.jobs(cluster_id, JOBS_SHOWN, 0)
    working = cluster.status in (ClusterStatus.PLANNING, ClusterStatus.FIXING)
    live = working or any(not job.status.is_terminal for job in jobs)
    seen = digest(cluster.model_dump_json(), *(j.model_dump_json() for j in jobs), str(len(versions)))
    return {
        "cluster": cluster, "versions": versions, "plan": plan, "latest": versions[0] if versions else None,
        "jobs": jobs, "jobs_total": jobs_total, "live": live, "seen": seen, "asked": version,
        "values": edit or _form_values(plan), "editing": edit is not None, "error": None, "done": None,
        **runner_context(plans),
    }  # fmt: skip


@router.get("/clusters/{cluster_id}")
async def cluster_page(
    request: Request,
    cluster_id: ClusterId,
    plans: PlansDep,
    version: Version = None,
    done: Annotated[str, Query(max_length=32)] = "",
    edited: Version = None,
) -> HTMLResponse:
    """One cluster: its feedback, its plan (`version`, else the latest) and versions, the runners
    and buttons, its jobs."""
    context = await _cluster_context(plans, cluster_id, version)
    said = f"Saved as version {edited} of the plan." if edited else DONE.get(done)
    return render(request, "cluster.html", **context | {"done": said})


@router.get("/clusters/{cluster_id}/live")
async def cluster_live(
    request: Request,
    cluster_id: ClusterId,
    plans: PlansDep,
    version: Version = None,
    seen: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """The cluster's part of its page for htmx to swap in; 204 while it is the one drawn as `seen`.
    Once the cluster rests (no plan being made, no job running) the part polls no more."""
    context = await _cluster_context(plans, cluster_id, version)
    if seen == context["seen"]:
        return Response(status_code=204)
    return render(request, "_cluster.html", **context)


async def _refused(
    request: Request,
    plans: PlanService,
    cluster_id: str,
    err: ShipyardError,
    edit: dict[str, str] | None = None,
) -> HTMLResponse:
    context = await _cluster_context(plans, cluster_id, edit=edit) | {"error": err.message}
    return render(request, "cluster.html", status_code=status_of(err), **context)


def _plan_edit(values: dict[str, str]) -> PlanEdit:
    """The form's plan: its summary, and each list one item a line (blank lines dropped)."""
    if not values["summary"].strip():
        raise InvalidInput("Write the plan's summary first.")
    fields = {name: [line for line in values[name].splitlines() if line.strip()] for name in LISTS}
    try:
        return PlanEdit.model_validate({"summary": values["summary"].strip(), **fields})
    except ValidationError as err:
        raise InvalidInput(refusal(err)) from None


@router.post("/clusters/{cluster_id}/plan")
async def edit_plan(
    request: Request,
    cluster_id: ClusterId,
    plans: PlansDep,
    summary: Annotated[str, Form()] = "",
    hypotheses: Annotated[str, Form()] = "",
    candidate_files: Annotated[str, Form()] = "",
    validation_steps: Annotated[str, Form()] = "",
) -> Response:
    """A person's edit: the plan's next version; the form again, as typed, with the reason if not."""
    values = {
        "summary": summary, "hypotheses": hypotheses, "candidate_files": candidate_files,
        "validation_steps": validation_steps,
    }  # fmt: skip
    try:
        saved = await plans.edit_plan(cluster_id, _plan_edit(values))
    except ShipyardError as err:
        return await _refused(request, plans, cluster_id, err, edit=values)
    return RedirectResponse(f"/clusters/{cluster_id}?edited={saved.version}", status_code=303)


@router.post("/clusters/{cluster_id}/generate")
async def generate_plan(
    request: Request, cluster_id: ClusterId, plans: PlansDep, runner: Annotated[str, Form()] = ""
) -> Response:
    """Make (again) the cluster's plan with the runner chosen; back to its page."""
    try:
        await plans.generate_plan(cluster_id, runner or None)
    except ShipyardError as err:
        return await _refused(request, plans, cluster_id, err)
    return RedirectResponse(f"/clusters/{cluster_id}?done=planning", status_code=303)


@router.post("/clusters/{cluster_id}/start_fix")
async def start_fix(
    request: Request,
    cluster_id: ClusterId,
    plans: PlansDep,
    runner: Annotated[str, Form()] = "",
    generate_plan: Annotated[str, Form()] = "",
) -> Response:
    """Start a job with the runner chosen (its plan made first when the form says so); its page."""
    try:
        try:
            req = StartFix(runner=runner or None, generate_plan=bool(generate_plan))
        except ValidationError as err:
            raise InvalidInput(refusal(err)) from None
        job = await plans.start_fix(cluster_id, req)
    except ShipyardError as err:
        return await _refused(request, plans, cluster_id, err)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)
