"""Deployments (seed 002 §7.1, milestone 9): a version of a project deployed to one of the
environments its settings name (`deployment` on the project), by that environment's workflow run
as a work order with the inputs `version` and `env`, in a `Deployment` workflow of its own
(ideas/deploy_workflow.py). The workflow does the deploying (and its health check: a failing step
fails the deployment, and what was live stays live); Shipyard keeps the record: one deployment at
a time is live in an environment, the last that succeeded. On the `github` forge each deployment
is also a GitHub Deployment with its statuses. A rollback deploys the environment's previous good
version again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from temporalio import activity
from temporalio.service import RPCError

from shipyard.api.deps import ServiceDep
from shipyard.api.projects import ProjectDep
from shipyard.domain.errors import Conflict, InvalidInput, ShipyardError, Unavailable
from shipyard.domain.ids import derived_work_order_id
from shipyard.domain.models import CreateWorkOrderRequest, RequestModel, WorkOrderStatus
from shipyard.domain.projects import ENV_PATTERN, EnvName
from shipyard.engine.activities import to_application_error
from shipyard.engine.types import StartWorkOrderInput
from shipyard.forge.registry import forge_for
from shipyard.ideas.deploy_docker import deploy_container
from shipyard.ideas.deploy_workflow import DeployEnd, DeployStart
from shipyard.service.creation import record_work_order, retry_input, retrying
from shipyard.service.work_orders import WorkOrderService
from shipyard.store.records import DeploymentRecord, ProjectRecord

TEMPORAL_DOWN = "the engine (Temporal) does not answer: the deployment was recorded as failed"
DeploymentId = Annotated[
    str, PathParam(pattern=r"^dep-[0-9a-f]{8}$", description="`dep-` and 8 hex characters")
]


class DeployRequest(RequestModel):
    """`POST /api/projects/:id/deploy`."""

    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/+-]*$")
    env: EnvName


class DeploymentView(BaseModel):
    """A deployment as seed 002 names it, with whether it is what its environment runs now."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    id: str
    project_id: str
    env: str
    version: str
    status: str = Field(description="pending, in_progress, success, failure, inactive or rolled_back")
    live: bool = Field(description="Whether it is what the environment runs now.")
    work_order_id: str | None
    rollback_of: str | None
    github_deployment_id: int | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, dep: DeploymentRecord) -> DeploymentView:
        return cls(**dep.model_dump(), live=dep.status == "success")


class DeploymentList(BaseModel):
    deployments: list[DeploymentView]


class Deployer:
    """Deploys, rolls back and lists a project's deployments."""

    def __init__(self, service: WorkOrderService) -> None:
        self.service = service
        self.store = service.store

    async def deploy(
        self, project: ProjectRecord, req: DeployRequest, rollback_of: str | None = None
    ) -> DeploymentRecord:
        """Record the deployment and start its workflow; InvalidInput for an environment the project
        does not have, Conflict without an engine."""
        settings = project.deployment
        if settings is None:
            raise InvalidInput(f"project {project.name} names no environments: set its `deployment` first")
        if req.env not in settings.environments:
            raise InvalidInput(
                f"project {project.name} has no environment '{req.env}' ({', '.join(settings.environments)})"
            )
        if self.service.client is None:
            raise Conflict("this process has no engine; start `shipyard serve` to deploy")
        dep = await self.store.create_deployment(project.id, req.env, req.version, rollback_of)
        try:
            await self.service.client.start_workflow(
                "Deployment", dep.id, id=f"deploy-{dep.id}", task_queue=self.service.settings.task_queue
            )
        except RPCError as err:
            await self.store.update_deployment(dep.id, status="failure", error=TEMPORAL_DOWN)
            raise Unavailable(TEMPORAL_DOWN) from err
        return dep

    async def rollback(self, project: ProjectRecord, deployment_id: str) -> DeploymentRecord:
        """Deploy again the last version that succeeded in the environment before `deployment_id`;
        Conflict when there is none, or when that deployment is still going."""
        dep = await self.store.get_deployment(deployment_id, project.id)
        if dep.status in ("pending", "in_progress"):
            raise Conflict(f"deployment {dep.id} is still {dep.status}: roll back once it has ended")
        good = ("success", "inactive", "rolled_back")
        earlier = [
            d for d in await self.store.list_deployments(project.id, dep.env)
            if d.created_at < dep.created_at and d.status in good and d.version != dep.version
        ]  # fmt: skip
        if not earlier:
            raise Conflict(
                f"no earlier good deployment to {dep.env} than {dep.id} ({dep.version}) to roll back to"
            )
        return await self.deploy(
            project, DeployRequest(version=earlier[0].version, env=dep.env), rollback_of=dep.id
        )


class DeployActivities:
    """The `Deployment` workflow's activities."""

    def __init__(self, service: WorkOrderService) -> None:
        self.service = service
        self.store = service.store
        self.settings = service.settings

    @activity.defn(name="deploy_begin")
    async def begin(self, deployment_id: str) -> DeployStart:
        """The forge's deployment (`in_progress`) and, for a workflow's deploy, its work order, each
        made once."""
        dep = await self.store.get_deployment(deployment_id)
        project = await self.store.get_project(dep.project_id)
        assert project.deployment is not None
        env = project.deployment.environments[dep.env]
        try:
            await self._forge_in_progress(project, dep, env.url)
            if env.docker is not None:
                await self.store.update_deployment(dep.id, status="in_progress")
                return DeployStart(docker=True)
            assert env.workflow is not None
            request = CreateWorkOrderRequest(
                repository_url=project.repository_url, workflow_type=env.workflow, project=project.id,
                inputs={**env.inputs, "version": dep.version, "env": dep.env},
                title=f"deploy {dep.version} to {dep.env}",
            )  # fmt: skip
            trigger = {"source": "deployment", "deployment": dep.id, "env": dep.env, "version": dep.version}
            recorded = await record_work_order(
                self.settings, self.store, request, derived_work_order_id("deploy", dep.id), trigger=trigger
            )
            wo = recorded.work_order
            start: StartWorkOrderInput | None = recorded.start
            if not recorded.created and wo.status == WorkOrderStatus.COMPLETED:
                start = None
            elif not recorded.created and wo.status.is_terminal:
                start = await retry_input(self.settings, self.store, wo)
                await self.store.update_work_order(wo.id, retrying())
        except ShipyardError as err:
            raise to_application_error(err) from None
        await self.store.update_deployment(dep.id, status="in_progress", work_order_id=wo.id)
        return DeployStart(work_order_id=wo.id, start=start)

    async def _forge_in_progress(
        self, project: ProjectRecord, dep: DeploymentRecord, url: str | None
    ) -> None:
        """The forge's deployment (made once) says `in_progress`."""
        forge = forge_for(project.forge, self.settings, project.repository_url, self.store)
        if dep.github_deployment_id is None:
            what = f"{dep.version} to {dep.env}"
            what += f" (rolling back {dep.rollback_of})" if dep.rollback_of else ""
            made = await forge.create_deployment(dep.env, what, dep.id, {"version": dep.version})
            dep = await self.store.update_deployment(dep.id, github_deployment_id=made)
        if dep.github_deployment_id is not None:
            await forge.set_deployment_status(
                dep.github_deployment_id, "in_progress", f"deploying {dep.version}", url
            )

    @activity.defn(name="deploy_docker")
    async def docker(self, deployment_id: str) -> str:
        """The version's container through the Docker engine; '' when it is live, else why not."""
        dep = await self.store.get_deployment(deployment_id)
        project = await self.store.get_project(dep.project_id)
        assert project.deployment is not None
        spec = project.deployment.environments[dep.env].docker
        assert spec is not None
        try:
            return await deploy_container(self.settings, spec, dep) or ""
        except ShipyardError as err:  # no engine answers
            return err.message

    @activity.defn(name="deploy_end")
    async def end(self, inp: DeployEnd) -> str:
        """The deployment's outcome, from its work order's; on success what was live before in the
        environment is not any more (rolled back, when this deployment rolled it back)."""
        dep = await self.store.get_deployment(inp.deployment_id)
        wo = await self.store.get_work_order(dep.work_order_id) if dep.work_order_id else None
        ok = inp.error is None if inp.docker else wo is not None and wo.status == WorkOrderStatus.COMPLETED
        project = await self.store.get_project(dep.project_id)
        forge = forge_for(project.forge, self.settings, project.repository_url, self.store)
        url = (
            project.deployment.environments[dep.env].url
            if project.deployment and dep.env in project.deployment.environments
            else None
        )
        if ok:
            for other in await self.store.list_deployments(project.id, dep.env):
                if other.id != dep.id and other.status == "success":
                    gone = "rolled_back" if other.id == dep.rollback_of else "inactive"
                    await self.store.update_deployment(other.id, status=gone)
                    if other.github_deployment_id is not None:
                        await forge.set_deployment_status(
                            other.github_deployment_id, "inactive", f"replaced by {dep.version}"
                        )
        error = (
            None
            if ok
            else (inp.error or (wo.error_message if wo else None) or "the deploy work order did not complete")
        )
        dep = await self.store.update_deployment(dep.id, status="success" if ok else "failure", error=error)
        if dep.github_deployment_id is not None:
            said = f"{dep.version} is live" if ok else f"failed: {error}"
            await forge.set_deployment_status(
                dep.github_deployment_id, "success" if ok else "failure", said, url
            )
        return dep.status


async def get_deployer(service: ServiceDep) -> Deployer:
    return Deployer(service)


DeployerDep = Annotated[Deployer, Depends(get_deployer)]
router = APIRouter(prefix="/api/projects/{id_or_name}", tags=["ideas"])


@router.post("/deploy", status_code=202)
async def deploy(req: DeployRequest, project: ProjectDep, deployer: DeployerDep) -> DeploymentView:
    """Deploy `version` to environment `env` with the environment's workflow; 202: it has begun."""
    return DeploymentView.of(await deployer.deploy(project, req))


@router.get("/deployments")
async def list_deployments(
    project: ProjectDep,
    deployer: DeployerDep,
    env: Annotated[
        str | None, Query(pattern=ENV_PATTERN, description="Only those to this environment.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeploymentList:
    """The project's deployments, the `limit` newest first; `live` marks what each environment
    runs now."""
    found = await deployer.store.list_deployments(project.id, env, limit)
    return DeploymentList(deployments=[DeploymentView.of(d) for d in found])


@router.get("/deployments/{deployment_id}")
async def get_deployment(
    deployment_id: DeploymentId, project: ProjectDep, deployer: DeployerDep
) -> DeploymentView:
    return DeploymentView.of(await deployer.store.get_deployment(deployment_id, project.id))


@router.post("/deployments/{deployment_id}/rollback", status_code=202)
async def rollback(deployment_id: DeploymentId, project: ProjectDep, deployer: DeployerDep) -> DeploymentView:
    """Deploy the environment's previous good version again (409 when there is none)."""
    return DeploymentView.of(await deployer.rollback(project, deployment_id))
