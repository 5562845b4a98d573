"""Idea runs (seed 002): the runs, the issue tree each grows (epic → features → tasks) and the
events a run's stream is read from."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shipyard.domain.errors import Conflict, InvalidInput, NotFound
from shipyard.domain.ideas import IssueStatus, RunState
from shipyard.store.base import StoreBase, columns, stored
from shipyard.store.projects import project_row
from shipyard.store.records import (
    IdeaRunCreate,
    IdeaRunRecord,
    IssueNodeRecord,
    PlannedIssue,
    RunEventRecord,
    checked_fields,
    record_changes,
)
from shipyard.store.tables import IdeaRun, IssueNode, RunEvent, utc_now

_RUN_FIELDS = columns(IdeaRun, "id", "created_at", "updated_at")


class RunEventNote(NamedTuple):
    """An event of a run's stream, before it is stored."""

    type: str
    msg: str
    level: str = "info"
    data: dict[str, Any] | None = None


def _event_row(run_id: str, note: RunEventNote, *, phase: str) -> RunEvent:
    return RunEvent(
        run_id=run_id, type=note.type, phase=phase, level=note.level, msg=note.msg,
        data=dict(note.data or {}), ts=utc_now(),
    )  # fmt: skip


# The tree's shape is planted (plant_tree) and reordered (reorder_children), not set field by field.
_ISSUE_FIELDS = columns(IssueNode, "id", "run_id", "parent_id", "created_at", "updated_at")


class IdeaRows(StoreBase):
    """The Store's idea runs, their issue trees and their events."""

    # -- runs ---------------------------------------------------------------------------------

    async def create_run(self, data: IdeaRunCreate) -> IdeaRunRecord:
        """Insert a run in IDEA_SUBMITTED; NotFound for an unknown project, Conflict for a taken id."""
        now = utc_now()
        row = IdeaRun(
            **data.model_dump(),
            state=RunState.IDEA_SUBMITTED.value,
            paused=False,
            created_at=now,
            updated_at=now,
        )
        async with self._writing() as session:
            if data.project_id is not None:
                await project_row(session, data.project_id)
            session.add(row)
            try:
                await session.flush()
            except IntegrityError:
                raise Conflict(f"run '{data.id}' already exists") from None
            return IdeaRunRecord.model_validate(await stored(session, row))

    async def get_run(self, run_id: str) -> IdeaRunRecord:
        """The run `run_id`; NotFound if there is none."""
        async with self._read() as session:
            return IdeaRunRecord.model_validate(await _run_row(session, run_id))

    async def list_runs(self, limit: int = 50, offset: int = 0) -> tuple[list[IdeaRunRecord], int]:
        """A page of runs, newest first, and how many there are in all."""
        page = select(IdeaRun).order_by(IdeaRun.created_at.desc(), IdeaRun.id.desc())
        async with self._read() as session:
            total = int(await session.scalar(select(func.count()).select_from(IdeaRun)) or 0)
            rows = await session.scalars(page.limit(limit).offset(offset))
            return [IdeaRunRecord.model_validate(r) for r in rows], total

    async def update_run(self, run_id: str, **fields: Any) -> IdeaRunRecord:
        """Set `fields` (columns of the run, validated as its record's) on the run."""
        return await self._change_run(run_id, fields, None)

    async def update_run_saying(self, run_id: str, note: RunEventNote, **fields: Any) -> IdeaRunRecord:
        """update_run, and the event that says why appended in the same transaction: no reader sees
        the run changed without it (a run was read CANCELLED before its last entry said so)."""
        return await self._change_run(run_id, fields, note)

    async def _change_run(
        self, run_id: str, fields: dict[str, Any], note: RunEventNote | None
    ) -> IdeaRunRecord:
        checked = checked_fields(fields, _RUN_FIELDS, "run")
        async with self._writing() as session:
            row = await _run_row(session, run_id, lock=True)
            for key, value in record_changes(IdeaRunRecord.model_validate(row), checked, "run").items():
                setattr(row, key, value)
            row.updated_at = utc_now()
            if note is not None:
                session.add(_event_row(run_id, note, phase=str(row.state)))
            return IdeaRunRecord.model_validate(await stored(session, row))

    # -- events -------------------------------------------------------------------------------

    async def add_run_event(
        self,
        run_id: str,
        type: str,
        *,
        phase: str,
        msg: str,
        level: str = "info",
        data: dict[str, Any] | None = None,
    ) -> RunEventRecord:
        """Append an event to the run's stream; its id is greater than that of every event before it."""
        async with self._writing() as session:
            # The row lock orders a run's appends, so ids commit in increasing order and a reader
            # resuming after an id never misses a later-committed smaller one.
            await _run_row(session, run_id, lock=True)
            row = _event_row(run_id, RunEventNote(type, msg, level, data), phase=str(phase))
            session.add(row)
            return RunEventRecord.model_validate(await stored(session, row))

    async def list_run_events(
        self, run_id: str, after_id: int = 0, limit: int = 1000
    ) -> list[RunEventRecord]:
        """The run's events with ids above `after_id`, oldest first."""
        query = select(RunEvent).where(RunEvent.run_id == run_id, RunEvent.id > after_id)
        async with self._read() as session:
            rows = await session.scalars(query.order_by(RunEvent.id).limit(limit))
            return [RunEventRecord.model_validate(r) for r in rows]

    # -- issues -------------------------------------------------------------------------------

    async def create_issue(
        self, run_id: str, planned: PlannedIssue, parent_id: int | None = None, order_index: int = 0
    ) -> IssueNodeRecord:
        """Insert one issue (its `children` and `depends_on` are not read); NotFound for an
        unknown run or parent, InvalidInput for a parent of another run."""
        async with self._writing() as session:
            await _run_row(session, run_id)
            if parent_id is not None:
                await _parent_in_run(session, parent_id, run_id)
            row = _new_issue(run_id, planned, parent_id, order_index, utc_now())
            session.add(row)
            return _issue(await stored(session, row))

    async def plant_tree(
        self, run_id: str, root_id: int, children: list[PlannedIssue]
    ) -> list[IssueNodeRecord]:
        """Create the issues under `root_id` in one transaction, each list in its order, each
        `depends_on` turned into the ids of those siblings; a root that has children already
        gets none (a retried planting makes nothing twice). The root's descendants, in tree order."""
        _check_depends_on(children)
        async with self._writing() as session:
            root = await _parent_in_run(session, root_id, run_id, lock=True)
            planted = await session.scalar(
                select(IssueNode.id).where(IssueNode.parent_id == root_id).limit(1)
            )
            if planted is None:
                await _plant(session, root, children, utc_now())
            rows = await session.scalars(select(IssueNode).where(IssueNode.run_id == run_id))
            return [_issue(r) for r in _depth_first(list(rows), root_id)]

    async def get_issue(self, id: int) -> IssueNodeRecord:
        """The issue `id`; NotFound if there is none."""
        async with self._read() as session:
            return _issue(await _issue_row(session, id))

    async def list_issues(self, run_id: str) -> list[IssueNodeRecord]:
        """The run's issues in tree order: each root, then its subtree depth first, siblings by
        order_index then id."""
        async with self._read() as session:
            rows = await session.scalars(select(IssueNode).where(IssueNode.run_id == run_id))
            return [_issue(r) for r in _depth_first(list(rows), None)]

    async def children_of(self, id: int) -> list[IssueNodeRecord]:
        """The issue's children by order_index (then id); NotFound for an unknown issue."""
        async with self._read() as session:
            await _issue_row(session, id)
            return [_issue(r) for r in await session.scalars(_children(id))]

    async def update_issue(self, id: int, **fields: Any) -> IssueNodeRecord:
        """Set `fields` (columns of the issue but its run and parent, validated as its record's)."""
        checked = checked_fields(fields, _ISSUE_FIELDS, "issue")
        async with self._writing() as session:
            row = await _issue_row(session, id, lock=True)
            for key, value in record_changes(_issue(row), checked, "issue").items():
                setattr(row, key, value)
            row.updated_at = utc_now()
            return _issue(await stored(session, row))

    async def reorder_children(self, parent_id: int, ids: list[int]) -> list[IssueNodeRecord]:
        """Put the issue's children in the order of `ids`, which must name each of them once
        (InvalidInput saying what is wrong, nothing changed, if not). The children in their order."""
        async with self._writing() as session:
            await _issue_row(session, parent_id, lock=True)
            rows = {row.id: row for row in await session.scalars(_children(parent_id))}
            _check_order(parent_id, ids, set(rows))
            now = utc_now()
            for position, id in enumerate(ids):
                if rows[id].order_index != position:
                    rows[id].order_index, rows[id].updated_at = position, now
            await session.flush()
            return [_issue(rows[id]) for id in ids]


def _issue(row: IssueNode) -> IssueNodeRecord:
    return IssueNodeRecord.model_validate(row)


async def _run_row(session: AsyncSession, run_id: str, *, lock: bool = False) -> IdeaRun:
    query = select(IdeaRun).where(IdeaRun.id == run_id)
    row = await session.scalar(query.with_for_update(key_share=True) if lock else query)
    if row is None:
        raise NotFound(f"run '{run_id}' not found")
    return row


async def _issue_row(session: AsyncSession, id: int, *, lock: bool = False) -> IssueNode:
    query = select(IssueNode).where(IssueNode.id == id)
    row = await session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(f"issue {id} not found")
    return row


async def _parent_in_run(session: AsyncSession, id: int, run_id: str, *, lock: bool = False) -> IssueNode:
    row = await _issue_row(session, id, lock=lock)
    if row.run_id != run_id:
        raise InvalidInput(f"issue {id} belongs to run '{row.run_id}', not '{run_id}'")
    return row


def _children(parent_id: int) -> Select[IssueNode]:
    query = select(IssueNode).where(IssueNode.parent_id == parent_id)
    return query.order_by(IssueNode.order_index, IssueNode.id)


def _new_issue(
    run_id: str, planned: PlannedIssue, parent_id: int | None, order_index: int, now: datetime
) -> IssueNode:
    return IssueNode(
        run_id=run_id, parent_id=parent_id, type=planned.type.value, title=planned.title,
        body=planned.body, acceptance_criteria=list(planned.acceptance_criteria),
        order_index=order_index, dependencies=[], status=IssueStatus.NEW.value,
        labels=list(planned.labels), created_at=now, updated_at=now,
    )  # fmt: skip


async def _plant(
    session: AsyncSession, parent: IssueNode, planned: list[PlannedIssue], now: datetime
) -> None:
    """Insert `planned` under `parent` and theirs under them, each flushed for its id."""
    made: list[IssueNode] = []
    for position, issue in enumerate(planned):
        row = _new_issue(parent.run_id, issue, parent.id, position, now)
        row.dependencies = [made[earlier].id for earlier in issue.depends_on]
        session.add(row)
        await session.flush()
        made.append(row)
        await _plant(session, row, issue.children, now)


def _check_depends_on(planned: list[PlannedIssue]) -> None:
    """InvalidInput unless every `depends_on` of the tree names an earlier sibling."""
    for position, issue in enumerate(planned):
        wrong = [index for index in issue.depends_on if not 0 <= index < position]
        if wrong:
            raise InvalidInput(
                f"issue '{issue.title}' (position {position}) depends on {wrong[0]}, "
                "which is not the position of an earlier sibling"
            )
        _check_depends_on(issue.children)


def _depth_first(rows: Sequence[IssueNode], top: int | None) -> list[IssueNode]:
    """The issues under `top` (None: every root and those under it), each followed by its own,
    siblings by order_index then id."""
    under: dict[int | None, list[IssueNode]] = {}
    for row in sorted(rows, key=lambda r: (r.order_index, r.id)):
        under.setdefault(row.parent_id, []).append(row)
    ordered: list[IssueNode] = []

    def visit(parent: int | None) -> None:
        for row in under.get(parent, []):
            ordered.append(row)
            visit(row.id)

    visit(top)
    return ordered


def _check_order(parent_id: int, ids: list[int], children: set[int]) -> None:
    given = set(ids)
    wrong = {
        "missing": children - given,
        "not its children": given - children,
        "repeated": {id for id in given if ids.count(id) > 1},
    }
    found = [f"{what} {', '.join(map(str, sorted(these)))}" for what, these in wrong.items() if these]
    if found:
        raise InvalidInput(f"a new order of issue {parent_id}'s children names each once; {'; '.join(found)}")
