"""Clusters, their plans and jobs: made, read and steered. Plans are made and fixes run by the
`ClusterWork` workflow (plans/workflow.py); this starts it and reads what it records."""

from __future__ import annotations

import uuid

from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from shipyard.domain.errors import Conflict, InvalidInput, NotFound, Unavailable
from shipyard.domain.events import event_text
from shipyard.domain.plans import ClusterStatus, CodingPlan, JobStatus, new_cluster_id, new_job_id
from shipyard.plans.models import (
    ClusterRequest,
    ClusterView,
    JobLogs,
    JobView,
    PlanView,
    RemoteReportIn,
    RunnerView,
    StartFix,
)
from shipyard.plans.runners import Runner, all_runners, runner_for
from shipyard.plans.types import ClusterWorkInput, RemoteReport
from shipyard.service.requests import checked_repository
from shipyard.service.work_orders import TEMPORAL_DOWN, WorkOrderService
from shipyard.store.records import ClusterCreate, ClusterRecord, EventRecord, JobRecord

EXCERPT_LINES = 20
LOG_LINES = 1000  # of each of a job's work orders


class PlanService:
    """Over the work-order service: its settings, store and Temporal client."""

    def __init__(self, service: WorkOrderService) -> None:
        self.service = service
        self.store = service.store
        self.settings = service.settings

    # -- clusters ------------------------------------------------------------------------------

    async def create_cluster(self, req: ClusterRequest) -> ClusterRecord:
        """Record the cluster, its repository given or named by its items (or its project's)."""
        project = await self.store.get_project(req.project) if req.project else None
        named = {r for r in (item.repository() for item in req.items) if r}
        repo = req.repo or (project.repository_url if project else None)
        if repo is None and len(named) > 1:
            listed = ", ".join(sorted(named))
            raise InvalidInput(f"the items name more than one repository ({listed}): give `repo`")
        repo = repo or next(iter(named), None)
        if repo is None:
            raise InvalidInput(
                "no repository: give `repo`, a `project`, or items whose `repo` (or GitHub URL) names one"
            )
        data = ClusterCreate(
            id=new_cluster_id(), title=req.title, summary=req.summary,
            repository_url=await checked_repository(repo), project_id=project.id if project else None,
            items=[item.model_dump(mode="json") for item in req.items],
        )  # fmt: skip
        return await self.store.create_cluster(data)

    async def cluster(self, cluster_id: str) -> ClusterView:
        return await self._view(await self.store.get_cluster(cluster_id))

    async def clusters(
        self, status: ClusterStatus | None, limit: int, offset: int
    ) -> tuple[list[ClusterView], int]:
        found, total = await self.store.list_clusters(status, limit, offset)
        versions, jobs = await self.store.cluster_progress([c.id for c in found])
        return [ClusterView.of(c, versions.get(c.id), jobs.get(c.id)) for c in found], total

    async def _view(self, cluster: ClusterRecord) -> ClusterView:
        versions, jobs = await self.store.cluster_progress([cluster.id])
        return ClusterView.of(cluster, versions.get(cluster.id), jobs.get(cluster.id))

    # -- plans ---------------------------------------------------------------------------------

    async def generate_plan(self, cluster_id: str, runner_name: str | None = None) -> ClusterView:
        """Start making a new version of the cluster's plan (by the runner's agent, in its sandbox)."""
        runner = self._runner(runner_name)
        if runner.remote:
            raise InvalidInput(f"runner {runner.name} is remote: plans are made by a work order runner")
        self._need_engine()
        cluster = await self.store.start_planning(cluster_id)
        work = ClusterWorkInput(cluster_id=cluster.id, runner=runner.name, plan_first=True)
        await self._start(f"plan-{cluster.id}-{uuid.uuid4().hex[:8]}", work, cluster.id, None)
        return await self._view(cluster)

    async def plan(self, cluster_id: str, version: int | None = None) -> PlanView:
        plans = await self.store.list_plans(cluster_id)
        found = next((p for p in plans if version is None or p.version == version), None)
        if found is None:
            what = f"version {version} of its plan" if version is not None else "a plan yet"
            raise NotFound(f"cluster {cluster_id} has no {what}")
        return PlanView.of(found, plans[-1].created_at)

    async def plan_versions(self, cluster_id: str) -> list[PlanView]:
        plans = await self.store.list_plans(cluster_id)
        return [PlanView.of(p, plans[-1].created_at) for p in plans]

    async def edit_plan(self, cluster_id: str, plan: CodingPlan) -> PlanView:
        """A person's edit, the plan's next version; Conflict while a plan is made or a fix runs."""
        cluster = await self.store.get_cluster(cluster_id)
        if cluster.status in (ClusterStatus.PLANNING, ClusterStatus.FIXING):
            raise Conflict(f"cluster {cluster.id} is {cluster.status.value}: edit its plan once that ends")
        await self.store.add_plan(cluster.id, CodingPlan.model_validate(plan.model_dump()), "edited")
        if cluster.status in (ClusterStatus.NEW, ClusterStatus.FAILED):
            await self.store.update_cluster(cluster.id, status=ClusterStatus.PLAN_READY, error=None)
        return await self.plan(cluster.id)

    # -- jobs ----------------------------------------------------------------------------------

    async def start_fix(self, cluster_id: str, req: StartFix) -> JobRecord:
        """A job for the cluster, started at once: its plan made first when it has none and the
        request says so (Conflict asking for that otherwise, or while another job runs)."""
        runner = self._runner(req.runner)
        self._need_engine()
        cluster = await self.store.get_cluster(cluster_id)
        has_plan = bool(await self.store.list_plans(cluster.id))
        if cluster.status == ClusterStatus.PLANNING:
            raise Conflict(f"cluster {cluster.id}: its plan is being made; start the fix once it is ready")
        if not has_plan and runner.remote:  # generate_plan cannot help: a remote runner makes no plan
            raise Conflict(
                f"cluster {cluster.id} has no plan yet and runner {runner.name} is remote (it carries a"
                f" plan out, it does not make one): make one with a work order runner (POST"
                f" /api/clusters/{cluster.id}/plan?runner=…) or PUT one, then start the fix"
            )
        if not has_plan and not req.generate_plan:
            raise Conflict(
                f"cluster {cluster.id} has no plan yet: make one (POST /api/clusters/{cluster.id}/plan) and"
                " read it first, or start the fix with generate_plan: true"
            )
        status = JobStatus.QUEUED if has_plan else JobStatus.PLANNING
        job = await self.store.create_job(new_job_id(), cluster.id, runner.name, status)
        work = ClusterWorkInput(
            cluster_id=cluster.id, runner=runner.name, job_id=job.id, plan_first=not has_plan
        )
        await self._start(job.id, work, cluster.id, job.id)
        return job

    async def job(self, job_id: str) -> JobView:
        """The job, with the last lines of its log; while its fix runs, the draft pull request it
        opened first is its `pr_url` already."""
        job = await self.store.get_job(job_id)
        if job.pr_url is None and job.work_order_id is not None:
            wo = await self.store.get_work_order(job.work_order_id)
            job = job.model_copy(update={"pr_url": wo.github_pull_request_url})
        return JobView.of(job, (await self.log_lines(job))[-EXCERPT_LINES:])

    async def jobs(self, cluster_id: str | None, limit: int, offset: int) -> tuple[list[JobView], int]:
        if cluster_id is not None:
            await self.store.get_cluster(cluster_id)
        found, total = await self.store.list_jobs(cluster_id, limit, offset)
        return [JobView.of(j, []) for j in found], total

    async def logs(self, job_id: str) -> JobLogs:
        job = await self.store.get_job(job_id)
        return JobLogs(job_id=job.id, lines=await self.log_lines(job))

    async def log_lines(self, job: JobRecord) -> list[str]:
        """The job's log as lines: its work orders' events (the plan's, then the fix's), or what
        its remote runner reported."""
        lines = list(job.log)
        for work_order_id in (job.plan_work_order_id, job.work_order_id):
            if work_order_id is not None:
                events = await self.store.last_events(work_order_id, limit=LOG_LINES)
                lines += [_log_line(e) for e in events]
        return lines

    async def cancel(self, job_id: str) -> JobView:
        """Stop the job: its running work order is cancelled (its processes killed)."""
        job = await self.store.get_job(job_id)
        if job.status.is_terminal:
            raise Conflict(f"job {job.id} is {job.status.value}; nothing to cancel")
        self._need_engine()
        assert self.service.client is not None
        handle: WorkflowHandle[object, object] = self.service.client.get_workflow_handle(job.id)
        try:
            await handle.signal("cancel", "cancelled by request")
        except RPCError as err:
            raise Unavailable(f"job {job.id}: Temporal refused the cancel: {err}") from err
        return await self.job(job.id)

    async def hear(self, job_id: str, report: RemoteReportIn) -> JobView:
        """A remote runner's callback: its lines kept, its pull request noted, its end signalled."""
        job = await self.store.get_job(job_id)
        if job.status.is_terminal:
            raise Conflict(f"job {job.id} is {job.status.value}; it takes no more reports")
        if job.work_order_id is not None or job.plan_work_order_id is not None:
            raise Conflict(f"job {job.id} runs as a work order, not on a remote runner: it takes no reports")
        noted = {"pr_url": report.pr_url} if report.pr_url else {}
        job = await self.store.update_job(job.id, log=report.log, **noted)
        if report.status != "running":
            self._need_engine()
            assert self.service.client is not None
            signal = RemoteReport(status=report.status, pr_url=report.pr_url, error=report.error)
            try:
                await self.service.client.get_workflow_handle(job.id).signal("report", signal)
            except RPCError as err:
                raise Unavailable(TEMPORAL_DOWN) from err
        return await self.job(job.id)

    # -- runners -------------------------------------------------------------------------------

    def runners(self) -> list[RunnerView]:
        """Every runner, the one jobs get by default first."""
        return [
            RunnerView(
                name=r.name, kind=r.config.kind, agent=None if r.remote else r.agent,
                sandbox=None if r.remote else r.sandbox, description=r.describe(),
                default=r.name == self.settings.coding_agent_runner,
            )
            for r in all_runners(self.settings)
        ]  # fmt: skip

    def _runner(self, name: str | None) -> Runner:
        return runner_for(self.settings, name)

    def _need_engine(self) -> None:
        if self.service.client is None:
            raise Conflict("this process has no engine; start `shipyard serve` to plan and fix clusters")

    async def _start(
        self, workflow_id: str, work: ClusterWorkInput, cluster_id: str, job_id: str | None
    ) -> None:
        """Start the cluster's workflow; the cluster (and the job) failed, saying so, when Temporal
        cannot take it."""
        assert self.service.client is not None
        try:
            await self.service.client.start_workflow(
                "ClusterWork", work, id=workflow_id, task_queue=self.settings.task_queue
            )
        except RPCError as err:
            message = f"could not start the cluster's workflow: {err}"
            if job_id is not None:
                await self.store.update_job(job_id, status=JobStatus.FAILED, error=message)
            await self.store.update_cluster(cluster_id, status=ClusterStatus.FAILED, error=message)
            raise Unavailable(TEMPORAL_DOWN) from err


def _log_line(event: EventRecord) -> str:
    """`12:00:01 step what`: a command's output as it printed it, anything else named by its kind."""
    text = event_text(event.type, event.data)
    said = text if event.type == "log" else f"{event.type} {text}".rstrip()
    return f"{event.ts:%H:%M:%S} {event.step_id or '-'} {said}"
