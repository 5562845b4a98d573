"""work_order: the list's search through an index (SQLite FTS5 trigrams, PostgreSQL pg_trgm)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from alembic import op
from sqlalchemy.exc import DBAPIError

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = structlog.get_logger()

# What a search looks in (shipyard.store.search.SEARCHED).
_SEARCHED = (
    "id",
    "workflow_type",
    "repository_url",
    "git_branch_name",
    "error_message",
    "latest_commit_message",
)
_LIST = ", ".join(_SEARCHED)
_NEW = ", ".join(f"new.{column}" for column in _SEARCHED)
_OLD = ", ".join(f"old.{column}" for column in _SEARCHED)

# An external-content FTS5 table: it indexes work_order's rows by their rowid (work_order's key
# is TEXT, so the rowid is SQLite's own) and keeps no copy of them. Triggers keep it in step; such
# an index forgets a row only when told the values it indexed, hence 'delete' with the old ones.
# Updates of other columns (status, counters) leave it alone.
_ADD = f"INSERT INTO work_order_search(rowid, {_LIST}) VALUES (new.rowid, {_NEW});"
_FORGET = (
    f"INSERT INTO work_order_search(work_order_search, rowid, {_LIST}) VALUES ('delete', old.rowid, {_OLD});"
)
_SQLITE_UPGRADE = (
    f"CREATE VIRTUAL TABLE work_order_search USING fts5({_LIST}, content='work_order', tokenize='trigram')",
    f"CREATE TRIGGER work_order_search_insert AFTER INSERT ON work_order BEGIN {_ADD} END",
    f"CREATE TRIGGER work_order_search_delete AFTER DELETE ON work_order BEGIN {_FORGET} END",
    f"CREATE TRIGGER work_order_search_update AFTER UPDATE OF {_LIST} ON work_order"
    f" BEGIN {_FORGET} {_ADD} END",
    "INSERT INTO work_order_search(work_order_search) VALUES ('rebuild')",  # the rows there already
)
_SQLITE_DOWNGRADE = (
    "DROP TRIGGER work_order_search_update",
    "DROP TRIGGER work_order_search_delete",
    "DROP TRIGGER work_order_search_insert",
    "DROP TABLE work_order_search",
)


# PostgreSQL: one trigram index over the six columns joined by U+001F, a character no search
# holds (one that does runs the per-column ILIKEs), so one index lookup answers a search and no
# match spans two columns. shipyard.store.search.JOINED is the same expression: the query must
# say it exactly so for the planner to use the index.
_JOINED = " || E'\\x1f' || ".join(f"coalesce({column}, '')" for column in _SEARCHED)
_TRIGRAM_INDEX = "ix_work_order_search_trgm"


def _create_trigram_index() -> None:
    bind = op.get_bind()
    try:
        with bind.begin_nested():  # a failure rolls back to here, not the whole migration
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DBAPIError as exc:
        # Installing pg_trgm takes CREATE on the database (it is a trusted extension). Without it
        # the search's ILIKEs are just as right, only unindexed: the migration goes on.
        log.warning("search_unindexed", reason="pg_trgm could not be installed", error=str(exc.orig))
        return
    op.execute(f"CREATE INDEX {_TRIGRAM_INDEX} ON work_order USING gin (({_JOINED}) gin_trgm_ops)")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_UPGRADE:
            op.execute(statement)
    else:
        _create_trigram_index()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_DOWNGRADE:
            op.execute(statement)
        return
    # The extension stays: something else may use it, and dropping it takes its owner.
    op.execute(f"DROP INDEX IF EXISTS {_TRIGRAM_INDEX}")
