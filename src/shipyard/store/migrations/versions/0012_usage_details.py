"""work_order, step: a usage's cached, cache-write and reasoning tokens, and whether its cost is
Shipyard's estimate (a price table) or the agent's own

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_COUNTS = ("usage_cached_input_tokens", "usage_cache_write_tokens", "usage_reasoning_tokens")


def upgrade() -> None:
    for table in ("work_order", "step"):
        for column in _COUNTS:
            op.add_column(table, sa.Column(column, sa.Integer(), nullable=False, server_default="0"))
        op.add_column(
            table, sa.Column("usage_cost_estimated", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN in place (SQLite 3.35 and later): a batch rebuild of work_order
    # would drop migration 0011's search triggers.
    for table in ("work_order", "step"):
        for column in (*_COUNTS, "usage_cost_estimated"):
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
