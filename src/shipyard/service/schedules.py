"""Schedules as the API, the CLI and the dashboard see them: listed with their next firings and
last work order, paused, resumed and fired now. Keeping them in step with projects' sources is
`schedule_sync`'s; what a firing does is `firings`'.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel
from temporalio.client import (
    ScheduleActionExecution,
    ScheduleActionExecutionStartWorkflow,
    ScheduleDescription,
    ScheduleHandle,
    ScheduleOverlapPolicy,
    WorkflowExecutionStatus,
    WorkflowFailureError,
)

from shipyard.domain.errors import Conflict, NotFound, Unavailable
from shipyard.domain.schedules import is_schedule_id, project_of
from shipyard.service.firings import fired_work_order_id
from shipyard.service.schedule_sync import Planned, ScheduleSync, planned_schedules, temporal_calls
from shipyard.store.records import ProjectRecord

NEXT_RUNS = 3
TRIGGER_WAIT_S = 10.0


class ScheduleView(BaseModel):
    """A schedule as the API, the CLI and the dashboard show it."""

    id: str
    project_id: str
    project: str
    source: int
    workflow: str
    cron: str
    timezone: str
    overlap: str
    # missing: not on Temporal (made when serve starts); unknown: no engine here, or it is not answering
    state: Literal["active", "paused", "missing", "unknown"]
    note: str | None = None
    next_runs: list[datetime] = []
    last_fired_at: datetime | None = None
    last_work_order_id: str | None = None
    last_status: str | None = None  # the last work order's, or `not started` when it made none
    last_error: str | None = None  # why the last firing started none


def _firing_id(action: ScheduleActionExecution) -> str | None:
    """The id of the workflow a firing started."""
    return action.workflow_id if isinstance(action, ScheduleActionExecutionStartWorkflow) else None


async def _after_the_last_firings_second(described: ScheduleDescription) -> None:
    """Wait until the second of the last firing has passed: Temporal names a firing's workflow
    after its schedule and its second, so a second firing within it would be refused."""
    recent = described.info.recent_actions
    if recent:
        next_second = recent[-1].scheduled_at.replace(microsecond=0) + timedelta(seconds=1.05)
        await asyncio.sleep(max((next_second - datetime.now(UTC)).total_seconds(), 0))


class ScheduleService(ScheduleSync):
    """Keeps Temporal's schedules in step with projects' sources (ScheduleSync); lists, pauses,
    resumes and triggers them."""

    async def planned(self, sid: str) -> Planned:
        """The planned schedule with this id; NotFound naming it."""
        if is_schedule_id(sid):
            with contextlib.suppress(NotFound):
                project = await self._store.get_project(project_of(sid))
                for p in planned_schedules(project):
                    if p.id == sid:
                        return p
        raise NotFound(f"schedule '{sid}' not found")

    async def list_all(self, project: str | None = None) -> list[ScheduleView]:
        """Every schedule (of `project`, a name or id, if given), by project and source."""
        projects = [await self._store.get_project(project)] if project else await self._store.list_projects()
        return [await self.view(p) for pr in projects for p in planned_schedules(pr)]

    async def of_project(self, project: ProjectRecord) -> list[ScheduleView]:
        """The project's schedules, by source."""
        return [await self.view(p) for p in planned_schedules(project)]

    async def view(self, p: Planned) -> ScheduleView:
        """The schedule as planned, and as Temporal runs it when there is an engine here."""
        source = p.source
        view = ScheduleView(
            id=p.id,
            project_id=p.project.id,
            project=p.project.name,
            source=p.index,
            workflow=source.workflow,
            cron=source.cron or "",
            timezone=source.timezone or "UTC",
            overlap=source.overlap or "skip",
            state="unknown",
        )
        if self._service.client is None:
            return view
        try:
            with temporal_calls(f"schedule {p.id}"):
                described = await self._handle(p.id).describe()
        except NotFound:
            return view.model_copy(update={"state": "missing"})
        except Unavailable:
            return view
        return await self._with_runs(view, described)

    async def _with_runs(self, view: ScheduleView, described: ScheduleDescription) -> ScheduleView:
        state = described.schedule.state
        update: dict[str, object] = {
            "state": "paused" if state.paused else "active",
            "note": state.note or None,
            "next_runs": described.info.next_action_times[:NEXT_RUNS],
        }
        recent = described.info.recent_actions
        if recent:
            last = recent[-1]
            update["last_fired_at"] = last.started_at
            firing_id = _firing_id(last.action)
            if firing_id is not None:
                update |= await self._last_work_order(firing_id)
        return view.model_copy(update=update)

    async def _last_work_order(self, firing_id: str) -> dict[str, object]:
        wid = fired_work_order_id(firing_id)
        try:
            wo = await self._store.get_work_order(wid)
        except NotFound:
            return {"last_status": "not started", "last_error": await self._why_not(firing_id)}
        return {"last_work_order_id": wo.id, "last_status": wo.status.value}

    async def _why_not(self, firing_id: str) -> str | None:
        """Why a firing started no work order: its failure's innermost message (None while it
        runs, or when it found its source gone)."""
        handle = self._client.get_workflow_handle(firing_id)
        if (await handle.describe()).status != WorkflowExecutionStatus.FAILED:
            return None
        try:
            await handle.result()
        except WorkflowFailureError as err:
            cause: BaseException = err
            while cause.__cause__ is not None:
                cause = cause.__cause__
            return getattr(cause, "message", None) or str(cause)
        return None

    async def pause(self, sid: str, note: str | None = None) -> ScheduleView:
        """Stop firing until resumed."""
        p = await self.planned(sid)
        with temporal_calls(f"schedule {sid}"):
            await self._handle(sid).pause(note=note or "paused through Shipyard")
        return await self.view(p)

    async def resume(self, sid: str) -> ScheduleView:
        """Fire again at its times."""
        p = await self.planned(sid)
        with temporal_calls(f"schedule {sid}"):
            await self._handle(sid).unpause(note=f"project {p.project.name}, sources[{p.index}]")
        return await self.view(p)

    async def trigger(self, sid: str) -> tuple[ScheduleView, str | None]:
        """Fire now (a paused one too), and the id of the work order it started once that is
        recorded (None if not within a few seconds, or if the firing started none); Conflict when
        the last work order still runs and the schedule skips overlaps."""
        p = await self.planned(sid)
        handle = self._handle(sid)
        with temporal_calls(f"schedule {sid}"):
            described = await handle.describe()
            overlap = await self._overlap_now(sid, described)
            before = {_firing_id(a.action) for a in described.info.recent_actions}
            await _after_the_last_firings_second(described)
            await handle.trigger(overlap=overlap)
            started = await self._started(handle, before)
        return await self.view(p), started

    async def _started(self, handle: ScheduleHandle, before: set[str | None]) -> str | None:
        """The work order of the first firing not in `before`, once recorded."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TRIGGER_WAIT_S
        firing_id = None
        while loop.time() < deadline:
            if firing_id is None:
                recent = (await handle.describe()).info.recent_actions
                firing_id = next((f for a in recent if (f := _firing_id(a.action)) not in before), None)
            if firing_id is not None:
                with contextlib.suppress(NotFound):
                    return (await self._store.get_work_order(fired_work_order_id(firing_id))).id
                if await self._ended(firing_id):
                    return None
            await asyncio.sleep(0.1)
        return None

    async def _ended(self, firing_id: str) -> bool:
        """Whether the firing's workflow has ended (one that started no work order ends at once)."""
        described = await self._client.get_workflow_handle(firing_id).describe()
        return described.status not in (None, WorkflowExecutionStatus.RUNNING)

    async def _overlap_now(self, sid: str, described: ScheduleDescription) -> ScheduleOverlapPolicy | None:
        """None (the schedule's policy) unless a firing still runs under `skip`: Conflict while
        its work order runs; ALLOW_ALL when that has ended and the firing has yet to notice."""
        running = described.info.running_actions
        if not running or described.schedule.policy.overlap != ScheduleOverlapPolicy.SKIP:
            return None
        wid = fired_work_order_id(_firing_id(running[0]) or "")
        with contextlib.suppress(NotFound):
            if not (await self._store.get_work_order(wid)).status.is_terminal:
                raise Conflict(
                    f"schedule {sid}: its work order {wid} is still running and the schedule"
                    " skips overlapping firings; try again when it has ended"
                )
        return ScheduleOverlapPolicy.ALLOW_ALL
