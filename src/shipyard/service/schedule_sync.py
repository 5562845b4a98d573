"""Keeping Temporal's schedules in step with projects' sources: one Temporal Schedule per
`on: schedule` source, made or updated when the project is saved (a paused one stays paused),
deleted with its source or project, and made again when `serve` starts for any Temporal lacks
(one given through the CLI while no server ran, or a Temporal that lost its data).

The project's sources are the truth; Temporal holds the running schedule and its state (paused,
its note, recent and next firings). A schedule's Temporal id names this install's task queue, so
installs and test runs sharing a namespace keep to their own (as their work orders already do).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta

import structlog
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleHandle,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from shipyard.domain.errors import Conflict, InvalidInput, NotFound, Unavailable
from shipyard.domain.projects import Source
from shipyard.domain.schedules import schedule_id
from shipyard.service.firings import FireInput, ScheduledWorkOrderWorkflow
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


class ScheduleSync:
    """Makes, updates and deletes a project's schedules on Temporal."""

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
