"""Steps (upsert, order) and the append-only event log (order, resume, pages, JSON)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from sqlalchemy.exc import StatementError

from shipyard.domain.errors import Conflict, NotFound
from shipyard.domain.models import StepStatus, Usage, WorkOrderStatus
from shipyard.domain.work_orders import StepChange, WorkOrder, WorkOrderChange
from shipyard.store import Store
from shipyard.store.records import NewEvent

Make = Callable[..., Awaitable[WorkOrder]]


async def test_upsert_creates_then_updates_only_the_given_fields(store: Store, make_work_order: Make) -> None:
    wo = await make_work_order()
    started = datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)

    created = await store.upsert_step(
        wo.id, "plan", StepChange(position=0, kind="prompt", phase="planning", agent="claude")
    )
    running = await store.upsert_step(wo.id, "plan", StepChange(status="running", started_at=started))
    done = await store.upsert_step(
        wo.id,
        "plan",
        StepChange(
            status=StepStatus.COMPLETED,
            attempt=1,
            exit_code=0,
            output="wrote specs/plan.md ✓",
            commit_sha="b" * 40,
            usage=Usage(turns=3, cost_usd=0.1),
        ),
    )

    assert (created.status, created.attempt, created.started_at) == (StepStatus.PENDING, 0, None)
    assert running.started_at == started and running.kind == "prompt"
    assert done.status is StepStatus.COMPLETED
    assert (done.phase, done.agent, done.started_at) == ("planning", "claude", started)
    assert done.output == "wrote specs/plan.md ✓"
    assert done.usage == Usage(turns=3, cost_usd=0.1)
    assert await store.list_steps(wo.id) == [done]


async def test_a_steps_typed_output_round_trips_and_can_be_emptied(
    store: Store, make_work_order: Make
) -> None:
    wo = await make_work_order()
    data = {"tasks": ["café ✓", "tag"], "count": 2, "ok": True, "none": None, "nested": [{"n": 1.5}]}

    typed = await store.upsert_step(wo.id, "plan", StepChange(position=0, kind="prompt", output_data=data))
    kept = await store.upsert_step(wo.id, "plan", StepChange(status=StepStatus.RUNNING))
    emptied = await store.upsert_step(wo.id, "plan", StepChange(output_data=None))

    assert typed.output_data == data and kept.output_data == data
    assert emptied.output_data is None
    assert (await store.list_steps(wo.id))[0].output_data is None


async def test_steps_list_in_position_order_per_work_order(store: Store, make_work_order: Make) -> None:
    wo, other = await make_work_order(), await make_work_order()
    for position, step_id in [(2, "test"), (0, "plan"), (1, "build")]:
        await store.upsert_step(wo.id, step_id, StepChange(position=position, kind="run"))
    await store.upsert_step(other.id, "lint", StepChange(position=0, kind="run"))

    assert [s.step_id for s in await store.list_steps(wo.id)] == ["plan", "build", "test"]
    assert [s.step_id for s in await store.list_steps(other.id)] == ["lint"]
    assert await store.list_steps("wo-nothere") == []


async def test_bad_step_writes_are_rejected(store: Store, make_work_order: Make) -> None:
    wo = await make_work_order()

    # A change names only fields a step has, with values of their types.
    with pytest.raises(ValidationError, match="colour\n  Extra inputs are not permitted"):
        StepChange(colour="red")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="status\n  Input should be 'pending'"):
        StepChange(status="exploded")
    with pytest.raises(ValidationError, match="kind, position cannot be emptied"):
        StepChange(position=None, kind=None)
    with pytest.raises(NotFound, match="work order 'wo-nothere' not found"):
        await store.upsert_step("wo-nothere", "plan", StepChange())
    assert await store.list_steps(wo.id) == []


async def test_events_keep_order_and_increasing_ids(store: Store, make_work_order: Make) -> None:
    wo, other = await make_work_order(), await make_work_order()
    appended = []
    for i in range(6):
        appended.append(await store.append_event(wo.id, "log", {"line": f"line {i}"}))
        await store.append_event(other.id, "log", {"line": "elsewhere"})

    events, total = await store.list_events(wo.id)

    assert events == appended and total == 6
    assert [e.id for e in events] == sorted({e.id for e in events})
    assert [e.data["line"] for e in events] == [f"line {i}" for i in range(6)]
    assert all(e.ts.tzinfo is not None for e in events)


async def test_events_resume_after_an_id_and_page(store: Store, make_work_order: Make) -> None:
    wo = await make_work_order()
    ids = [(await store.append_event(wo.id, "log", {"n": n})).id for n in range(10)]

    after, after_total = await store.list_events(wo.id, after_id=ids[3])
    page, page_total = await store.list_events(wo.id, limit=3, offset=2)
    resumed_page, resumed_total = await store.list_events(wo.id, after_id=ids[3], limit=2, offset=1)
    none_left, zero = await store.list_events(wo.id, after_id=ids[-1])

    assert [e.id for e in after] == ids[4:] and after_total == 6
    assert [e.id for e in page] == ids[2:5] and page_total == 10
    assert [e.id for e in resumed_page] == ids[5:7] and resumed_total == 6
    assert (none_left, zero) == ([], 0)


async def test_event_fields_and_json_data_round_trip(store: Store, make_work_order: Make) -> None:
    wo = await make_work_order()
    data = {
        "text": 'Grüße, 世界 🚢 "quoted" \\ back\nslash',
        "nested": {"list": [1, 2.5, True, None, {"k": "v"}], "empty": {}},
        "nul": "a\x00b",
    }

    appended = await store.append_event(wo.id, "agent.message", data, level="warning", step_id="build")
    bare = await store.append_event(wo.id, "step.started")
    events, _ = await store.list_events(wo.id)

    assert events == [appended, bare]
    assert (events[0].type, events[0].level, events[0].step_id) == (
        "agent.message",
        "warning",
        "build",
    )
    assert events[0].data == data
    assert (events[1].data, events[1].level, events[1].step_id) == ({}, "info", None)


async def test_a_status_and_the_event_saying_so_are_stored_together_or_not_at_all(
    store: Store, make_work_order: Make
) -> None:
    wo = await make_work_order()
    await store.update_work_order(wo.id, WorkOrderChange(status=WorkOrderStatus.RUNNING))
    await store.append_event(wo.id, "log", {"line": "before"})

    said = await store.update_work_order_saying(
        wo.id, WorkOrderChange(status=WorkOrderStatus.CANCELLED, error_message="cancelled: test"),
        NewEvent("workflow.cancelled", {"error": "cancelled: test"}, "error"),
    )  # fmt: skip

    assert (await store.get_work_order(wo.id)).status == WorkOrderStatus.CANCELLED
    events, _ = await store.list_events(wo.id)
    assert [e.type for e in events] == ["log", "workflow.cancelled"] and events[-1] == said
    again = WorkOrderChange(status=WorkOrderStatus.RUNNING)  # not a legal move from cancelled
    with pytest.raises(Conflict):
        await store.update_work_order_saying(wo.id, again, NewEvent("workflow.resumed", {}))
    unstorable = NewEvent("workflow.failed", {"why": object()}, "error")
    with pytest.raises(StatementError, match="not JSON serializable"):
        await store.update_work_order_saying(wo.id, WorkOrderChange(error_message="changed"), unstorable)
    assert (await store.get_work_order(wo.id)).error_message == "cancelled: test"  # neither was stored
    assert (await store.list_events(wo.id))[0] == events


async def test_event_for_a_missing_work_order_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound, match="work order 'wo-nothere' not found"):
        await store.append_event("wo-nothere", "log", {"line": "x"})
