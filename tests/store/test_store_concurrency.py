"""Several writers on one database: a `shipyard serve` and CLI commands at the same time."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from shipyard.domain.work_orders import BranchProgress, StepChange, WorkOrderChange, WorkOrderCreate
from shipyard.store import Store

WRITES = 40


def _order(id: str) -> WorkOrderCreate:
    return WorkOrderCreate(
        id=id,
        repository_url="/repos/widgets",
        workflow_type="agent_workflow_build",
        sandbox_type="git_worktree",
        agent="shell",
    )


async def _busy_writer(store: Store, name: str, shared_id: str) -> None:
    """Interleave every kind of write the engine and the CLI make."""
    own = f"wo-{name}0000"
    await store.create_work_order(_order(own))
    await store.update_work_order(own, WorkOrderChange(status="running"))
    for i in range(WRITES):
        await store.append_event(shared_id, "log", {"writer": name, "n": i})
        await store.upsert_step(own, f"s{i % 4}", StepChange(position=i % 4, kind="run", attempt=i))
        progress = BranchProgress(commit_count=i)
        await store.update_work_order(own, WorkOrderChange(progress=progress, current_phase=f"p{i}"))


async def test_two_stores_on_one_sqlite_file_write_at_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shipyard.db'}"
    first, second = await asyncio.gather(Store.open(url), Store.open(url))
    await first.create_work_order(_order("wo-shared00"))

    await asyncio.gather(
        *(_busy_writer(first, f"a{k}", "wo-shared00") for k in range(3)),
        *(_busy_writer(second, f"b{k}", "wo-shared00") for k in range(3)),
    )

    events, total = await second.list_events("wo-shared00", limit=1000)
    assert total == 6 * WRITES
    assert [e.id for e in events] == sorted(e.id for e in events)
    for name in ("a0", "a2", "b1"):
        mine = [e.data["n"] for e in events if e.data["writer"] == name]
        assert mine == list(range(WRITES))
        assert (await first.get_work_order(f"wo-{name}0000")).git_commit_count == WRITES - 1
    await first.close()
    await second.close()


_CHILD = """
import asyncio, sys
from shipyard.store import Store

async def main(url, work_order_id):
    store = await Store.open(url)
    for i in range(int(sys.argv[3])):
        await store.append_event(work_order_id, "log", {"writer": "child", "n": i})
    await store.close()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def test_another_process_appends_while_this_one_does(store: Store, store_url: str) -> None:
    await store.create_work_order(_order("wo-procs000"))
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CHILD, store_url, "wo-procs000", str(WRITES), stderr=subprocess.PIPE
    )
    for i in range(WRITES):
        await store.append_event("wo-procs000", "log", {"writer": "parent", "n": i})
    _, stderr = await child.communicate()

    assert child.returncode == 0, stderr.decode()
    events, total = await store.list_events("wo-procs000", limit=1000)
    assert total == 2 * WRITES
    for writer in ("parent", "child"):
        assert [e.data["n"] for e in events if e.data["writer"] == writer] == list(range(WRITES))
