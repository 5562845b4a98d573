"""A step of an agent whose steps are limited install-wide (SHIPYARD_AGENT_LIMITS) holds one of
the agent's slots while it runs, and one of its project's when the project limits the agent too
(`limits` on the project); until one is free it waits in line, shown as `queued` with its place
("waiting for a claude slot — 2nd in line"). The slots live in the store (store/slots.py), so
every worker process of the install shares them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Scope:
    """One limit a step's agent is under: its key in the slots table, how many, and how to say it."""

    key: str  # the agent, or `<agent>@<project id>` for a project's limit
    limit: int
    what: str  # "a claude slot", "a claude slot of project widgets"
    holder_suffix: str = ""


async def limits_of(store: Store, settings: Settings, inp: RunStepInput, wo: WorkOrder) -> list[Scope]:
    """The limits on the step's agent: its project's first, then the install's; none for a step
    that runs no agent."""
    if inp.step.kind != "prompt":
        return []
    agent, scopes = inp.step.agent or inp.agent, []
    if wo.project_id is not None:
        project = await store.get_project(wo.project_id)
        if limit := (project.limits or {}).get(agent):
            scopes.append(
                Scope(f"{agent}@{project.id}", limit, f"a {agent} slot of project {project.name}", "@project")
            )
    if limit := settings.agent_limits.get(agent):
        scopes.append(Scope(agent, limit, f"a {agent} slot"))
    return scopes


@contextlib.asynccontextmanager
async def agent_slot(
    store: Store, settings: Settings, inp: RunStepInput, wo: WorkOrder, events: EventSink
) -> AsyncIterator[None]:
    """Hold a slot of each limit on the step's agent for the block, waiting in line for each in
    turn first; no limit, no waiting. Slots and places in line are given back however it ends."""
    scopes = await limits_of(store, settings, inp, wo)
    holders = [f"{wo.id}/{inp.row_id}{scope.holder_suffix}" for scope in scopes]
    try:
        for scope, holder in zip(scopes, holders, strict=True):
            await _wait_in_line(store, settings, inp, wo, events, holder, scope)
        beating = asyncio.create_task(_beat(store, holders, settings.heartbeat_timeout_s / 3))
        try:
            yield
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
    finally:
        for holder in holders:
            await store.give_back_slot(holder)


async def _wait_in_line(
    store: Store,
    settings: Settings,
    inp: RunStepInput,
    wo: WorkOrder,
    events: EventSink,
    holder: str,
    scope: Scope,
) -> None:
    shown = 0
    while True:
        stale_before = utc_now() - timedelta(seconds=settings.heartbeat_timeout_s)
        place = await store.take_slot(scope.key, holder, wo.id, scope.limit, stale_before)
        if place == 0:
            return
        if place != shown:
            note = f"waiting for {scope.what} — {ordinal(place)} in line"
            queued = StepChange(
                position=inp.position, kind=inp.step.kind, phase=inp.step.phase,
                agent=inp.step.agent or inp.agent, status=StepStatus.QUEUED, output=note,
            )  # fmt: skip
            await store.upsert_step(wo.id, inp.row_id, queued)
            data = {
                "agent": inp.step.agent or inp.agent,
                "place": place,
                "limit": scope.limit,
                "slot": scope.key,
            }
            await events.emit("workflow.step.queued", data)
            shown = place
        await asyncio.sleep(POLL_S)


async def _beat(store: Store, holders: list[str], interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        for holder in holders:
            await store.beat_slot(holder)
