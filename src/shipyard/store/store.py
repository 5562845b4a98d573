"""The Store: every read and write of the read model, each in its own short transaction."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, bindparam, func, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shipyard.domain.errors import Conflict, NotFound
from shipyard.domain.models import Usage, WorkOrderStatus, can_transition
from shipyard.domain.work_orders import (
    Step,
    StepChange,
    WorkOrder,
    WorkOrderChange,
    WorkOrderCreate,
    usage_fields,
)
from shipyard.store.artifacts import ArtifactRows
from shipyard.store.base import columns, stored
from shipyard.store.deployments import DeploymentRows
from shipyard.store.doorbell import CHANNEL, BellSender, bell_address, listen, listen_for_bells
from shipyard.store.engine import create_engine, is_sqlite
from shipyard.store.github_rows import GitHubRows
from shipyard.store.ideas import IdeaRows
from shipyard.store.migrate import upgrade
from shipyard.store.plans import PlanRows
from shipyard.store.projects import ProjectRows, project_row
from shipyard.store.records import (
    EventRecord,
    NewEvent,
    PullRequestRecord,
    checked_fields,
    work_order_columns,
)
from shipyard.store.roles import RoleRows
from shipyard.store.search import matching as search_matching
from shipyard.store.secrets import SecretRows
from shipyard.store.slots import SlotRows
from shipyard.store.tables import Event, PullRequest, utc_now
from shipyard.store.tables import Step as StepRow
from shipyard.store.tables import WorkOrder as WorkOrderRow

_PR_FIELDS = columns(PullRequest, "id", "work_order_id", "created_at", "updated_at")


class Store(
    ProjectRows, SecretRows, GitHubRows, ArtifactRows, SlotRows, IdeaRows, RoleRows, DeploymentRows, PlanRows
):
    """The read model: projects and their secrets, work orders, steps, events, artifacts, local
    pull requests, webhook deliveries and dispatches (all but work orders, steps, events and pull
    requests live in their own modules)."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self._sqlite = is_sqlite(engine.url)
        self._notify = not self._sqlite
        self._bell = None if self._notify else bell_address(engine.url)
        self._bell_sender = BellSender(self._bell) if self._bell else None

    @classmethod
    async def open(cls, url: str) -> Store:
        """Migrate the database at `url` to head and return a Store on it."""
        await upgrade(url)
        return cls(create_engine(url))

    async def close(self) -> None:
        """Close every pooled connection."""
        if self._bell_sender is not None:
            self._bell_sender.close()
        await self.engine.dispose()
        if self.read_engine.pool is not self.engine.pool:
            await self.read_engine.dispose()

    async def ping(self) -> None:
        """Raise unless the database answers."""
        async with self._read() as session:
            await session.execute(text("SELECT 1"))

    # -- work orders --------------------------------------------------------------------------

    async def create_work_order(self, data: WorkOrderCreate) -> WorkOrder:
        """Insert a `pending` work order."""
        now = utc_now()
        row = WorkOrderRow(
            **data.model_dump(),
            status=WorkOrderStatus.PENDING.value,
            created_at=now,
            updated_at=now,
        )
        async with self._writing() as session:
            if data.parent_id is not None:
                await _lock_work_order(session, data.parent_id)
            if data.project_id is not None:
                await project_row(session, data.project_id)
            session.add(row)
            try:
                await session.flush()
            except IntegrityError:
                raise Conflict(f"work order '{data.id}' already exists") from None
            return _work_order(row)

    async def forget_work_order(self, id: str) -> None:
        """Delete a work order that never started (its start was refused before it began)."""
        async with self._writing() as session:
            row = await session.get(WorkOrderRow, id)
            if row is not None and row.status == WorkOrderStatus.PENDING.value:
                await session.delete(row)

    async def get_work_order(self, id: str) -> WorkOrder:
        """The work order `id`; NotFound if there is none."""
        async with self.read_engine.connect() as conn:
            row = (await conn.execute(_ONE, {"id": id})).first()
        if row is None:
            raise NotFound(f"work order '{id}' not found")
        return WorkOrder.model_validate(dict(row._mapping))

    async def list_work_orders(
        self,
        *,
        status: WorkOrderStatus | None = None,
        repository: str | None = None,
        search: str | None = None,
        parent_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[WorkOrder], int]:
        """A page of work orders, newest first, and how many match in all. `search` matches a
        part of the id, workflow, repository, branch, error or latest commit message. Their
        `definition` is not read (None): a page has no use for it, and it is most of a row."""
        matching = []
        if status is not None:
            matching.append(_COLUMN.status == WorkOrderStatus(status).value)
        if repository:
            matching.append(_COLUMN.repository_url == repository)
        if parent_id:
            matching.append(_COLUMN.parent_id == parent_id)
        search = (search or "").strip()
        if search:
            matching.append(search_matching(search, sqlite=self._sqlite))
        page = (
            select(*_LISTED_COLUMNS)
            .where(*matching)
            .order_by(_COLUMN.created_at.desc(), _COLUMN.id.desc())
            .limit(limit)
            .offset(offset)
        )
        # Counted straight from the table (an index, when one covers the filters), not over a
        # subquery of whole rows, which read every row's definition.
        counted = select(func.count()).select_from(WorkOrderRow.__table__).where(*matching)
        async with self.read_engine.connect() as conn:  # plain rows: no ORM session needed
            if search:
                # One query gives the page and, over the same matches, their count: a second
                # would search all over again. (An offset past the end finds no row to carry
                # the count: then it is counted apart.)
                found = (await conn.execute(page.add_columns(func.count().over()))).all()
                if found or not offset:
                    return [_listed_work_order(row) for row in found], int(found[0][-1]) if found else 0
            total = int(await conn.scalar(counted) or 0)
            rows = await conn.execute(page)
            return [_listed_work_order(r) for r in rows], total

    async def children(self, parent_id: str) -> list[WorkOrder]:
        """The work orders whose parent is `parent_id`, oldest first (their definitions not read)."""
        async with self.read_engine.connect() as conn:
            return [_listed_work_order(row) for row in await conn.execute(_CHILDREN, {"parent": parent_id})]

    async def repositories(self) -> list[str]:
        """Every repository some work order was for, in order."""
        query = select(WorkOrderRow.repository_url).distinct().order_by(WorkOrderRow.repository_url)
        async with self._read() as session:
            return list(await session.scalars(query))

    async def finished_work_orders(self, limit: int = 10_000) -> list[WorkOrder]:
        """The newest work orders that ended (completed, failed or cancelled), for metrics."""
        ended = [s.value for s in WorkOrderStatus if s.is_terminal]
        query = select(WorkOrderRow).where(WorkOrderRow.status.in_(ended))
        async with self._read() as session:
            rows = await session.scalars(query.order_by(WorkOrderRow.created_at.desc()).limit(limit))
            return [_work_order(r) for r in rows]

    async def work_orders_on_branch(self, branch: str) -> list[WorkOrder]:
        """The work orders whose git branch is `branch`, oldest first."""
        query = select(WorkOrderRow).where(WorkOrderRow.git_branch_name == branch)
        async with self._read() as session:
            rows = await session.scalars(query.order_by(WorkOrderRow.created_at, WorkOrderRow.id))
            return [_work_order(r) for r in rows]

    async def latest_work_order_about(self, repository_url: str, number: int) -> WorkOrder | None:
        """The newest work order on `repository_url` about issue or pull request `number`: the
        issue it was started for, or the pull request it opened."""
        about = or_(
            WorkOrderRow.github_issue_number == str(number),
            WorkOrderRow.github_pull_request_url.like(f"%/pull/{number}"),
        )
        query = select(WorkOrderRow).where(WorkOrderRow.repository_url == repository_url, about)
        async with self._read() as session:
            row = await session.scalar(
                query.order_by(WorkOrderRow.created_at.desc(), WorkOrderRow.id).limit(1)
            )
            return None if row is None else _work_order(row)

    async def update_work_order(self, id: str, change: WorkOrderChange) -> WorkOrder:
        """Write `change` to the work order; a status change must be a legal transition."""
        async with self._writing() as session:
            return _work_order(await stored(session, await _changed(session, id, change)))

    async def update_work_order_saying(
        self, id: str, change: WorkOrderChange, event: NewEvent, step_id: str | None = None
    ) -> EventRecord:
        """Write `change` to the work order and append the event that says so, in one transaction:
        whoever reads the new status finds the event too (a work order's end and its
        `workflow.*` event)."""
        async with self._writing() as session:
            await _changed(session, id, change)
            [record] = await self._added_events(session, id, step_id, [event])
        self._ring(id)
        return record

    async def add_usage(self, ids: list[str], usage: Usage) -> None:
        """Add `usage` to each of these work orders' (a step's own, and its ancestors'), each row
        locked while it is read and written, so that steps recording at once all count."""
        async with self._writing() as session:
            for id in ids:
                row = await _lock_work_order(session, id)
                spent = _work_order(row).usage + usage
                for key, value in usage_fields(spent).items():
                    setattr(row, key, value)
                row.updated_at = utc_now()

    # -- steps --------------------------------------------------------------------------------

    async def upsert_step(self, work_order_id: str, step_id: str, change: StepChange) -> Step:
        """Create the step or write `change` to it."""
        values = change.fields()
        async with self._writing() as session:
            await self._hold(session, work_order_id)
            row = await session.get(StepRow, (work_order_id, step_id))
            if row is None:
                row = StepRow(work_order_id=work_order_id, step_id=step_id)
                session.add(row)
            for key, value in values.items():
                setattr(row, key, value)
            with _of_known_work_order(work_order_id):
                return _step(await stored(session, row))

    async def list_steps(self, work_order_id: str) -> list[Step]:
        """The work order's steps in workflow order."""
        async with self.read_engine.connect() as conn:
            rows = await conn.execute(_STEPS, {"work_order": work_order_id})
            return [Step.model_validate(dict(row._mapping)) for row in rows]

    # -- events -------------------------------------------------------------------------------

    async def append_event(
        self,
        work_order_id: str,
        type: str,
        data: dict[str, Any] | None = None,
        *,
        level: str = "info",
        step_id: str | None = None,
    ) -> EventRecord:
        """Append one event; its id is greater than that of every event before it."""
        [record] = await self.append_events(work_order_id, step_id, [NewEvent(type, data or {}, level)])
        return record

    async def append_events(
        self, work_order_id: str, step_id: str | None, events: Sequence[NewEvent]
    ) -> list[EventRecord]:
        """Append a work order's (step's) events in one transaction, ids increasing in their order
        and above those of every event before them."""
        async with self._writing() as session:
            # Held, a work order's appends are ordered, so ids commit in increasing order and a
            # reader resuming after an id never misses a later-committed smaller one.
            await self._hold(session, work_order_id)
            records = await self._added_events(session, work_order_id, step_id, events)
        self._ring(work_order_id)
        return records

    async def _added_events(
        self, session: AsyncSession, work_order_id: str, step_id: str | None, events: Sequence[NewEvent]
    ) -> list[EventRecord]:
        """Insert the events in their order, in the caller's transaction (which `_hold` or
        `_changed` ordered); listeners on PostgreSQL hear of them when it commits."""
        rows = [
            Event(
                work_order_id=work_order_id,
                step_id=step_id,
                type=e.type,
                level=e.level,
                ts=e.ts or utc_now(),
                data=dict(e.data),
            )
            for e in events
        ]
        session.add_all(rows)  # inserted in this order (the unit of work keeps it for one table)
        with _of_known_work_order(work_order_id):
            await session.flush()
        if self._notify:  # delivered to listeners when the transaction commits
            await session.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": work_order_id})
        return [EventRecord.model_validate(row) for row in rows]

    async def _hold(self, session: AsyncSession, work_order_id: str) -> None:
        """Order this write transaction after earlier ones of the work order. On PostgreSQL its row
        is locked (NotFound when there is none); on SQLite the transaction (BEGIN IMMEDIATE) holds
        the database's one write lock already, and the foreign keys refuse rows of an unknown work
        order (`_of_known_work_order`): a statement fewer per write, most of them events."""
        if not self._sqlite:
            await _lock_id(session, work_order_id)

    def _ring(self, work_order_id: str) -> None:
        """Wake this process's readers of the work order's events, after the commit (so they see
        them), and the serving process's, when it is another."""
        self.doorbell.ring(work_order_id)
        if self._bell_sender is not None:
            self._bell_sender.ring(work_order_id)

    async def listen(self) -> None:
        """Ring the doorbell for events other processes append; runs until cancelled (returns at
        once where nothing can be listened to: readers poll)."""
        if self._notify:
            await listen(self.engine.url, self.doorbell)
        elif self._bell is not None:
            await listen_for_bells(self._bell, self.doorbell)

    async def tail_events(
        self,
        after_id: int,
        *,
        work_order_id: str | None = None,
        upto: int | None = None,
        limit: int = 500,
    ) -> list[EventRecord]:
        """Events with ids above `after_id` (and at most `upto`), of one work order or all, oldest first."""
        query = select(_EVENT_TABLE).where(_EVENT.id > after_id)
        if upto is not None:
            query = query.where(_EVENT.id <= upto)
        if work_order_id is not None:
            query = query.where(_EVENT.work_order_id == work_order_id)
        async with self.read_engine.connect() as conn:  # plain rows: every event stream reads here
            rows = await conn.execute(query.order_by(_EVENT.id).limit(limit))
            return [EventRecord.model_validate(dict(row._mapping)) for row in rows]

    async def latest_event_id(self, work_order_id: str | None = None) -> int:
        """The highest event id so far, of one work order or of all (0 when there is none)."""
        query = select(func.max(Event.id))
        if work_order_id is not None:
            query = query.where(Event.work_order_id == work_order_id)
        async with self._read() as session:
            return int(await session.scalar(query) or 0)

    async def list_events(
        self, work_order_id: str, *, after_id: int | None = None, limit: int = 100, offset: int = 0
    ) -> tuple[list[EventRecord], int]:
        """A page of the work order's events in order, and how many match in all."""
        matching = [_EVENT.work_order_id == work_order_id]
        if after_id is not None:
            matching.append(_EVENT.id > after_id)
        page = select(_EVENT_TABLE).where(*matching).order_by(_EVENT.id).limit(limit).offset(offset)
        counted = select(func.count()).select_from(_EVENT_TABLE).where(*matching)
        async with self.read_engine.connect() as conn:
            total = int(await conn.scalar(counted) or 0)
            rows = await conn.execute(page)
            return [EventRecord.model_validate(dict(row._mapping)) for row in rows], total

    async def count_events(self, work_order_id: str, *, before_id: int | None = None) -> int:
        """How many events the work order has (before `before_id`, if given)."""
        query = select(func.count()).where(Event.work_order_id == work_order_id)
        if before_id is not None:
            query = query.where(Event.id < before_id)
        async with self._read() as session:
            return int(await session.scalar(query) or 0)

    async def last_events(
        self, work_order_id: str, *, limit: int, before_id: int | None = None
    ) -> list[EventRecord]:
        """The work order's last `limit` events (before `before_id`, if given), in order."""
        query = select(Event).where(Event.work_order_id == work_order_id)
        if before_id is not None:
            query = query.where(Event.id < before_id)
        async with self._read() as session:
            rows = await session.scalars(query.order_by(Event.id.desc()).limit(limit))
            return [EventRecord.model_validate(r) for r in reversed(list(rows))]

    # -- pull requests ------------------------------------------------------------------------

    async def save_pull_request(self, work_order_id: str, **fields: Any) -> PullRequestRecord:
        """Insert or update the work order's pull request; a new one is numbered by its row id."""
        values = checked_fields(fields, _PR_FIELDS, "pull request")
        now = utc_now()
        async with self._writing() as session:
            owner = await _lock_work_order(session, work_order_id)
            row = await session.scalar(_pr_of(work_order_id))
            if row is None:
                row = _new_pull_request(owner, now)
                session.add(row)
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = now
            await session.flush()
            if "number" not in values and row.number == 0:
                row.number = row.id
            return PullRequestRecord.model_validate(await stored(session, row))

    async def get_pull_request(self, number: int, repository_url: str | None = None) -> PullRequestRecord:
        """The pull request `number` (of `repository_url` if given); NotFound if there is none."""
        query = select(PullRequest).where(PullRequest.number == number)
        if repository_url is not None:
            query = query.where(PullRequest.repository_url == repository_url)
        async with self._read() as session:
            row = await session.scalar(query.order_by(PullRequest.id.desc()).limit(1))
            if row is None:
                raise NotFound(f"pull request #{number} not found")
            return PullRequestRecord.model_validate(row)

    async def get_pull_request_for_work_order(self, work_order_id: str) -> PullRequestRecord | None:
        """The work order's pull request, if it has one."""
        async with self._read() as session:
            row = await session.scalar(_pr_of(work_order_id))
            return None if row is None else PullRequestRecord.model_validate(row)

    async def open_pull_request(self, repository_url: str, **fields: Any) -> PullRequestRecord:
        """Insert a pull request of no work order (opened by hand), numbered by its row id."""
        values = checked_fields(fields, _PR_FIELDS - {"number"}, "pull request")
        now = utc_now()
        async with self._writing() as session:
            row = PullRequest(repository_url=repository_url, number=0, created_at=now, updated_at=now)
            for key, value in values.items():
                setattr(row, key, value)
            session.add(row)
            await session.flush()
            row.number = row.id
            return PullRequestRecord.model_validate(await stored(session, row))

    async def update_pull_request(self, id: int, **fields: Any) -> PullRequestRecord:
        """Set `fields` on the pull request whose row id is `id`; NotFound if there is none."""
        values = checked_fields(fields, _PR_FIELDS, "pull request")
        async with self._writing() as session:
            row = await session.get(PullRequest, id, with_for_update=True)
            if row is None:
                raise NotFound(f"pull request row {id} not found")
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = utc_now()
            return PullRequestRecord.model_validate(await stored(session, row))

    async def list_pull_requests(
        self, repository_url: str, states: Sequence[str] = (), head_branch: str | None = None
    ) -> list[PullRequestRecord]:
        """The repository's pull requests (in `states` and from `head_branch` when given), newest first."""
        query = select(PullRequest).where(PullRequest.repository_url == repository_url)
        if states:
            query = query.where(PullRequest.state.in_(states))
        if head_branch is not None:
            query = query.where(PullRequest.head_branch == head_branch)
        async with self._read() as session:
            rows = await session.scalars(query.order_by(PullRequest.number.desc(), PullRequest.id.desc()))
            return [PullRequestRecord.model_validate(r) for r in rows]


def _work_order(row: WorkOrderRow) -> WorkOrder:
    return WorkOrder.model_validate(row, from_attributes=True)


# The tables and their columns, for statements read as plain rows: naming the ORM classes'
# attributes (even in a WHERE) makes a statement an ORM one, which costs its compile step even
# on a connection.
_COLUMN = WorkOrderRow.__table__.c
_EVENT_TABLE = Event.__table__
_EVENT = _EVENT_TABLE.c
_STEP = StepRow.__table__.c
# A page's columns: all but the 2-4 KB `definition` (building ORM objects was most of a list's CPU).
_LISTED = tuple(name for name in WorkOrder.model_fields if name != "definition")
_LISTED_COLUMNS = tuple(_COLUMN[name] for name in _LISTED)


def _listed_work_order(row: Row[Any]) -> WorkOrder:
    """A work order of a page (definition None) from a row that starts with _LISTED_COLUMNS."""
    return WorkOrder.model_validate(dict(zip(_LISTED, row, strict=False)))


# The reads every API request for a work order makes, as plain rows on a connection, built once:
# SQLAlchemy keeps a statement's cache key on the statement, and an ORM session's get() cost
# twice the query (its compile step, identity map and instance) for nothing a reader uses.
_ONE = select(WorkOrderRow.__table__).where(_COLUMN.id == bindparam("id"))
_CHILDREN = (
    select(*_LISTED_COLUMNS)
    .where(_COLUMN.parent_id == bindparam("parent"))
    .order_by(_COLUMN.created_at, _COLUMN.id)
)
_STEPS = (
    select(StepRow.__table__)
    .where(_STEP.work_order_id == bindparam("work_order"))
    .order_by(_STEP.position, _STEP.step_id)
)


def _step(row: StepRow) -> Step:
    return Step.model_validate(row, from_attributes=True)


async def _lock_work_order(session: AsyncSession, id: str) -> WorkOrderRow:
    """Load the work order with a row lock (FOR NO KEY UPDATE; SQLite holds its write lock)."""
    query = select(WorkOrderRow).where(WorkOrderRow.id == id).with_for_update(key_share=True)
    row = await session.scalar(query)
    if row is None:
        raise NotFound(f"work order '{id}' not found")
    return row


async def _changed(session: AsyncSession, id: str, change: WorkOrderChange) -> WorkOrderRow:
    """The work order, locked, with `change` written to it; a status change must be a legal
    transition (Conflict otherwise)."""
    row = await _lock_work_order(session, id)
    new = change.status
    if new is not None and not can_transition(WorkOrderStatus(row.status), new):
        raise Conflict(f"work order {id} is {row.status}; cannot move to {new.value}")
    for key, value in work_order_columns(change).items():
        setattr(row, key, value)
    row.updated_at = utc_now()
    return row


async def _lock_id(session: AsyncSession, id: str) -> None:
    """Like _lock_work_order, without loading the row."""
    query = select(WorkOrderRow.id).where(WorkOrderRow.id == id).with_for_update(key_share=True)
    if await session.scalar(query) is None:
        raise NotFound(f"work order '{id}' not found")


@contextlib.contextmanager
def _of_known_work_order(id: str) -> Iterator[None]:
    """NotFound for rows a foreign key refused (SQLite, where `Store._hold` checks nothing)."""
    try:
        yield
    except IntegrityError as err:
        if "FOREIGN KEY constraint failed" in str(err.orig):
            raise NotFound(f"work order '{id}' not found") from None
        raise


def _pr_of(work_order_id: str) -> Select[PullRequest]:
    return select(PullRequest).where(PullRequest.work_order_id == work_order_id)


def _new_pull_request(owner: WorkOrderRow, now: datetime) -> PullRequest:
    return PullRequest(
        work_order_id=owner.id,
        repository_url=owner.repository_url,
        number=0,
        head_branch=owner.git_branch_name or "",
        base_branch=owner.base_branch or "",
        created_at=now,
        updated_at=now,
    )
