"""A step of an agent whose steps are limited install-wide (SHIPYARD_AGENT_LIMITS) holds one of
the agent's slots while it runs; until one is free it waits in line, shown as `queued` with its
place ("waiting for a claude slot — 2nd in line"). The slots live in the store
(store/slots.py), so every worker process of the install shares them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

from shipyard.config import Settings
from shipyard.domain.events import EventSink
from shipyard.domain.models import StepStatus
from shipyard.domain.work_orders import StepChange, WorkOrder
from shipyard.engine.types import RunStepInput
from shipyard.store.store import Store
from shipyard.store.tables import utc_now

POLL_S = 0.5  # how often a step in line asks again


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, … 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def limited_agent(settings: Settings, inp: RunStepInput) -> tuple[str, int] | None:
    """The step's agent and its limit, when it is a prompt step of a limited agent."""
    if inp.step.kind != "prompt":
        return None
    agent = inp.step.agent or inp.agent
    limit = settings.agent_limits.get(agent)
    return (agent, limit) if limit else None


@contextlib.asynccontextmanager
async def agent_slot(
    store: Store, settings: Settings, inp: RunStepInput, wo: WorkOrder, events: EventSink
) -> AsyncIterator[None]:
    """Hold a slot of the step's agent for the block, waiting in line for it first; no limit,
    no waiting. The slot (or the place in line) is given back however the block ends."""
    limited = limited_agent(settings, inp)
    if limited is None:
        yield
        return
    holder = f"{wo.id}/{inp.row_id}"
    try:
        await _wait_in_line(store, settings, inp, wo, events, holder, *limited)
        beating = asyncio.create_task(_beat(store, holder, settings.heartbeat_timeout_s / 3))
        try:
            yield
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
    finally:
        await store.give_back_slot(holder)


async def _wait_in_line(
    store: Store,
    settings: Settings,
    inp: RunStepInput,
    wo: WorkOrder,
    events: EventSink,
    holder: str,
    agent: str,
    limit: int,
) -> None:
    shown = 0
    while True:
        stale_before = utc_now() - timedelta(seconds=settings.heartbeat_timeout_s)
        place = await store.take_slot(agent, holder, wo.id, limit, stale_before)
        if place == 0:
            return
        if place != shown:
            note = f"waiting for a {agent} slot — {ordinal(place)} in line"
            queued = StepChange(
                position=inp.position, kind=inp.step.kind, phase=inp.step.phase, agent=agent,
                status=StepStatus.QUEUED, output=note,
            )  # fmt: skip
            await store.upsert_step(wo.id, inp.row_id, queued)
            await events.emit("workflow.step.queued", {"agent": agent, "place": place, "limit": limit})
            shown = place
        await asyncio.sleep(POLL_S)


async def _beat(store: Store, holder: str, interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        await store.beat_slot(holder)
