"""What front doors read about work orders (rows, steps, events, artifacts, pull requests, health),
and what a sandbox reports back about its own: WorkOrderService's side that only touches the store."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.client import Client

from shipyard.config import Settings
from shipyard.domain.errors import InvalidInput
from shipyard.domain.jsontext import text_problem
from shipyard.domain.models import WorkOrderStatus
from shipyard.domain.work_orders import Step, WorkOrder
from shipyard.engine.devserver import TemporalWatch
from shipyard.engine.sink import sink_for
from shipyard.service.events import EventFeed
from shipyard.service.health import HealthCheck, check_database, check_disk, check_temporal
from shipyard.store.records import (
    ArtifactRecord,
    EventRecord,
    PullRequestRecord,
)
from shipyard.store.store import Store


class WorkOrderReads:
    """Reads and sandbox reports; WorkOrderService holds the settings, store and client they use."""

    settings: Settings
    store: Store
    client: Client | None
    temporal_watch: TemporalWatch | None  # the embedded dev server's supervision, if any

    async def get(self, work_order_id: str) -> WorkOrder:
        """The work order; NotFound naming it when there is none."""
        return await self.store.get_work_order(work_order_id)

    async def search(
        self,
        *,
        status: WorkOrderStatus | None = None,
        repository: str | None = None,
        search: str | None = None,
        parent_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[WorkOrder], int]:
        """A page of work orders, newest first, and how many match in all. InvalidInput for text
        no database can take (a NUL, a lone surrogate)."""
        for value, name in ((repository, "repository"), (search, "q"), (parent_id, "parent_id")):
            if value is not None and (problem := text_problem(value, name)):
                raise InvalidInput(problem)
        return await self.store.list_work_orders(
            status=status,
            repository=repository,
            search=search,
            parent_id=parent_id,
            limit=limit,
            offset=offset,
        )

    async def children(self, work_order_id: str) -> list[WorkOrder]:
        """The work orders a work order's `call` steps started, oldest first."""
        return await self.store.children(work_order_id)

    async def repositories(self) -> list[str]:
        """Every repository some work order was for, in order."""
        return await self.store.repositories()

    async def steps(self, work_order_id: str) -> list[Step]:
        """The work order's steps in position order."""
        return await self.store.list_steps(work_order_id)

    async def events(
        self, work_order_id: str, *, limit: int = 100, offset: int = 0
    ) -> tuple[list[EventRecord], int]:
        """A page of the work order's events in order, and how many it has in all."""
        return await self.store.list_events(work_order_id, limit=limit, offset=offset)

    async def last_events(
        self, work_order_id: str, *, limit: int, before_id: int | None = None
    ) -> list[EventRecord]:
        """The work order's last `limit` events (before `before_id`, if given), in order."""
        return await self.store.last_events(work_order_id, limit=limit, before_id=before_id)

    async def count_events(self, work_order_id: str, *, before_id: int | None = None) -> int:
        """How many events the work order has (before `before_id`, if given)."""
        return await self.store.count_events(work_order_id, before_id=before_id)

    def event_feed(self) -> EventFeed:
        """The event log as live streams follow it."""
        return EventFeed(self.store)

    async def pull_request(self, number: int) -> PullRequestRecord:
        """A local pull request by its number; NotFound when there is none."""
        return await self.store.get_pull_request(number)

    async def artifacts(self, work_order_id: str) -> list[ArtifactRecord]:
        """The work order's artifacts."""
        return await self.store.list_artifacts(work_order_id)

    async def read_artifact(self, work_order_id: str, name: str) -> tuple[ArtifactRecord, bytes]:
        """An artifact and its content; NotFound when the work order has none of that name."""
        return await self.store.read_artifact(work_order_id, name)

    async def report(
        self, wo: WorkOrder, event_type: str, data: dict[str, Any], level: str, step_id: str | None
    ) -> None:
        """Append an event a sandbox sent about its work order (secrets redacted, as for every event)."""
        await sink_for(self.settings, self.store, wo, step_id).emit(event_type, data, level)

    async def save_artifact(self, wo: WorkOrder, name: str, kind: str, content: bytes) -> ArtifactRecord:
        """Keep `content` as the artifact `name` (replacing one of that name) and say so in an event."""
        saved = await self.store.save_artifact(wo.id, name, kind, content)
        data = {"name": name, "size": saved.size, "sha256": saved.sha256}
        await sink_for(self.settings, self.store, wo).emit("artifact.uploaded", data)
        return saved

    async def check_health(self) -> HealthCheck:
        """Whether the database and the engine answer and the data dir has room; never raises."""
        watch = self.temporal_watch
        database, temporal = await asyncio.gather(  # at once: each waits on its own peer
            check_database(self.store), check_temporal(self.client, watch)
        )
        return HealthCheck(
            database=database,
            temporal=temporal,
            disk=check_disk(self.settings.data_dir),
            temporal_restarts=watch.restarts if watch else 0,
        )
