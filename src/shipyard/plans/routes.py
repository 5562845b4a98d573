"""Seed 004's endpoints: clusters, their plans (generate, read, edit, versions), `start_fix`,
jobs (read, logs, cancel) and the runners; a remote runner's callback (its own token) apart."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request

from shipyard.api.deps import ServiceDep, bearer, count_failure, is_api_token, refuse_if_throttled
from shipyard.domain.errors import Forbidden
from shipyard.domain.jsontext import MAX_SQL_INT32
from shipyard.domain.plans import ClusterStatus
from shipyard.domain.tokens import sandbox_token_subject
from shipyard.plans.models import (
    ClusterList,
    ClusterRequest,
    ClusterView,
    JobList,
    JobLogs,
    JobPatch,
    JobStarted,
    JobView,
    PlanEdit,
    PlanVersions,
    PlanView,
    RemoteReportIn,
    RunnerView,
    StartFix,
)
from shipyard.plans.service import PlanService

router = APIRouter(prefix="/api", tags=["plans"])
callbacks = APIRouter(prefix="/api", tags=["plans"])
ClusterId = Annotated[str, Path(pattern=r"^cl-[0-9a-f]{8}$", description="`cl-` and 8 hex characters")]
JobId = Annotated[str, Path(pattern=r"^job-[0-9a-f]{8}$", description="`job-` and 8 hex characters")]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=MAX_SQL_INT32)]


async def get_plans(service: ServiceDep) -> PlanService:
    return PlanService(service)


PlansDep = Annotated[PlanService, Depends(get_plans)]


@router.post("/clusters", status_code=201)
async def create_cluster(req: ClusterRequest, plans: PlansDep) -> ClusterView:
    """Record a cluster of feedback; its repository is `repo`, else its project's, else the one its
    items name (`repo`, or the repository of a GitHub issue or pull request URL)."""
    cluster = await plans.create_cluster(req)
    return await plans.cluster(cluster.id)


@router.get("/clusters")
async def list_clusters(
    plans: PlansDep, status: ClusterStatus | None = None, limit: Limit = 50, offset: Offset = 0
) -> ClusterList:
    found, total = await plans.clusters(status, limit, offset)
    return ClusterList(clusters=found, total=total)


@router.get("/clusters/{cluster_id}")
async def get_cluster(cluster_id: ClusterId, plans: PlansDep) -> ClusterView:
    return await plans.cluster(cluster_id)


@router.post("/clusters/{cluster_id}/plan", status_code=202)
async def generate_plan(cluster_id: ClusterId, plans: PlansDep, runner: str | None = None) -> ClusterView:
    """Make (or make again) the cluster's plan: the runner's agent reads the feedback and the
    repository in a sandbox and answers with a plan, the next version. Answers at once (`planning`)."""
    return await plans.generate_plan(cluster_id, runner)


@router.get("/clusters/{cluster_id}/plan")
async def get_plan(cluster_id: ClusterId, plans: PlansDep) -> PlanView:
    """The latest version of the cluster's plan."""
    return await plans.plan(cluster_id)


@router.put("/clusters/{cluster_id}/plan")
async def edit_plan(cluster_id: ClusterId, edit: PlanEdit, plans: PlansDep) -> PlanView:
    """A person's edit of the whole plan: its next version (every version is kept)."""
    return await plans.edit_plan(cluster_id, edit)


@router.get("/clusters/{cluster_id}/plan/versions")
async def plan_versions(cluster_id: ClusterId, plans: PlansDep) -> PlanVersions:
    """Every version of the plan, newest first."""
    return PlanVersions(versions=await plans.plan_versions(cluster_id))


@router.post("/clusters/{cluster_id}/start_fix", status_code=202)
async def start_fix(cluster_id: ClusterId, plans: PlansDep, req: StartFix | None = None) -> JobStarted:
    """Start a job that carries the plan out: a branch, a draft pull request first, the agent's
    change, the plan's validation steps, the pull request marked ready. Answers at once."""
    job = await plans.start_fix(cluster_id, req or StartFix())
    return JobStarted(job_id=job.id, status=job.status, runner=job.runner)


@router.get("/runners")
async def list_runners(plans: PlansDep) -> dict[str, list[RunnerView]]:
    """The runners a job may name, the default first (SHIPYARD_CODING_AGENT_RUNNER)."""
    return {"runners": plans.runners()}


@router.get("/jobs")
async def list_jobs(
    plans: PlansDep, cluster_id: str | None = None, limit: Limit = 50, offset: Offset = 0
) -> JobList:
    found, total = await plans.jobs(cluster_id, limit, offset)
    return JobList(jobs=found, total=total)


@router.get("/jobs/{job_id}")
async def get_job(job_id: JobId, plans: PlansDep) -> JobView:
    """The job: its status, runner, plan version, pull request and the last lines of its log."""
    return await plans.job(job_id)


@router.get("/jobs/{job_id}/logs")
async def job_logs(job_id: JobId, plans: PlansDep) -> JobLogs:
    """The job's whole log: its work orders' events as lines (or its remote runner's lines)."""
    return await plans.logs(job_id)


@router.patch("/jobs/{job_id}")
async def patch_job(job_id: JobId, patch: JobPatch, plans: PlansDep) -> JobView:
    """`{"status": "cancelled"}` stops the job: its work order is cancelled, its agent killed."""
    return await plans.cancel(job_id)


@callbacks.post("/jobs/{job_id}/callback")
async def job_callback(
    job_id: JobId,
    report: RemoteReportIn,
    request: Request,
    plans: PlansDep,
    authorization: Annotated[str | None, Header()] = None,
) -> JobView:
    """A remote runner reports on its job with the token it was handed (or the API token):
    `running` with log lines, then `succeeded` (with its pull request), `failed` or `cancelled`."""
    refuse_if_throttled(request)
    given = bearer(authorization)
    if not is_api_token(plans.settings, given):
        try:
            subject = sandbox_token_subject(plans.settings.signing_key(), given) if given else None
        except Forbidden:
            count_failure(request)
            raise
        if subject != job_id:
            raise Forbidden(f"send the token job {job_id} was handed out with as a bearer token")
    return await plans.hear(job_id, report)
