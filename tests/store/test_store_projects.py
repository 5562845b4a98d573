"""Projects: create, find, update, delete; work orders that belong to one; migration 0005."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection

from shipyard.domain.budget import Budget
from shipyard.domain.errors import Conflict, InvalidInput, NotFound
from shipyard.domain.projects import ProjectCreate, Source
from shipyard.domain.work_orders import WorkOrder
from shipyard.store import ProjectRecord, Store, current_revision, upgrade
from shipyard.store.engine import WRITE_OPTION, create_engine
from shipyard.store.migrate import downgrade

MakeWorkOrder = Callable[..., Awaitable[WorkOrder]]

FIX_ISSUES = Source(
    on="issues",
    actions=["labeled"],
    labels=["shipyard"],
    workflow="plan_build_test",
    inputs={"prompt": "{{ event.title }}\n\n{{ event.body }}"},
)


async def make_project(store: Store, name: str = "widgets", **fields: Any) -> ProjectRecord:
    data = {"repository_url": "https://github.com/Acme/Widgets", "github_repository": "Acme/Widgets"}
    return await store.create_project(ProjectCreate.model_validate({"name": name, **data, **fields}))


async def test_created_project_reads_back_with_its_sources_and_budget(store: Store) -> None:
    created = await make_project(
        store, sources=[FIX_ISSUES], budget=Budget(max_turns=40), agent="claude", sandbox_type="git_branch"
    )

    assert created.id.startswith("prj-") and len(created.id) == 12
    assert created.github_repository == "acme/widgets"
    assert created.forge == "github"
    assert created.sources == [FIX_ISSUES]
    assert created.budget == Budget(max_turns=40)
    assert (created.agent, created.sandbox_type) == ("claude", "git_branch")
    assert created.created_at == created.updated_at
    assert await store.get_project(created.id) == created
    assert await store.get_project("widgets") == created


async def test_forge_defaults_to_local_without_a_remote_github_repository(store: Store) -> None:
    local = await store.create_project(ProjectCreate(name="here", repository_url="/srv/repos/here"))
    named = await make_project(store, "named-local", repository_url="/srv/repos/w", github_repository="a/w")
    chosen = await make_project(store, "chosen", forge="local")

    assert (local.forge, local.github_repository) == ("local", None)
    assert named.forge == "local"
    assert chosen.forge == "local"


async def test_a_taken_name_is_a_conflict(store: Store) -> None:
    await make_project(store)

    with pytest.raises(Conflict, match="a project named 'widgets' already exists"):
        await make_project(store, repository_url="/elsewhere")


async def test_unknown_projects_are_not_found(store: Store) -> None:
    with pytest.raises(NotFound, match="project 'nope' not found"):
        await store.get_project("nope")
    with pytest.raises(NotFound):
        await store.update_project("prj-00000000", agent="shell")
    with pytest.raises(NotFound):
        await store.delete_project("prj-00000000")


async def test_projects_are_listed_by_name(store: Store) -> None:
    for name in ("zeta", "alpha", "mid"):
        await make_project(store, name)

    assert [p.name for p in await store.list_projects()] == ["alpha", "mid", "zeta"]


async def test_update_changes_only_the_given_fields(store: Store) -> None:
    created = await make_project(store, sources=[FIX_ISSUES], agent="claude")
    push = {"on": "push", "branches": ["main"], "workflow": "test"}

    updated = await store.update_project(
        created.id, agent=None, sources=[push], github_repository="Acme/Gadgets"
    )

    assert updated.agent is None
    assert updated.sources == [Source.model_validate(push)]
    assert updated.github_repository == "acme/gadgets"
    assert (updated.name, updated.repository_url, updated.forge) == (
        "widgets",
        created.repository_url,
        "github",
    )
    assert updated.updated_at > created.updated_at
    assert await store.get_project(created.id) == updated


async def test_update_refuses_bad_fields_and_a_taken_name(store: Store) -> None:
    first = await make_project(store, "first")
    await make_project(store, "second")

    with pytest.raises(Conflict, match="'second' already exists"):
        await store.update_project(first.id, name="second")
    with pytest.raises(TypeError, match="unknown project field"):
        await store.update_project(first.id, colour="red")
    with pytest.raises(InvalidInput, match="unknown event 'deploy'"):
        await store.update_project(first.id, sources=[{"on": "deploy", "workflow": "x"}])
    with pytest.raises(InvalidInput, match="forge"):
        await store.update_project(first.id, forge="gitlab")
    assert await store.get_project("first") == first


async def test_projects_for_repository_match_any_case(store: Store) -> None:
    one = await make_project(store, "one")
    two = await make_project(store, "two", github_repository="acme/WIDGETS")
    await make_project(store, "other", github_repository="acme/other")
    await store.create_project(ProjectCreate(name="local", repository_url="/srv/widgets"))

    found = await store.projects_for_repository("ACME/widgets")

    assert [p.id for p in found] == [one.id, two.id]
    assert await store.projects_for_repository("acme/nothing") == []


async def test_work_orders_carry_project_forge_and_trigger(
    store: Store, make_work_order: MakeWorkOrder
) -> None:
    project = await make_project(store)
    trigger = {"source": "github", "event": "push", "delivery_id": "d-1"}

    wo = await make_work_order(project_id=project.id, forge="github", trigger=trigger)
    plain = await make_work_order()

    assert (wo.project_id, wo.forge, wo.trigger) == (project.id, "github", trigger)
    assert await store.get_work_order(wo.id) == wo
    assert (plain.project_id, plain.forge, plain.trigger) == (None, "local", None)


async def test_work_orders_on_a_branch(make_work_order: MakeWorkOrder, store: Store) -> None:
    first = await make_work_order(git_branch_name="wo/wo-1-fix")
    await make_work_order(git_branch_name="wo/wo-2-other")

    assert [wo.id for wo in await store.work_orders_on_branch("wo/wo-1-fix")] == [first.id]
    assert await store.work_orders_on_branch("main") == []


async def test_a_work_order_of_an_unknown_project_is_not_found(make_work_order: MakeWorkOrder) -> None:
    with pytest.raises(NotFound, match="project 'prj-00000000' not found"):
        await make_work_order(project_id="prj-00000000")


async def test_deleting_a_project_keeps_its_work_orders(store: Store, make_work_order: MakeWorkOrder) -> None:
    project = await make_project(store)
    wo = await make_work_order(project_id=project.id, forge="github")

    await store.delete_project(project.id)

    with pytest.raises(NotFound):
        await store.get_project(project.id)
    kept = await store.get_work_order(wo.id)
    assert (kept.project_id, kept.forge) == (None, "github")


async def test_concurrent_creates_of_one_name_make_one_project(store: Store) -> None:
    results = await asyncio.gather(*(make_project(store) for _ in range(4)), return_exceptions=True)

    assert sum(isinstance(r, ProjectRecord) for r in results) == 1
    assert all(isinstance(r, ProjectRecord | Conflict) for r in results)


# -- migration 0005 ---------------------------------------------------------------------------

_SEED_0004 = [
    "INSERT INTO work_order (id, parent_id, status, repository_url, workflow_type, sandbox_type, agent,"
    " inputs, created_at, updated_at) VALUES"
    " ('wo-00000001', NULL, 'completed', '/r', 'p', 's', 'a', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),"
    " ('wo-00000002', 'wo-00000001', 'running', '/r', 'p', 's', 'a', '{}',"
    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    "INSERT INTO step (work_order_id, step_id, status) VALUES ('wo-00000002', 'build', 'completed')",
    "INSERT INTO event (work_order_id, type, level, ts, data) VALUES"
    " ('wo-00000002', 'step_started', 'info', CURRENT_TIMESTAMP, '{\"n\": 1}')",
    "INSERT INTO pull_request (work_order_id, repository_url, number, created_at, updated_at)"
    " VALUES ('wo-00000002', '/r', 3, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
]


async def _execute(url: str, fn: Callable[[Connection], Any]) -> Any:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(**{WRITE_OPTION: True})
            async with conn.begin():
                return await conn.run_sync(fn)
    finally:
        await engine.dispose()


def _seed(conn: Connection) -> None:
    for statement in _SEED_0004:
        conn.execute(text(statement))


def _rows(conn: Connection) -> dict[str, Any]:
    def scalars(sql: str) -> list[Any]:
        return [tuple(row) for row in conn.execute(text(sql))]

    return {
        "work_order": scalars("SELECT id, parent_id, status FROM work_order ORDER BY id"),
        "step": scalars("SELECT work_order_id, step_id, status FROM step"),
        "event": scalars("SELECT id, work_order_id, type FROM event"),
        "pull_request": scalars("SELECT work_order_id, number FROM pull_request"),
    }


async def test_0005_keeps_work_orders_and_what_belongs_to_them_both_ways(fresh_url: str) -> None:
    await upgrade(fresh_url, "0004")
    await _execute(fresh_url, _seed)
    before = await _execute(fresh_url, _rows)

    await upgrade(fresh_url)
    upgraded = await _execute(fresh_url, _rows)
    store = await Store.open(fresh_url)
    wo = await store.get_work_order("wo-00000002")
    appended = await store.append_event("wo-00000002", "later")
    await store.close()
    await downgrade(fresh_url, "0004")
    downgraded = await _execute(fresh_url, _rows)

    assert before["work_order"] == [
        ("wo-00000001", None, "completed"),
        ("wo-00000002", "wo-00000001", "running"),
    ]
    assert [len(rows) for rows in before.values()] == [2, 1, 1, 1]
    assert upgraded == before
    assert (wo.project_id, wo.forge, wo.trigger) == (None, "local", None)
    assert appended.id > before["event"][0][0]
    assert await current_revision(fresh_url) == "0004"
    assert downgraded == {**before, "event": [*before["event"], (appended.id, "wo-00000002", "later")]}
