"""The work-order search: a case-insensitive substring of six columns, through an index (FTS5
trigrams on SQLite, pg_trgm on PostgreSQL), answering exactly what the plain ILIKEs answer."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import pytest
import structlog
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from sqlalchemy import event, or_, select, text
from sqlalchemy.engine import make_url

from shipyard.domain.models import WorkOrderStatus
from shipyard.domain.work_orders import BranchProgress, WorkOrder, WorkOrderChange, WorkOrderCreate
from shipyard.store import Store, upgrade
from shipyard.store.engine import WRITE_OPTION, create_engine
from shipyard.store.migrate import downgrade
from shipyard.store.tables import WorkOrder as WorkOrderRow
from support import PgDatabases

Make = Callable[..., Awaitable[WorkOrder]]
_COLUMNS = (
    WorkOrderRow.id,
    WorkOrderRow.workflow_type,
    WorkOrderRow.repository_url,
    WorkOrderRow.git_branch_name,
    WorkOrderRow.error_message,
    WorkOrderRow.latest_commit_message,
)


async def found(store: Store, search: str, **filters: Any) -> list[str]:
    page, total = await store.list_work_orders(search=search, **filters)
    assert total == len(page)
    return [wo.id for wo in page]


async def like_answer(store: Store, search: str) -> list[str]:
    """What the search answered before its index: six ILIKEs, `%`, `_` and `\\` escaped."""
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    likes = or_(*(column.ilike(f"%{escaped}%", escape="\\") for column in _COLUMNS))
    query = select(WorkOrderRow.id).where(likes)
    query = query.order_by(WorkOrderRow.created_at.desc(), WorkOrderRow.id.desc())
    async with store.engine.connect() as conn:
        return list((await conn.scalars(query)).all())


async def test_search_finds_a_part_of_each_column_in_any_case(store: Store, make_work_order: Make) -> None:
    other = await make_work_order(id="wo-0d0d0d0d")  # a random id could hold a searched part ("7c")
    wo = await make_work_order(
        id="wo-5ea7c4b1",
        workflow_type="agent_workflow_Triage",
        repository_url="https://git.example/Acme/Gizmo",
    )
    change = WorkOrderChange(
        git_branch_name="wo/fix-Flaky-login",
        error_message="Step BUILD failed: exit code 2",
        progress=BranchProgress(latest_commit_message="Handle the Empty cart"),
    )
    await store.update_work_order(wo.id, change)

    for part in ("5EA7C4", "triage", "ACME/gizmo", "flaky-LOGIN", "build FAILED", "empty CART"):
        assert await found(store, part) == [wo.id], part
    assert await found(store, "  5ea7c4b1 ") == [wo.id]  # trimmed
    assert await found(store, "7c") == [wo.id]  # too short for trigrams: the ILIKEs alone
    assert await found(store, "agent_workflow") == [wo.id, other.id]  # newest first
    assert await found(store, "agent%workflow") == []  # % is a character here


_FTS_CHECK = "INSERT INTO work_order_search(work_order_search, rank) VALUES ('integrity-check', 1)"


async def check_fts_index(store: Store) -> None:
    """Raise ("database disk image is malformed") unless SQLite's FTS5 index holds exactly the
    work orders' values: FTS5's own check against its content table."""
    async with store.engine.begin() as conn:
        await conn.exec_driver_sql(_FTS_CHECK)


async def test_search_follows_updates_and_deletes(store: Store, make_work_order: Make, backend: str) -> None:
    kept, wo = await make_work_order(), await make_work_order()
    await store.update_work_order(wo.id, WorkOrderChange(error_message="quota exhausted"))
    assert await found(store, "quota") == [wo.id]

    change = WorkOrderChange(
        error_message="disk full", progress=BranchProgress(latest_commit_message="Rename the widget")
    )
    await store.update_work_order(wo.id, change)
    assert await found(store, "quota") == []
    assert await found(store, "disk ful") == await found(store, "the WIDGET") == [wo.id]

    await store.forget_work_order(wo.id)
    assert await found(store, "disk ful") == await found(store, wo.id) == []
    assert await found(store, kept.id) == [kept.id]
    if backend == "sqlite":
        await check_fts_index(store)


async def test_search_combines_with_the_filters_and_pages(store: Store, make_work_order: Make) -> None:
    async def failed(repository: str, error: str) -> WorkOrder:
        wo = await make_work_order(repository_url=repository)
        return await store.update_work_order(wo.id, WorkOrderChange(error_message=error))

    alpha = [await failed("/src/alpha", f"timeout {n}") for n in range(3)]
    beta = await failed("/src/beta", "timeout 9")
    await failed("/src/alpha", "disk full")
    await store.update_work_order(alpha[1].id, WorkOrderChange(status=WorkOrderStatus.RUNNING))

    page, total = await store.list_work_orders(search="timeout", limit=2, offset=1)
    assert ([wo.id for wo in page], total) == ([alpha[2].id, alpha[1].id], 4)
    assert await store.list_work_orders(search="timeout", limit=2, offset=10) == ([], 4)  # past the end
    assert await store.list_work_orders(search="nowhere-at-all") == ([], 0)
    assert await found(store, "TIMEOUT", repository="/src/alpha") == [wo.id for wo in reversed(alpha)]
    assert await found(store, "timeout", status=WorkOrderStatus.RUNNING) == [alpha[1].id]
    assert await found(store, "timeout", repository="/src/beta") == [beta.id]


# -- the same answer as the ILIKEs --------------------------------------------------------------

_TRICKY_VALUES = [
    ("wo-quote", "He said \"ship it\" and 'left'"),
    ("wo-percent", "100% of max_turns used; 50%_off"),
    ("wo-backslash", "C:\\Users\\bot\\repo failed \\n"),
    ("wo-fts-syntax", "a AND b OR NOT c * NEAR(d e, 2) id:x ^start {col1 col2}: x + -y"),
    ("wo-unicode", "École Straße İstanbul ΣΊΣΥΦΟΣ ǅemal 健康 😀 e\u0301"),
    ("id:x-wo", "nothing special"),
]
TRICKY_SEARCHES = [
    '"', '""', '"ship it"', "'left'", "%", "100%", "0% of", "max_turns", "_", "%_", "\\", "\\users\\",
    "\\n", "AND", "and b", "OR NOT", "*", "c *", "NEAR(", "NEAR(d e, 2)", "id:x", "id:", "^start",
    "{col1 col2}:", "+ -y", "-y", "école", "ÉCOLE", "straße", "STRASSE", "İst", "istanbul", "σίσυφος",
    "ΣΊΣ", "ǆemal", "ǅEMAL", "健康", "😀", "e\u0301", "\u0301", "wo-", "-wo", "x-w", "nothing",
]  # fmt: skip


@pytest.fixture
async def tricky(store: Store, make_work_order: Make) -> Store:
    for id, message in _TRICKY_VALUES:
        await make_work_order(id=id, workflow_type=message[::-1])
        progress = BranchProgress(latest_commit_message=message.upper())
        await store.update_work_order(id, WorkOrderChange(error_message=message, progress=progress))
    return store


async def test_tricky_searches_answer_what_the_ilikes_answer(tricky: Store) -> None:
    answers = {search: await found(tricky, search) for search in TRICKY_SEARCHES}

    assert answers == {search: await like_answer(tricky, search) for search in TRICKY_SEARCHES}
    assert sum(bool(ids) for ids in answers.values()) > len(TRICKY_SEARCHES) / 2  # most find some


@pytest.mark.parametrize("backend", ["sqlite"])  # PostgreSQL text cannot hold a NUL (the API refuses one)
async def test_a_nul_in_a_search_on_sqlite_is_answered_by_the_ilikes(tricky: Store) -> None:
    assert await found(tricky, "ship\x00it") == await like_answer(tricky, "ship\x00it") == []


_ALPHABET = "aAbBeEiIsS \"'%_\\*:^(){}+-.,/éÉßİσΣ健😀\u0301"
_PARTS = st.sampled_from([message for _, message in _TRICKY_VALUES]).flatmap(
    lambda message: st.tuples(st.integers(0, len(message)), st.integers(1, 8)).map(
        lambda span: message[span[0] : span[0] + span[1]]
    )
)


@examples(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(search=st.text(alphabet=_ALPHABET, min_size=1, max_size=6) | _PARTS | _PARTS.map(str.swapcase))
async def test_any_search_answers_what_the_ilikes_answer(tricky: Store, search: str) -> None:
    assert await found(tricky, search) == await like_answer(tricky, search.strip())


# -- the index is used --------------------------------------------------------------------------


@contextmanager
def statements(store: Store) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements (and their parameters) the store runs meanwhile."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(store.read_engine.sync_engine, "before_cursor_execute", record)  # a search is a read
    try:
        yield seen
    finally:
        event.remove(store.read_engine.sync_engine, "before_cursor_execute", record)


async def plans(store: Store, search: str, backend: str) -> list[str]:
    """The query plan of each statement a search runs."""
    with statements(store) as seen:
        await store.list_work_orders(search=search)
    async with store.engine.connect() as conn:
        if backend == "postgresql":
            # On a table this small a scan costs less, rightly; with scans off, what is left
            # shows whether the search can use the trigram index at all.
            await conn.exec_driver_sql("SET enable_seqscan = off")
            await conn.exec_driver_sql("SET enable_indexscan = off")
        explain = "EXPLAIN QUERY PLAN " if backend == "sqlite" else "EXPLAIN "
        return [
            "\n".join(str(row[-1]) for row in await conn.exec_driver_sql(explain + sql, parameters))
            for sql, parameters in seen
        ]


async def test_a_search_goes_through_the_index(store: Store, make_work_order: Make, backend: str) -> None:
    for n in range(20):
        await make_work_order(id=f"wo-number-{n}")
    index = "work_order_search" if backend == "sqlite" else "ix_work_order_search_trgm"

    searched = await plans(store, "number-7", backend)

    assert len(searched) == 1 and index in searched[0], searched  # one query: the page and its count
    if backend == "sqlite":  # two characters are too few for trigrams
        assert all(index not in plan for plan in await plans(store, "r7", backend))


# -- migration 0011 -----------------------------------------------------------------------------

_SEED_0010 = (
    "INSERT INTO work_order (id, status, repository_url, workflow_type, sandbox_type, agent, inputs,"
    " error_message, created_at, updated_at) VALUES"
    " ('wo-00000001', 'failed', '/r', 'plan', 's', 'a', '{}', 'Budget exceeded', CURRENT_TIMESTAMP,"
    " CURRENT_TIMESTAMP),"
    " ('wo-00000002', 'pending', '/r', 'plan', 's', 'a', '{}', NULL, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
)
_MADE = {
    "sqlite": [
        "work_order_search", "work_order_search_config", "work_order_search_data",
        "work_order_search_delete", "work_order_search_docsize", "work_order_search_idx",
        "work_order_search_insert", "work_order_search_update",
    ],
    "postgresql": ["ix_work_order_search_trgm"],
}  # fmt: skip
_SEARCH_OBJECTS = {
    "sqlite": "SELECT name FROM sqlite_master WHERE name LIKE 'work_order_search%' ORDER BY name",
    "postgresql": "SELECT indexname FROM pg_indexes WHERE indexname LIKE '%\\_trgm' ORDER BY indexname",
}


async def _execute(url: str, sql: str) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(**{WRITE_OPTION: True})
            async with conn.begin():
                result = await conn.execute(text(sql))
                return [row[0] for row in result] if result.returns_rows else []
    finally:
        await engine.dispose()


async def test_0011_indexes_the_rows_there_already_and_goes_back(fresh_url: str, backend: str) -> None:
    await upgrade(fresh_url, "0010")
    await _execute(fresh_url, _SEED_0010)

    store = await Store.open(fresh_url)  # to head
    made = await _execute(fresh_url, _SEARCH_OBJECTS[backend])
    backfilled = await found(store, "BUDGET exc")
    if backend == "sqlite":
        await check_fts_index(store)
    await store.close()
    await downgrade(fresh_url, "0010")
    left = await _execute(fresh_url, _SEARCH_OBJECTS[backend])
    kept = await _execute(fresh_url, "SELECT id FROM work_order ORDER BY id")

    assert backfilled == ["wo-00000001"]
    assert made == _MADE[backend]
    assert (left, kept) == ([], ["wo-00000001", "wo-00000002"])


async def test_0011_without_the_right_to_install_pg_trgm_searches_unindexed(
    pg_databases: PgDatabases,
) -> None:
    url = await pg_databases.create()
    role = f"shipyard_test_{secrets.token_hex(4)}"
    # A role with a schema of its own, but no CREATE on the database: it cannot install pg_trgm.
    await _as_admin(url, f'CREATE ROLE "{role}" LOGIN', f'CREATE SCHEMA AUTHORIZATION "{role}"')
    try:
        as_role = make_url(url).set(username=role).render_as_string(False)
        with structlog.testing.capture_logs() as logs:
            store = await Store.open(as_role)
        wo = await store.create_work_order(
            WorkOrderCreate(
                id="wo-unindexed", repository_url="/r", workflow_type="p", sandbox_type="s", agent="a"
            )
        )
        searched = await found(store, "UNINDEX")
        await store.close()
        indexes = await _execute(as_role, _SEARCH_OBJECTS["postgresql"])
    finally:
        await _as_admin(url, f'DROP OWNED BY "{role}"')
        await _as_admin(pg_databases.server_url.render_as_string(False), f'DROP ROLE "{role}"')

    assert (searched, indexes) == ([wo.id], [])
    assert [entry["event"] for entry in logs if entry["log_level"] == "warning"] == ["search_unindexed"]


async def _as_admin(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()
