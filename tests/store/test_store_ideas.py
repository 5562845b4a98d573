"""Idea runs: the runs, their events, their issue trees (planted, listed, reordered); migration 0016."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import delete, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import StatementError

from shipyard.domain.errors import Conflict, InvalidInput, NotFound
from shipyard.domain.ideas import IssueStatus, IssueType, RunState
from shipyard.domain.projects import ProjectCreate
from shipyard.store import Store, current_revision, upgrade
from shipyard.store.engine import create_engine
from shipyard.store.ideas import RunEventNote
from shipyard.store.migrate import downgrade
from shipyard.store.records import IdeaRunCreate, IdeaRunRecord, IssueNodeRecord, PlannedIssue
from shipyard.store.tables import IdeaRun, IssueNode, RunEvent

EPIC, FEATURE, TASK = IssueType.EPIC, IssueType.FEATURE, IssueType.TASK


async def make_run(store: Store, **fields: Any) -> IdeaRunRecord:
    data = {
        "idea_text": "A CLI that prints the weather",
        "repository_url": "https://github.com/acme/weather",
        "forge": "github",
        "correlation_id": "corr-1",
        **fields,
    }
    return await store.create_run(IdeaRunCreate.model_validate(data))


async def make_root(store: Store, run: IdeaRunRecord) -> IssueNodeRecord:
    root = await store.create_issue(run.id, PlannedIssue(type=EPIC, title="Weather CLI"))
    await store.update_run(run.id, root_issue_id=root.id)
    return root


def tasks(*titles: str, depends_on: dict[int, list[int]] | None = None) -> list[PlannedIssue]:
    after = depends_on or {}
    return [PlannedIssue(type=TASK, title=t, depends_on=after.get(n, [])) for n, t in enumerate(titles)]


# One epic, two features, three tasks: the second task of "Fetch" waits for the first.
TREE = [
    PlannedIssue(
        type=FEATURE,
        title="Fetch",
        body="Ask the weather service",
        acceptance_criteria=["prints today's temperature"],
        labels=["api"],
        children=tasks("HTTP client", "Parse the answer", depends_on={1: [0]}),
    ),
    PlannedIssue(type=FEATURE, title="Print", children=tasks("Table output"), depends_on=[0]),
]


# -- runs ---------------------------------------------------------------------------------------


async def test_a_created_run_reads_back_submitted(store: Store) -> None:
    project = await store.create_project(ProjectCreate(name="weather", repository_url="/srv/weather"))
    run = await make_run(store, project_id=project.id, options={"max_tasks": 5})

    assert run.id.startswith("run-") and len(run.id) == 12
    assert (run.state, run.paused, run.project_id) == (RunState.IDEA_SUBMITTED, False, project.id)
    assert run.options == {"max_tasks": 5}
    assert (run.root_issue_id, run.current_issue_id, run.interrupt_reason, run.error) == (None,) * 4
    assert run.created_at == run.updated_at
    assert await store.get_run(run.id) == run


async def test_run_mistakes_are_named(store: Store) -> None:
    taken = await make_run(store)

    with pytest.raises(NotFound, match=r"^run 'run-00000000' not found$"):
        await store.get_run("run-00000000")
    with pytest.raises(NotFound, match="project 'prj-missing' not found"):
        await make_run(store, project_id="prj-missing")
    with pytest.raises(Conflict, match=f"run '{taken.id}' already exists"):
        await make_run(store, id=taken.id)
    with pytest.raises(NotFound, match=r"^run 'run-00000000' not found$"):
        await store.update_run("run-00000000", paused=True)


async def test_update_run_sets_known_fields_and_refuses_others(store: Store) -> None:
    run = await make_run(store)

    updated = await store.update_run(
        run.id, state=RunState.SPEC_WRITING, paused=True, interrupt_reason="asked", error="bad\x00byte"
    )

    assert (updated.state, updated.paused, updated.interrupt_reason) == (RunState.SPEC_WRITING, True, "asked")
    assert updated.error == "bad\ufffdbyte"
    assert updated.updated_at > run.updated_at and updated.created_at == run.created_at
    assert await store.get_run(run.id) == updated
    with pytest.raises(TypeError, match="unknown run field"):
        await store.update_run(run.id, colour="red")
    with pytest.raises(InvalidInput, match="invalid run state"):
        await store.update_run(run.id, state="DAYDREAMING")
    assert await store.get_run(run.id) == updated


async def test_runs_list_newest_first_with_the_total(store: Store) -> None:
    runs = [await make_run(store, idea_text=f"idea {n}") for n in range(3)]

    first, total = await store.list_runs(limit=2)
    rest, again = await store.list_runs(limit=2, offset=2)

    assert [r.id for r in first + rest] == [r.id for r in reversed(runs)]
    assert (total, again) == (3, 3)


async def test_a_change_and_the_event_that_says_why_are_stored_together(store: Store) -> None:
    run = await make_run(store)
    note = RunEventNote("run.state", "cancelled: wrong idea", "info", {"state": "CANCELLED"})

    changed = await store.update_run_saying(run.id, note, state=RunState.CANCELLED)

    [event] = await store.list_run_events(run.id)
    assert changed.state == RunState.CANCELLED
    assert (event.type, event.msg, event.phase, event.data) == (
        "run.state", "cancelled: wrong idea", "CANCELLED", {"state": "CANCELLED"},
    )  # fmt: skip
    unstorable = RunEventNote("run.state", "failed", "error", {"why": object()})
    with pytest.raises(StatementError, match="not JSON serializable"):
        await store.update_run_saying(run.id, unstorable, state=RunState.FAILED)
    assert (await store.get_run(run.id)).state == RunState.CANCELLED  # neither was stored
    assert await store.list_run_events(run.id) == [event]


# -- events -------------------------------------------------------------------------------------


async def test_events_come_back_in_order_after_an_id(store: Store) -> None:
    run, other = await make_run(store), await make_run(store)
    first = await store.add_run_event(run.id, "run.state", phase=RunState.IDEA_SUBMITTED, msg="submitted")
    await store.add_run_event(other.id, "run.state", phase="IDEA_SUBMITTED", msg="elsewhere")
    second = await store.add_run_event(
        run.id, "issue.updated", phase=RunState.ISSUE_TREE, msg="planted", level="warning", data={"n": 6}
    )

    events = await store.list_run_events(run.id)
    later = await store.list_run_events(run.id, after_id=first.id)

    assert events == [first, second] and first.id < second.id
    assert later == [second]
    assert (second.phase, second.level, second.data, second.msg) == (
        "ISSUE_TREE",
        "warning",
        {"n": 6},
        "planted",
    )
    assert (first.phase, first.level, first.data) == ("IDEA_SUBMITTED", "info", {})
    assert await store.list_run_events(run.id, limit=1) == [first]
    with pytest.raises(NotFound, match=r"^run 'run-00000000' not found$"):
        await store.add_run_event("run-00000000", "run.state", phase="QA", msg="lost")


async def test_concurrent_appends_get_increasing_ids_in_commit_order(store: Store) -> None:
    run = await make_run(store)

    added = await asyncio.gather(
        *(store.add_run_event(run.id, "workflow.step.started", phase="QA", msg=str(n)) for n in range(10))
    )

    assert sorted(e.id for e in added) == [e.id for e in await store.list_run_events(run.id)]


# -- issue trees --------------------------------------------------------------------------------


async def test_plant_tree_makes_the_tree_once(store: Store) -> None:
    run = await make_run(store)
    root = await make_root(store, run)

    planted = await store.plant_tree(run.id, root.id, TREE)
    again = await store.plant_tree(run.id, root.id, [PlannedIssue(type=FEATURE, title="Another")])

    fetch, client, _, print_, table = planted
    assert [(i.title, i.type, i.parent_id, i.order_index) for i in planted] == [
        ("Fetch", FEATURE, root.id, 0),
        ("HTTP client", TASK, fetch.id, 0),
        ("Parse the answer", TASK, fetch.id, 1),
        ("Print", FEATURE, root.id, 1),
        ("Table output", TASK, print_.id, 0),
    ]
    assert [i.dependencies for i in planted] == [[], [], [client.id], [fetch.id], []]
    assert (fetch.body, fetch.acceptance_criteria, fetch.labels) == (
        "Ask the weather service", ["prints today's temperature"], ["api"],
    )  # fmt: skip
    assert {i.status for i in planted} == {IssueStatus.NEW} and {i.run_id for i in planted} == {run.id}
    assert again == planted
    assert await store.list_issues(run.id) == [root, *planted]
    assert [i.id for i in await store.children_of(root.id)] == [fetch.id, print_.id]
    assert await store.children_of(table.id) == []


async def test_plant_tree_refuses_what_cannot_be_planted(store: Store) -> None:
    run, other = await make_run(store), await make_run(store)
    root = await make_root(store, run)

    on_itself = PlannedIssue(type=FEATURE, title="F", children=tasks("A", "Parse", depends_on={1: [1]}))
    with pytest.raises(InvalidInput, match=r"'Parse' \(position 1\) depends on 1, which is not"):
        await store.plant_tree(run.id, root.id, [on_itself])
    with pytest.raises(InvalidInput, match=f"issue {root.id} belongs to run '{run.id}', not '{other.id}'"):
        await store.plant_tree(other.id, root.id, TREE)
    with pytest.raises(NotFound, match=r"^issue 999999 not found$"):
        await store.plant_tree(run.id, 999999, TREE)

    assert await store.list_issues(run.id) == [root]
    assert await store.list_issues(other.id) == []


async def test_concurrent_plantings_plant_one_tree(store: Store) -> None:
    run = await make_run(store)
    root = await make_root(store, run)

    first, second = await asyncio.gather(*(store.plant_tree(run.id, root.id, TREE) for _ in range(2)))

    assert first == second and len(first) == 5
    assert len(await store.list_issues(run.id)) == 6


async def test_list_issues_orders_siblings_by_order_index_then_id(store: Store) -> None:
    run = await make_run(store)
    root = await make_root(store, run)
    late = await store.create_issue(run.id, PlannedIssue(type=FEATURE, title="late"), root.id, order_index=2)
    early = await store.create_issue(
        run.id, PlannedIssue(type=FEATURE, title="early"), root.id, order_index=0
    )
    tie = await store.create_issue(run.id, PlannedIssue(type=FEATURE, title="tie"), root.id, order_index=0)
    under = await store.create_issue(run.id, PlannedIssue(type=TASK, title="under"), early.id)

    listed = await store.list_issues(run.id)

    assert [i.title for i in listed] == ["Weather CLI", "early", "under", "tie", "late"]
    assert (under.parent_id, late.order_index, tie.id > early.id) == (early.id, 2, True)


async def test_issue_mistakes_are_named(store: Store) -> None:
    run, other = await make_run(store), await make_run(store)
    root = await make_root(store, run)

    with pytest.raises(NotFound, match=r"^issue 999999 not found$"):
        await store.get_issue(999999)
    with pytest.raises(NotFound, match=r"^issue 999999 not found$"):
        await store.children_of(999999)
    with pytest.raises(NotFound, match=r"^run 'run-00000000' not found$"):
        await store.create_issue("run-00000000", PlannedIssue(type=EPIC, title="x"))
    with pytest.raises(InvalidInput, match=f"belongs to run '{run.id}'"):
        await store.create_issue(other.id, PlannedIssue(type=TASK, title="x"), root.id)


async def test_update_issue_sets_known_fields(store: Store) -> None:
    run = await make_run(store)
    root = await make_root(store, run)

    updated = await store.update_issue(
        root.id, status=IssueStatus.IN_PROGRESS, branch="epic/1-weather-cli", pr_number=7,
        pr_url="https://github.com/acme/weather/pull/7", work_order_id="wo-1", forge_issue_number=3,
    )  # fmt: skip

    assert (updated.status, updated.branch, updated.pr_number) == (
        IssueStatus.IN_PROGRESS, "epic/1-weather-cli", 7,
    )  # fmt: skip
    assert (updated.work_order_id, updated.forge_issue_number) == ("wo-1", 3)
    assert updated.updated_at > root.updated_at
    assert await store.get_issue(root.id) == updated
    with pytest.raises(TypeError, match="unknown issue field\\(s\\): parent_id"):
        await store.update_issue(root.id, parent_id=None)
    with pytest.raises(InvalidInput, match="invalid issue status"):
        await store.update_issue(root.id, status="SOMEDAY")
    with pytest.raises(NotFound, match=r"^issue 999999 not found$"):
        await store.update_issue(999999, status=IssueStatus.DONE)


async def test_reorder_children_puts_them_in_the_given_order(store: Store) -> None:
    run = await make_run(store)
    root = await make_root(store, run)
    fetch, _, _, print_, _ = await store.plant_tree(run.id, root.id, TREE)
    extra = await store.create_issue(run.id, PlannedIssue(type=FEATURE, title="Extra"), root.id, 2)

    reordered = await store.reorder_children(root.id, [extra.id, fetch.id, print_.id])

    assert [(i.id, i.order_index) for i in reordered] == [(extra.id, 0), (fetch.id, 1), (print_.id, 2)]
    assert await store.children_of(root.id) == reordered
    assert [i.title for i in await store.list_issues(run.id)][:3] == ["Weather CLI", "Extra", "Fetch"]


@pytest.mark.parametrize(
    ("order", "wrong"),
    [
        (lambda f, p, t: [f], "missing {p}"),
        (lambda f, p, t: [f, p, t], "not its children {t}"),
        (lambda f, p, t: [f, p, f], "repeated {f}"),
        (lambda f, p, t: [p, p, 999999], "missing {f}; not its children 999999; repeated {p}"),
    ],
)
async def test_reorder_children_refuses_a_wrong_set_and_changes_nothing(
    store: Store, order: Any, wrong: str
) -> None:
    run = await make_run(store)
    root = await make_root(store, run)
    fetch, _, _, print_, table = await store.plant_tree(run.id, root.id, TREE)
    before = await store.list_issues(run.id)
    named = {"f": fetch.id, "p": print_.id, "t": table.id}

    with pytest.raises(InvalidInput) as refused:
        await store.reorder_children(root.id, order(fetch.id, print_.id, table.id))

    assert refused.value.message.endswith(wrong.format(**named))
    assert f"issue {root.id}'s children" in refused.value.message
    assert await store.list_issues(run.id) == before


async def test_deleting_a_run_deletes_its_issues_and_events(store: Store) -> None:
    run, kept = await make_run(store), await make_run(store)
    await store.plant_tree(run.id, (await make_root(store, run)).id, TREE)
    await store.add_run_event(run.id, "run.state", phase="ISSUE_TREE", msg="planted")
    kept_root = await make_root(store, kept)
    kept_event = await store.add_run_event(kept.id, "run.state", phase="IDEA_SUBMITTED", msg="here")

    async with store.engine.begin() as conn:
        await conn.execute(delete(IdeaRun).where(IdeaRun.id == run.id))
        left = {
            table.__tablename__: sorted(await conn.scalars(select(table.run_id).distinct()))
            for table in (IssueNode, RunEvent)
        }

    assert left == {"issue_node": [kept.id], "run_event": [kept.id]}
    assert await store.list_issues(kept.id) == [kept_root]
    assert await store.list_run_events(kept.id) == [kept_event]


# -- migration 0016 -----------------------------------------------------------------------------


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_tables)
    finally:
        await engine.dispose()


async def test_0016_adds_the_idea_tables_and_takes_them_away(fresh_url: str) -> None:
    await upgrade(fresh_url, "0015")
    store = await Store.open(fresh_url)  # to head
    project = await store.create_project(ProjectCreate(name="weather", repository_url="/srv/weather"))
    run = await make_run(store, project_id=project.id)
    await store.plant_tree(run.id, (await make_root(store, run)).id, TREE)
    await store.add_run_event(run.id, "run.state", phase="ISSUE_TREE", msg="planted")
    await store.close()
    ideas = {"idea_run", "issue_node", "run_event"}

    await downgrade(fresh_url, "0015")
    down = await _table_names(fresh_url)
    reverted = await current_revision(fresh_url)
    reopened = await Store.open(fresh_url)  # and up again
    runs = await reopened.list_runs()
    kept = await reopened.get_project(project.id)
    await reopened.close()

    assert (reverted, down & ideas) == ("0015", set())
    assert runs == ([], 0)
    assert kept.name == "weather"
