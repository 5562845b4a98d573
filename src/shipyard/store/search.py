"""What a work-order search matches, and the index it goes through (migration 0011).

A search matches the work orders whose id, workflow, repository, branch, error or latest commit
message contains the text, ignoring case, `%`, `_` and `\\` being plain characters: the ILIKEs
below say so. On PostgreSQL one ILIKE over the six columns joined by U+001F goes through a
pg_trgm GIN index on that expression, when the migration could install the extension. On SQLite
the FTS5 table `work_order_search` (trigram tokenizer, kept in step by triggers on work_order)
first narrows the rows, and the ILIKEs decide among those: trigrams fold case beyond ASCII, where
SQLite's lower() and LIKE do not, so they find every row the ILIKEs would and maybe a few more,
which the ILIKEs then drop.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Text, and_, literal_column, or_, text

from shipyard.store.tables import WorkOrder

_COLUMN = WorkOrder.__table__.c  # the table's, not the ORM class's: a list is a plain-row read
SEARCHED = (
    _COLUMN.id,
    _COLUMN.workflow_type,
    _COLUMN.repository_url,
    _COLUMN.git_branch_name,
    _COLUMN.error_message,
    _COLUMN.latest_commit_message,
)

# Migration 0011's index expression, said the same way (literals, not parameters) so that the
# planner recognises it.
_SEPARATOR = "\x1f"
JOINED = literal_column(
    "(" + " || E'\\x1f' || ".join(f"coalesce(work_order.{column.key}, '')" for column in SEARCHED) + ")", Text
)
_IN_INDEX = text(
    "work_order.rowid IN (SELECT rowid FROM work_order_search WHERE work_order_search MATCH :phrase)"
)


def matching(search: str, *, sqlite: bool) -> ColumnElement[bool]:
    """The work orders one of whose searched columns contains `search`."""
    pattern = _pattern(search)
    contains = or_(*(column.ilike(pattern, escape="\\") for column in SEARCHED))
    if not sqlite:  # one lookup in the joined index; a search holding the separator, column by column
        return contains if _SEPARATOR in search else JOINED.ilike(pattern, escape="\\")
    # The trigram index matches only 3 characters or more, and an FTS5 string cannot hold a NUL:
    # such searches run the ILIKEs alone, over every row.
    if len(search) < 3 or "\x00" in search:
        return contains
    return and_(_IN_INDEX.bindparams(phrase=_phrase(search)), contains)


def _pattern(search: str) -> str:
    """A LIKE pattern (escape character `\\`) matching values that contain `search` literally."""
    for special in ("\\", "%", "_"):
        search = search.replace(special, "\\" + special)
    return f"%{search}%"


def _phrase(search: str) -> str:
    """`search` as one FTS5 string, so none of it is read as query syntax (AND, *, NEAR, col:)."""
    return '"' + search.replace('"', '""') + '"'
