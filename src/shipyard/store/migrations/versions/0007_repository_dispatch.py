"""repository_dispatch: outbound dispatches by idempotency key

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "repository_dispatch",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("repository", sa.String(), nullable=False),
        sa.Column("event_type", sa.String(), nullable=False),
        sa.Column("client_payload", sa.JSON(), nullable=False),
        sa.Column("work_order_id", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_order.id"],
            name="fk_repository_dispatch_work_order_id_work_order",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_repository_dispatch"),
    )
    op.create_index("ix_repository_dispatch_work_order_id", "repository_dispatch", ["work_order_id"])


def downgrade() -> None:
    op.drop_index("ix_repository_dispatch_work_order_id", table_name="repository_dispatch")
    op.drop_table("repository_dispatch")
