"""work_order, step: whether a usage's cost is Shipyard's estimate (a price table) or the agent's own

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


def upgrade() -> None:
    for table in ("work_order", "step"):
        op.add_column(
            table, sa.Column("usage_cost_estimated", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN in place (SQLite 3.35 and later): a batch rebuild of work_order
    # would drop migration 0011's search triggers.
    for table in ("work_order", "step"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN usage_cost_estimated")
