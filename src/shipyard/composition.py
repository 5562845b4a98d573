"""The composition root: what the layers above the engine add to a worker. The engine knows
nothing of them; the front doors that start a worker (`serve`, `worker`, an embedded `run`) pass
`worker_parts` to `open_engine`. Products add their workflows and activities here, and their
routers (`product_routers`, which the API mounts)."""

from __future__ import annotations

from fastapi import APIRouter
from temporalio.client import Client

from shipyard.config import Settings
from shipyard.engine.worker import WorkerParts
from shipyard.ideas.activities import IdeaActivities
from shipyard.ideas.deploy import DeployActivities
from shipyard.ideas.deploy_workflow import DeploymentWorkflow
from shipyard.ideas.workflow import IdeaRunWorkflow
from shipyard.plans.activities import PlanActivities
from shipyard.plans.workflow import ClusterWorkWorkflow
from shipyard.service.deliveries import DeliveryProcessor
from shipyard.service.firings import ScheduleActivities, ScheduledWorkOrderWorkflow
from shipyard.service.work_orders import WorkOrderService
from shipyard.store.store import Store


def worker_parts(settings: Settings, store: Store, client: Client) -> WorkerParts:
    """Webhook deliveries' processor (service/deliveries.py), schedules' firings
    (service/firings.py), idea runs and deployments (ideas/), clusters' plans and fixes (plans/)."""
    service = WorkOrderService(settings, store, client)
    firings = ScheduleActivities(service)
    ideas = IdeaActivities(service)
    deploys = DeployActivities(service)
    plans = PlanActivities(service)
    return WorkerParts(
        workflows=[
            ScheduledWorkOrderWorkflow, IdeaRunWorkflow, DeploymentWorkflow, ClusterWorkWorkflow,
        ],
        activities=[
            firings.start_work_order, firings.work_order_ended,
            ideas.set_state, ideas.prepare, ideas.start_work, ideas.work_ended, ideas.plant,
            ideas.children, ideas.open_branch, ideas.file_defects, ideas.hold, ideas.merge, ideas.release,
            ideas.deploy_plan, ideas.deploy,
            deploys.begin, deploys.docker, deploys.end,
            plans.start_plan, plans.plan_ended, plans.start_fix, plans.fix_ended,
        ],
        jobs=[DeliveryProcessor(service).run],
    )  # fmt: skip


def product_routers() -> list[APIRouter]:
    """The products' API routes (behind the API token, like the work orders')."""
    from shipyard.ideas.actions import router as run_status
    from shipyard.ideas.agents import router as agents
    from shipyard.ideas.chat import router as chat
    from shipyard.ideas.code import router as code
    from shipyard.ideas.deploy import router as deploys
    from shipyard.ideas.routes import router as ideas
    from shipyard.ideas.stream import router as run_stream
    from shipyard.plans.routes import router as plans

    return [ideas, run_stream, code, run_status, agents, deploys, chat, plans]


def product_open_routers() -> list[APIRouter]:
    """The products' routes that check a token of their own (a remote runner's job token)."""
    from shipyard.plans.routes import callbacks

    return [callbacks]
