"""What a schedule does when it fires: Temporal starts a small `ScheduledWorkOrder` workflow,
whose activity creates the work order through `WorkOrderService.create` exactly as a webhook's
source does (trigger recorded, inputs rendered, the project's defaults), and which then waits,
on durable timers, until that work order has ended.

Why a workflow that starts the work order rather than a schedule that starts `WorkOrder` itself:
a work order is a row in our store before it is a workflow (its id, branch, budget, trigger), and
only an activity may write the store. Why it waits for the work order: Temporal's overlap policy
(`skip` by default) looks at the workflow the schedule started, so that workflow lives as long as
the work order does; it polls the store with growing pauses (timers take no worker slot, unlike an
activity waiting on the work order's result) and continues as new when its history grows long.

What survives: the schedule and each firing live in Temporal (the embedded server keeps them in
the data dir's temporal.db); a firing whose worker is gone waits in the task queue, and a retried
activity finds the work order it made, since the work order's id is derived from the firing's
workflow id. A firing whose source was removed meanwhile starts nothing.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import structlog
from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

from shipyard.domain.errors import NotFound, ShipyardError

with workflow.unsafe.imports_passed_through():
    from shipyard.domain.ids import derived_work_order_id
    from shipyard.domain.models import CreateWorkOrderRequest
    from shipyard.domain.projects import Source
    from shipyard.engine.activities import to_application_error
    from shipyard.service.work_orders import WorkOrderService
    from shipyard.store.records import ProjectRecord
    from shipyard.workflows.templating import render

log = structlog.get_logger()
START_TIMEOUT = timedelta(minutes=5)
START_ATTEMPTS = 5
POLL_S = (2.0, 60.0)  # first and longest pause between looks at the work order
_SCHEDULED_AT = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


class FireInput(BaseModel):
    """What a schedule starts its workflow with; `work_order_id` when continued as new."""

    schedule_id: str
    project_id: str
    work_order_id: str | None = None


class StartInput(BaseModel):
    schedule_id: str
    project_id: str
    firing_id: str  # the firing workflow's id: Temporal makes it from the schedule's and the time
    scheduled_at: datetime


def fired_work_order_id(firing_id: str) -> str:
    """The id of the work order a firing starts: the same firing (an activity retried) finds it."""
    return derived_work_order_id("schedule", firing_id)


@workflow.defn(name="ScheduledWorkOrder")
class ScheduledWorkOrderWorkflow:
    """Start the schedule's work order, then wait until it has ended."""

    @workflow.run
    async def run(self, inp: FireInput) -> str | None:
        work_order_id = inp.work_order_id
        if work_order_id is None:
            info = workflow.info()
            scheduled_at = info.typed_search_attributes.get(_SCHEDULED_AT) or workflow.now()
            start = StartInput(
                schedule_id=inp.schedule_id,
                project_id=inp.project_id,
                firing_id=info.workflow_id,
                scheduled_at=scheduled_at,
            )
            work_order_id = await workflow.execute_activity_method(
                ScheduleActivities.start_work_order,
                start,
                start_to_close_timeout=START_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=START_ATTEMPTS),
            )
            if work_order_id is None:
                return None
        await self._until_ended(inp.model_copy(update={"work_order_id": work_order_id}))
        return work_order_id

    async def _until_ended(self, inp: FireInput) -> None:
        assert inp.work_order_id is not None
        pause_s, longest_s = POLL_S
        while not await workflow.execute_activity_method(
            ScheduleActivities.work_order_ended,
            inp.work_order_id,
            start_to_close_timeout=timedelta(minutes=1),
        ):
            await asyncio.sleep(pause_s)  # a durable timer
            pause_s = min(pause_s * 2, longest_s)
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(inp)


class ScheduleActivities:
    """The firing's activities, with the service they create work orders through."""

    def __init__(self, service: WorkOrderService) -> None:
        self.service = service

    @activity.defn(name="start_scheduled_work_order")
    async def start_work_order(self, inp: StartInput) -> str | None:
        """Create the schedule's work order; None when its project or source is gone."""
        from shipyard.service.schedule_sync import planned_schedules  # (a cycle at import otherwise)

        try:
            project = await self.service.store.get_project(inp.project_id)
        except NotFound:
            return None
        found = [p for p in planned_schedules(project) if p.id == inp.schedule_id]
        if not found:
            log.info("schedule_source_gone", schedule=inp.schedule_id)
            return None
        try:
            return await self._create(project, found[0].source, inp)
        except ShipyardError as err:
            log.warning("scheduled_work_order_refused", schedule=inp.schedule_id, error=err.message)
            raise to_application_error(err) from None

    async def _create(self, project: ProjectRecord, source: Source, inp: StartInput) -> str:
        event = schedule_event(inp, project)
        request = CreateWorkOrderRequest(
            repository_url=project.repository_url,
            workflow_type=source.workflow,
            inputs={name: render(text, {"event": event}) for name, text in source.inputs.items()},
            agent=source.agent,
            sandbox_type=source.sandbox_type,
            project=project.id,
        )
        wid = fired_work_order_id(inp.firing_id)
        wo = await self.service.create(request, trigger=event, work_order_id=wid)
        return wo.id

    @activity.defn(name="scheduled_work_order_ended")
    async def work_order_ended(self, work_order_id: str) -> bool:
        """Whether the work order has ended (or is gone)."""
        try:
            wo = await self.service.store.get_work_order(work_order_id)
        except NotFound:
            return True
        return wo.status.is_terminal


def schedule_event(inp: StartInput, project: ProjectRecord) -> dict[str, Any]:
    """What a firing records as its work order's trigger, and what input templates see as `event`."""
    return {
        "source": "schedule",
        "event": "schedule",
        "schedule_id": inp.schedule_id,
        "scheduled_at": inp.scheduled_at.isoformat(),
        "firing_id": inp.firing_id,
        "project": project.name,
    }
