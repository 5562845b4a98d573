"""The cluster workflow's activities: its work orders recorded (the plan's, the fix's), a job
handed to a remote runner, and how each ended written to the cluster, its plans and its job."""

from __future__ import annotations

import shlex
from importlib.resources import files

import structlog
from pydantic import ValidationError
from temporalio import activity

from shipyard.domain.errors import NotFound, ShipyardError
from shipyard.domain.ids import derived_work_order_id
from shipyard.domain.models import CreateWorkOrderRequest, WorkOrderStatus
from shipyard.domain.plans import ClusterStatus, CodingPlan, JobStatus
from shipyard.domain.untrusted import quote
from shipyard.plans import remote
from shipyard.plans.runners import Runner, runner_for
from shipyard.plans.types import ClusterWorkInput, FixMade, WorkEnded, WorkMade
from shipyard.service.creation import record_work_order
from shipyard.service.work_orders import WorkOrderService
from shipyard.store.records import ClusterRecord

log = structlog.get_logger()
PLAN_STEP = "plan"  # the step of fix_plan whose typed output is the plan


def workflow_text(name: str) -> str:
    """A bundled workflow of plans/workflows/, as YAML."""
    return files("shipyard.plans").joinpath("workflows", f"{name}.yaml").read_text()


def feedback_text(cluster: ClusterRecord) -> str:
    """The cluster as the planning agent reads it: people's words, fenced as data."""
    lines = [f"Title: {cluster.title}"]
    if cluster.summary:
        lines.append(f"Summary: {cluster.summary}")
    for n, item in enumerate(cluster.items, 1):
        where = f" ({item['url']})" if item.get("url") else ""
        lines.append(f"\n{n}. From {item.get('source', 'someone')}{where}:\n{item.get('text', '')}")
    return quote("feedback cluster", "\n".join(lines))


def validation_script(steps: list[str]) -> str:
    """A bash script running each validation step in turn, saying how each went; it fails when
    any did."""
    if not steps:
        return "echo 'The plan has no validation steps.'"
    lines = [
        "failed=0",
        "check() {",
        "  printf '\\n$ %s\\n' \"$1\"",
        "  if bash -c \"$1\"; then echo '✓ passed'",
        '  else echo "✗ failed (exit $?)"; failed=$((failed + 1)); fi',
        "}",
        *(f"check {shlex.quote(step)}" for step in steps),
        f'printf "\\n%s of {len(steps)} validation steps failed\\n" "$failed"',
        '[ "$failed" -eq 0 ]',
    ]
    return "\n".join(lines)


class PlanActivities:
    """Bound to the service the work orders are made through (its settings and store)."""

    def __init__(self, service: WorkOrderService) -> None:
        self.service = service
        self.store = service.store
        self.settings = service.settings

    @activity.defn(name="plans_start_plan")
    async def start_plan(self, inp: ClusterWorkInput) -> WorkMade | None:
        """Record the work order that makes the cluster's plan; None when it was refused (the
        cluster, and the job, say why)."""
        cluster = await self.store.get_cluster(inp.cluster_id)
        runner = runner_for(self.settings, inp.runner)
        request = CreateWorkOrderRequest(
            repository_url=cluster.repository_url,
            workflow_definition=workflow_text("fix_plan"),
            workflow_source="plans/workflows/fix_plan.yaml",
            inputs={"feedback": feedback_text(cluster)},
            agent=runner.agent,
            sandbox_type=runner.sandbox,
            project=cluster.project_id,
            title=f"plan {cluster.title}",
        )
        made = await self._record(inp, runner, "plan", request)
        if made is not None and inp.job_id:
            await self.store.update_job(inp.job_id, plan_work_order_id=made.work_order_id)
        return made

    @activity.defn(name="plans_plan_ended")
    async def plan_ended(self, inp: WorkEnded) -> bool:
        """The plan the work order answered with, as the cluster's next version; whether there is one."""
        error = inp.error or f"the plan's work order {inp.work_order_id} {inp.status}"
        if inp.status == WorkOrderStatus.COMPLETED.value and inp.work_order_id:
            wo = await self.store.get_work_order(inp.work_order_id)
            steps = {s.step_id: s for s in await self.store.list_steps(wo.id)}
            output = steps[PLAN_STEP].output_data if PLAN_STEP in steps else None
            try:
                plan = CodingPlan.model_validate(output)
            except ValidationError as err:
                error = f"the agent's answer is not a coding plan: {err.errors()[0]['msg']}"
            else:
                await self.store.add_plan(inp.cluster_id, plan, "generated", wo.id, wo.agent)
                await self.store.update_cluster(inp.cluster_id, status=ClusterStatus.PLAN_READY, error=None)
                return True
        await self._failed(inp.cluster_id, inp.job_id, f"no plan: {error}", inp.status)
        return False

    @activity.defn(name="plans_start_fix")
    async def start_fix(self, inp: ClusterWorkInput) -> FixMade | None:
        """The job's fix under way from the cluster's latest plan: a work order recorded, or the
        job handed to its remote runner. None when it was refused (the job says why)."""
        assert inp.job_id is not None
        cluster = await self.store.get_cluster(inp.cluster_id)
        try:
            plan = await self.store.get_plan(cluster.id)
        except NotFound as err:
            await self._failed(cluster.id, inp.job_id, err.message)
            return None
        runner = runner_for(self.settings, inp.runner)
        await self.store.update_job(inp.job_id, status=JobStatus.RUNNING, plan_version=plan.version)
        await self.store.update_cluster(cluster.id, status=ClusterStatus.FIXING, error=None)
        if runner.remote:
            job = await self.store.get_job(inp.job_id)
            try:
                await remote.hand_out(self.settings, runner, job, cluster, plan)
            except ShipyardError as err:
                await self._failed(cluster.id, job.id, err.message)
                return None
            return FixMade(timeout_s=runner.config.timeout_s)
        request = self._fix_request(cluster, runner, plan.plan)
        made = await self._record(inp, runner, "fix", request)
        if made is None:
            return None
        await self.store.update_job(inp.job_id, work_order_id=made.work_order_id)
        return FixMade(work=made)

    def _fix_request(
        self, cluster: ClusterRecord, runner: Runner, plan: CodingPlan
    ) -> CreateWorkOrderRequest:
        script = validation_script(plan.validation_steps)
        inputs = {"title": cluster.title, "plan": plan.markdown(), "validation": script}
        bundled = runner.config.workflow is None
        return CreateWorkOrderRequest(
            repository_url=cluster.repository_url,
            workflow_type=runner.config.workflow,
            workflow_definition=workflow_text("fix") if bundled else None,
            workflow_source="plans/workflows/fix.yaml" if bundled else None,
            inputs=inputs,
            agent=runner.agent,
            sandbox_type=runner.sandbox,
            project=cluster.project_id,
            title=f"fix {cluster.title}",
        )

    @activity.defn(name="plans_fix_ended")
    async def fix_ended(self, inp: WorkEnded) -> None:
        """The job and its cluster as the fix ended: a pull request opened, failed or cancelled."""
        assert inp.job_id is not None
        # The cluster first, then the job: whoever sees the job end finds its cluster as it ended.
        job = await self.store.get_job(inp.job_id)
        if inp.work_order_id is not None:  # its pull request, the draft of a failed fix too
            wo = await self.store.get_work_order(inp.work_order_id)
            job = await self.store.update_job(job.id, pr_url=wo.github_pull_request_url)
        if inp.status == WorkOrderStatus.CANCELLED.value:
            await self.store.update_cluster(inp.cluster_id, status=ClusterStatus.PLAN_READY, error=None)
            await self.store.update_job(job.id, status=JobStatus.CANCELLED, error=inp.error)
        elif inp.status != WorkOrderStatus.COMPLETED.value:
            await self._failed(inp.cluster_id, job.id, inp.error or f"the fix {inp.status}")
        else:
            await self.store.update_cluster(inp.cluster_id, status=ClusterStatus.PR_OPENED, error=None)
            await self.store.update_job(job.id, status=JobStatus.SUCCEEDED, error=None)

    async def _record(
        self, inp: ClusterWorkInput, runner: Runner, work: str, request: CreateWorkOrderRequest
    ) -> WorkMade | None:
        """The work order recorded, once however often this is retried."""
        workflow_id = str(activity.info().workflow_id)  # one per job, or per plan asked for
        trigger = {"source": "plans", "cluster": inp.cluster_id, "job": inp.job_id, "work": work}
        trigger["runner"] = runner.name  # metrics count jobs by runner
        work_order_id = derived_work_order_id("plans", workflow_id, work)
        try:
            recorded = await record_work_order(
                self.settings, self.store, request, work_order_id, trigger=trigger
            )
        except ShipyardError as err:
            await self._failed(inp.cluster_id, inp.job_id, f"the {work} could not start: {err.message}")
            return None
        return WorkMade(work_order_id=recorded.work_order.id, start=recorded.start)

    async def _failed(self, cluster_id: str, job_id: str | None, error: str, status: str = "failed") -> None:
        """The cluster (and the job) failed, saying why; a cancelled plan leaves the cluster as it was."""
        log.info("cluster_work_failed", cluster=cluster_id, job=job_id, error=error)
        cancelled = status == WorkOrderStatus.CANCELLED.value
        has_plan = bool(await self.store.list_plans(cluster_id))
        back = ClusterStatus.PLAN_READY if has_plan else ClusterStatus.NEW
        await self.store.update_cluster(
            cluster_id, status=back if cancelled else ClusterStatus.FAILED, error=None if cancelled else error
        )
        if job_id is not None:  # after the cluster, as in fix_ended
            status_now = JobStatus.CANCELLED if cancelled else JobStatus.FAILED
            await self.store.update_job(job_id, status=status_now, error=error)
