"""pull_request.work_order_id nullable: a local pull request opened by hand belongs to no work order

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pull_request") as batch:
        batch.alter_column("work_order_id", existing_type=sa.String(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM pull_request WHERE work_order_id IS NULL")
    with op.batch_alter_table("pull_request") as batch:
        batch.alter_column("work_order_id", existing_type=sa.String(), nullable=False)
