"""step.output_data: the parsed JSON of a step with an `output_schema` (later steps' templates read
it, a retry of the work order rebuilds them from it)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("step", sa.Column("output_data", sa.JSON(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN in place (SQLite 3.35 and later), as 0012 does.
    op.execute("ALTER TABLE step DROP COLUMN output_data")
