"""Agent slots on SQLite and PostgreSQL: granted in the order steps came, never more than the
limit, even to many takers at once; given back when done or when their worker stopped beating."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from shipyard.domain.work_orders import WorkOrder
from shipyard.store import Store
from shipyard.store.tables import utc_now

MakeWorkOrder = Callable[..., Awaitable[WorkOrder]]


def long_ago() -> object:
    return utc_now() - timedelta(hours=1)  # nothing is stale


async def test_slots_go_in_turn_up_to_the_limit(store: Store, make_work_order: MakeWorkOrder) -> None:
    wo = await make_work_order()
    take = [store.take_slot("claude", f"{wo.id}/s{i}", wo.id, 2, long_ago()) for i in range(4)]
    places = [await t for t in take]  # one after another: s0 and s1 get the two slots
    again = await store.take_slot("claude", f"{wo.id}/s3", wo.id, 2, long_ago())
    other_agent = await store.take_slot("codex", f"{wo.id}/x", wo.id, 1, long_ago())
    await store.give_back_slot(f"{wo.id}/s0")
    third_too_early = await store.take_slot("claude", f"{wo.id}/s3", wo.id, 2, long_ago())
    second = await store.take_slot("claude", f"{wo.id}/s2", wo.id, 2, long_ago())

    assert places == [0, 0, 1, 2]
    assert again == 2 and other_agent == 0
    assert third_too_early == 1  # s2 came first: the free slot is its own, s3 is next
    assert second == 0
    assert await store.take_slot("claude", f"{wo.id}/s3", wo.id, 2, long_ago()) == 1


async def test_many_takers_at_once_never_get_more_than_the_limit(
    store: Store, make_work_order: MakeWorkOrder
) -> None:
    wo = await make_work_order()
    places = await asyncio.gather(
        *(store.take_slot("claude", f"{wo.id}/s{i}", wo.id, 3, long_ago()) for i in range(12))
    )

    assert sorted(places) == [0, 0, 0, *range(1, 10)]


async def test_a_slot_nobody_beats_for_is_given_back(store: Store, make_work_order: MakeWorkOrder) -> None:
    wo = await make_work_order()
    assert await store.take_slot("claude", f"{wo.id}/dead", wo.id, 1, long_ago()) == 0
    assert await store.take_slot("claude", f"{wo.id}/next", wo.id, 1, long_ago()) == 1
    await asyncio.sleep(0.01)
    await store.beat_slot(f"{wo.id}/next")
    # Everything not beaten for since `now` counts as dead: the first holder (and only it).
    now = utc_now()
    await store.beat_slot(f"{wo.id}/next")
    assert await store.take_slot("claude", f"{wo.id}/next", wo.id, 1, now) == 0
