"""Schedules on Temporal: one Temporal Schedule per `on: schedule` source of a project, made or
updated when the project is saved, deleted with its source or project, and made again at the
start of `serve` for any Temporal does not have (one given by the CLI while no server ran, or a
Temporal that lost its data). What a firing does is `shipyard.service.firings`'.

The project's sources are the truth; Temporal holds the running schedule and its state (paused,
its note, recent and next firings). A schedule's Temporal id names this install's task queue, so
installs and test runs sharing a namespace keep to their own (as their work orders already do).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

import structlog
from pydantic import BaseModel
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionExecution,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleDescription,
    ScheduleHandle,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
    WorkflowExecutionStatus,
)
from temporalio.service import RPCError, RPCStatusCode

from shipyard.domain.errors import Conflict, InvalidInput, NotFound, Unavailable
from shipyard.domain.projects import Source
from shipyard.domain.schedules import is_schedule_id, project_of, schedule_id
from shipyard.service.firings import FireInput, ScheduledWorkOrderWorkflow, fired_work_order_id
from shipyard.service.work_orders import TEMPORAL_DOWN, WorkOrderService
from shipyard.store.records import ProjectRecord

log = structlog.get_logger()
OVERLAPS = {
    "skip": ScheduleOverlapPolicy.SKIP,
    "buffer_one": ScheduleOverlapPolicy.BUFFER_ONE,
    "allow_all": ScheduleOverlapPolicy.ALLOW_ALL,
}
# Firings missed while Temporal was down are made up for when they are this recent; older ones
# are dropped rather than run in a burst when it comes back.
CATCHUP_WINDOW = timedelta(hours=1)
NEXT_RUNS = 3
TRIGGER_WAIT_S = 10.0
_UNREACHABLE = (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED)
NO_ENGINE = "this process has no engine; start `shipyard serve` to run schedules"


@dataclass(frozen=True)
class Planned:
    """A schedule one of a project's sources asks for."""

    id: str
    project: ProjectRecord
    index: int  # the source's place in the project's sources
    source: Source


def planned_schedules(project: ProjectRecord) -> list[Planned]:
    """The schedules of the project's `on: schedule` sources."""
    return [
        Planned(schedule_id(project.id, s.workflow, s.cron, s.timezone), project, index, s)
        for index, s in enumerate(project.sources)
        if s.on == "schedule" and s.cron is not None
    ]


def check_schedules(sources: list[Source]) -> None:
    """InvalidInput naming the pair when two sources make the same schedule (workflow, cron and
    timezone), which would be one schedule firing once."""
    seen: dict[tuple[str, str | None, str | None], int] = {}
    for index, s in enumerate(sources):
        if s.on != "schedule":
            continue
        key = (s.workflow, s.cron, s.timezone)
        if key in seen:
            raise InvalidInput(
                f"sources[{index}]: the same schedule as sources[{seen[key]}] (workflow, cron and"
                " timezone); give its inputs to one source, or fire it at another time"
            )
        seen[key] = index


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
    state: Literal["active", "paused", "missing", "unknown"]  # missing: not on Temporal; unknown: no engine
    note: str | None = None
    next_runs: list[datetime] = []
    last_fired_at: datetime | None = None
    last_work_order_id: str | None = None
    last_status: str | None = None  # the last work order's, or `not started` when it made none


def _firing_id(action: ScheduleActionExecution) -> str | None:
    """The id of the workflow a firing started."""
    return action.workflow_id if isinstance(action, ScheduleActionExecutionStartWorkflow) else None


@contextlib.contextmanager
def temporal_calls(what: str) -> Iterator[None]:
    """Temporal's refusals in words: Unavailable when it does not answer, InvalidInput when it
    refuses a spec, NotFound when it has no such schedule."""
    try:
        yield
    except RPCError as err:
        if err.status in _UNREACHABLE:
            raise Unavailable(TEMPORAL_DOWN) from err
        if err.status == RPCStatusCode.INVALID_ARGUMENT:
            raise InvalidInput(f"{what}: Temporal refused it: {err.message}") from err
        if err.status == RPCStatusCode.NOT_FOUND:
            raise NotFound(f"{what} is not on Temporal") from err
        raise Conflict(f"{what}: Temporal refused: {err.message}") from err


class ScheduleService:
    """Keeps Temporal's schedules in step with projects' sources; lists, pauses, resumes and
    triggers them."""

    def __init__(self, service: WorkOrderService) -> None:
        self._service = service
        self._store = service.store
        self._queue = service.settings.task_queue

    @property
    def _client(self) -> Client:
        if self._service.client is None:
            raise Conflict(NO_ENGINE)
        return self._service.client

    def temporal_id(self, sid: str) -> str:
        return f"shipyard:{self._queue}:{sid}"

    def _handle(self, sid: str) -> ScheduleHandle:
        return self._client.get_schedule_handle(self.temporal_id(sid))

    # keeping in step

    async def sync(self, project: ProjectRecord, before: ProjectRecord | None = None) -> None:
        """Make or update the project's schedules and delete those `before` had that it has not;
        nothing here without an engine (`serve` makes them when it starts)."""
        if self._service.client is None:
            return
        planned = planned_schedules(project)
        wanted = {p.id for p in planned}
        gone = [p.id for p in planned_schedules(before) if p.id not in wanted] if before else []
        try:
            for sid in gone:
                await self._delete(sid)
            for p in planned:
                await self._put(p)
        except (Unavailable, Conflict) as err:  # the change is saved: `serve` makes them when it starts
            log.warning("schedules_not_synced", project=project.name, error=err.message)

    async def remove(self, project: ProjectRecord) -> None:
        """Delete the project's schedules (the project is being deleted)."""
        if self._service.client is None:
            return
        with contextlib.suppress(Unavailable):
            for p in planned_schedules(project):
                await self._delete(p.id)

    async def reconcile(self) -> int:
        """Make every planned schedule Temporal lacks and delete this install's that no source
        asks for any more; how many were made or deleted."""
        changed = 0
        wanted: set[str] = set()
        for project in await self._store.list_projects():
            for p in planned_schedules(project):
                wanted.add(self.temporal_id(p.id))
                try:
                    changed += await self._put(p)
                except InvalidInput as err:
                    log.warning("schedule_refused", schedule=p.id, error=err.message)
        prefix = self.temporal_id("sch-")
        with temporal_calls("listing schedules"):
            listed = [s.id async for s in await self._client.list_schedules()]
        for gone in [tid for tid in listed if tid.startswith(prefix) and tid not in wanted]:
            await self._delete(gone.removeprefix(self.temporal_id("")))
            changed += 1
        return changed

    def _schedule(self, p: Planned) -> Schedule:
        source = p.source
        assert source.cron is not None
        action = ScheduleActionStartWorkflow(
            ScheduledWorkOrderWorkflow.run,
            FireInput(schedule_id=p.id, project_id=p.project.id),
            id=self.temporal_id(p.id),
            task_queue=self._queue,
        )
        return Schedule(
            action=action,
            spec=ScheduleSpec(cron_expressions=[source.cron], time_zone_name=source.timezone),
            policy=SchedulePolicy(overlap=OVERLAPS[source.overlap or "skip"], catchup_window=CATCHUP_WINDOW),
            state=ScheduleState(note=f"project {p.project.name}, sources[{p.index}]"),
        )

    async def _put(self, p: Planned) -> bool:
        """Create the schedule, or update the one there (keeping whether it is paused); whether
        it was created."""
        schedule = self._schedule(p)
        with temporal_calls(f"sources[{p.index}] (schedule {p.id})"):
            try:
                await self._client.create_schedule(self.temporal_id(p.id), schedule)
                return True
            except ScheduleAlreadyRunningError:
                pass

            def keep_state(current: ScheduleUpdateInput) -> ScheduleUpdate:
                old = current.description.schedule
                return ScheduleUpdate(replace(schedule, state=old.state))

            await self._handle(p.id).update(keep_state)
            return False

    async def _delete(self, sid: str) -> None:
        with contextlib.suppress(NotFound), temporal_calls(f"schedule {sid}"):
            await self._handle(sid).delete()

    # reading and acting

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
            return {"last_status": "not started"}
        return {"last_work_order_id": wo.id, "last_status": wo.status.value}

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
