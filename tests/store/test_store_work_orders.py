"""Work orders: create, get, list with filters and pages, updates and status transitions."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shipyard.domain.errors import Conflict, NotFound
from shipyard.domain.models import SandboxHandle, Usage, WorkOrderStatus
from shipyard.domain.work_orders import BranchProgress, WorkOrder, WorkOrderChange, WorkOrderCreate
from shipyard.store import Store

Make = Callable[..., Awaitable[WorkOrder]]


async def test_created_work_order_reads_back_pending_with_its_inputs(store: Store) -> None:
    data = WorkOrderCreate(
        id="wo-3f9k2a7b",
        repository_url="https://github.com/acme/widgets",
        workflow_type="agent_workflow_plan_build_test",
        sandbox_type="git_worktree",
        agent="claude",
        inputs={"prompt": "Añade un endpoint /health ✓ 健康", "issue": None, "n": [1, 2.5]},
        base_branch="main",
        github_issue_number="42",
        git_branch_name="wo/wo-3f9k2a7b-health",
    )
    created = await store.create_work_order(data)
    fetched = await store.get_work_order("wo-3f9k2a7b")

    assert fetched == created
    assert fetched.status is WorkOrderStatus.PENDING
    assert fetched.inputs == data.inputs
    assert (fetched.base_branch, fetched.github_issue_number) == ("main", "42")
    assert fetched.git_branch_name == "wo/wo-3f9k2a7b-health"
    assert fetched.created_at.tzinfo is not None
    assert fetched.created_at.utcoffset() == UTC.utcoffset(None)
    assert fetched.created_at == fetched.updated_at
    assert fetched.usage == Usage()
    assert fetched.sandbox is None


async def test_missing_work_order_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound) as caught:
        await store.get_work_order("wo-nothere")

    assert caught.value.message == "work order 'wo-nothere' not found"


async def test_duplicate_id_is_a_conflict(store: Store, make_work_order: Make) -> None:
    first = await make_work_order(id="wo-00000dup")

    with pytest.raises(Conflict, match="wo-00000dup"):
        await make_work_order(id="wo-00000dup", agent="codex")
    assert (await store.get_work_order(first.id)).agent == first.agent


async def test_child_work_order_needs_an_existing_parent(store: Store, make_work_order: Make) -> None:
    parent = await make_work_order()
    child = await make_work_order(parent_id=parent.id)

    assert child.parent_id == parent.id
    with pytest.raises(NotFound, match="wo-noparent"):
        await make_work_order(parent_id="wo-noparent")


async def test_list_is_newest_first_with_status_filter_pages_and_totals(
    store: Store, make_work_order: Make
) -> None:
    ids = [(await make_work_order(id=f"wo-0000000{i}")).id for i in range(5)]
    for running in ids[1:4]:
        await store.update_work_order(running, WorkOrderChange(status=WorkOrderStatus.RUNNING))

    everything, total = await store.list_work_orders()
    running, running_total = await store.list_work_orders(status=WorkOrderStatus.RUNNING)
    page, page_total = await store.list_work_orders(limit=2, offset=1)
    failed, failed_total = await store.list_work_orders(status=WorkOrderStatus.FAILED)

    assert [w.id for w in everything] == ids[::-1] and total == 5
    assert [w.id for w in running] == ids[3:0:-1] and running_total == 3
    assert [w.id for w in page] == [ids[3], ids[2]] and page_total == 5
    assert (failed, failed_total) == ([], 0)


async def test_lists_and_children_read_all_but_the_definition(store: Store, make_work_order: Make) -> None:
    definition = {"name": "checks", "steps": [{"id": "test", "run": "make test"}]}
    parent = await make_work_order(definition=definition)
    child = await make_work_order(parent_id=parent.id, definition=definition, inputs={"who": "ann"})
    await store.update_work_order(child.id, WorkOrderChange(status=WorkOrderStatus.RUNNING))
    await store.add_usage([child.id], Usage(turns=3, cost_usd=0.25))
    full = await store.get_work_order(child.id)

    [listed], _ = await store.list_work_orders(parent_id=parent.id)
    [searched], _ = await store.list_work_orders(search=child.id[3:])
    [kid] = await store.children(parent.id)

    assert full.definition == definition
    for one in (listed, searched, kid):
        assert one.definition is None and one == full.model_copy(update={"definition": None})


async def test_update_sets_fields_and_moves_updated_at(store: Store, make_work_order: Make) -> None:
    created = await make_work_order()
    started = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)

    progress = BranchProgress(
        commit_count=3, files_changed=2, lines_added=10, lines_removed=1, latest_commit_sha="c" * 40,
        latest_commit_message="build: \x00 said hello",
    )  # fmt: skip
    updated = await store.update_work_order(
        created.id,
        WorkOrderChange(
            status="running",
            current_phase="planning",
            execution_started_at=started,
            progress=progress,
            usage=Usage(turns=4, input_tokens=1000, output_tokens=200, cost_usd=0.25),
            error_message="first try failed: \x00 in output",
        ),
    )

    assert updated == await store.get_work_order(created.id)
    assert updated.status is WorkOrderStatus.RUNNING
    assert (updated.current_phase, updated.git_commit_count) == ("planning", 3)
    cleaned = progress.model_copy(update={"latest_commit_message": "build: \ufffd said hello"})
    assert updated.progress == cleaned
    assert updated.execution_started_at == started
    assert updated.usage == Usage(turns=4, input_tokens=1000, output_tokens=200, cost_usd=0.25)
    assert updated.updated_at > created.updated_at
    assert updated.created_at == created.created_at
    assert updated.error_message == "first try failed: \ufffd in output"


async def test_sandbox_handle_round_trips_and_clears(store: Store, make_work_order: Make) -> None:
    created = await make_work_order()
    handle = SandboxHandle(
        sandbox_type="git_worktree",
        work_order_id=created.id,
        repository_url=created.repository_url,
        path="/data/sandboxes/wo-1/työ",
        branch=f"wo/{created.id}",
        base_branch="main",
        base_sha="a" * 40,
        extra={"worker_queue": "shipyard-host-1"},
    )

    stored = await store.update_work_order(created.id, WorkOrderChange(sandbox=handle))
    cleared = await store.update_work_order(created.id, WorkOrderChange(sandbox=None))

    assert stored.sandbox == handle
    assert (await store.get_work_order(created.id)).sandbox is None
    assert cleared.sandbox is None
    with pytest.raises(ValidationError, match="sandbox"):
        WorkOrderChange(sandbox={"path": "/x"})


async def test_illegal_transition_is_a_conflict_and_changes_nothing(
    store: Store, make_work_order: Make
) -> None:
    created = await make_work_order()
    await store.update_work_order(created.id, WorkOrderChange(status="running"))
    finished = WorkOrderChange(status="completed", current_phase="done")
    done = await store.update_work_order(created.id, finished)

    with pytest.raises(Conflict) as caught:
        await store.update_work_order(created.id, WorkOrderChange(status="running", current_phase="again"))

    assert caught.value.message == f"work order {created.id} is completed; cannot move to running"
    assert await store.get_work_order(created.id) == done


async def test_racing_terminal_transitions_let_exactly_one_win(store: Store, make_work_order: Make) -> None:
    ids = [(await make_work_order()).id for _ in range(4)]
    for id in ids:
        await store.update_work_order(id, WorkOrderChange(status="running"))
    finals = ["completed", "failed", "cancelled"]
    # Open the pooled connections first, so the updates really run side by side.
    await asyncio.gather(*(store.ping() for _ in range(len(ids) * len(finals))))

    results = await asyncio.gather(
        *(store.update_work_order(id, WorkOrderChange(status=final)) for id in ids for final in finals),
        return_exceptions=True,
    )

    for n, id in enumerate(ids):
        mine = results[n * len(finals) : (n + 1) * len(finals)]
        winners = [r for r in mine if isinstance(r, WorkOrder)]
        assert len(winners) == 1, mine
        assert sorted(type(r).__name__ for r in mine if r not in winners) == ["Conflict"] * 2
        assert (await store.get_work_order(id)).status == winners[0].status


async def test_bad_update_arguments_are_rejected(store: Store, make_work_order: Make) -> None:
    created = await make_work_order()

    # A change names only fields a work order may change, with values of their types.
    with pytest.raises(ValidationError, match="colour\n  Extra inputs are not permitted"):
        WorkOrderChange(colour="blue")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="created_at\n  Extra inputs are not permitted"):
        WorkOrderChange(created_at=datetime.now(UTC))  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="status\n  Input should be 'pending'"):
        WorkOrderChange(status="sideways")
    with pytest.raises(ValidationError, match="status cannot be emptied"):
        WorkOrderChange(status=None)
    with pytest.raises(NotFound, match="wo-nothere"):
        await store.update_work_order("wo-nothere", WorkOrderChange(current_phase="x"))
    assert await store.get_work_order(created.id) == created
