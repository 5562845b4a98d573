"""A running step's events are written in batches (engine/sink.py): many lines in few transactions,
in order in the store and in the JSONL log; lifecycle events at once; nothing lost when a write fails
or nobody flushes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from shipyard.domain.work_orders import WorkOrder
from shipyard.engine.sink import StoreSink
from shipyard.logging import Redactor
from shipyard.store import EventRecord, NewEvent, Store

Make = Callable[..., Awaitable[WorkOrder]]


class CountedStore:
    """The real store, with its batch appends counted (and, when told, failing once)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.batches: list[int] = []
        self.fail_next = False

    async def append_events(
        self, work_order_id: str, step_id: str | None, events: list[NewEvent]
    ) -> list[EventRecord]:
        if self.fail_next:
            self.fail_next = False
            raise OSError("database or disk is full")
        self.batches.append(len(events))
        return await self.store.append_events(work_order_id, step_id, events)


def batched_sink(
    counted: CountedStore, wo: WorkOrder, jsonl: Path, secret: str = "s3cr3t-value"
) -> StoreSink:
    return StoreSink(counted, wo.id, jsonl, Redactor([secret]), "build", batched=True)  # type: ignore[arg-type]


async def stored(store: Store, wo: WorkOrder) -> list[EventRecord]:
    return (await store.list_events(wo.id, limit=10_000))[0]


async def test_a_burst_of_lines_is_few_transactions_in_order_everywhere(
    store: Store, make_work_order: Make, tmp_path: Path
) -> None:
    wo, counted, jsonl = await make_work_order(), CountedStore(store), tmp_path / "wo.jsonl"
    sink = batched_sink(counted, wo, jsonl)
    for n in range(1200):
        await sink.emit("log", {"line": f"line {n} s3cr3t-value"})
        if n == 600:
            await sink.emit("agent.message", {"text": "half way"})
    await sink.emit("workflow.step.completed", {})  # written at once, after everything before it

    events = await stored(store, wo)
    expected = [f"line {n} ***" for n in range(1200)]
    lines = [e.data["line"] for e in events if e.type == "log"]
    assert lines == expected
    assert [e.type for e in events].index("agent.message") == 601
    assert events[-1].type == "workflow.step.completed"
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert len(counted.batches) <= 5 and sum(counted.batches) == 1202  # 500 a batch at most
    mirrored = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [m["id"] for m in mirrored] == [e.id for e in events]
    assert "s3cr3t-value" not in jsonl.read_text()


async def test_a_lone_line_is_written_without_a_flush(
    store: Store, make_work_order: Make, tmp_path: Path
) -> None:
    wo, counted = await make_work_order(), CountedStore(store)
    sink = batched_sink(counted, wo, tmp_path / "wo.jsonl")
    await sink.emit("log", {"line": "thinking…"})
    async with asyncio.timeout(10):
        while not await stored(store, wo):
            await asyncio.sleep(0.01)
    assert [e.data["line"] for e in await stored(store, wo)] == ["thinking…"]


async def test_a_failed_write_loses_nothing_and_keeps_the_order(
    store: Store, make_work_order: Make, tmp_path: Path
) -> None:
    wo, counted = await make_work_order(), CountedStore(store)
    sink = batched_sink(counted, wo, tmp_path / "wo.jsonl")
    await sink.emit("log", {"line": "one"})
    counted.fail_next = True
    try:
        await sink.emit("workflow.step.started", {})
    except OSError:
        pass
    else:
        raise AssertionError("the failed write was not raised")
    await sink.emit("log", {"line": "two"})
    await sink.flush()
    types: list[Any] = [(e.type, e.data.get("line")) for e in await stored(store, wo)]
    assert types == [("log", "one"), ("workflow.step.started", None), ("log", "two")]


async def test_an_unbatched_sink_writes_each_event_at_once(
    store: Store, make_work_order: Make, tmp_path: Path
) -> None:
    wo, counted = await make_work_order(), CountedStore(store)
    sink = StoreSink(counted, wo.id, tmp_path / "wo.jsonl", Redactor([]))  # type: ignore[arg-type]
    await sink.emit("log", {"line": "a"})
    await sink.emit("ci.status", {"state": "success"})
    assert [e.type for e in await stored(store, wo)] == ["log", "ci.status"]
    assert counted.batches == [1, 1]
