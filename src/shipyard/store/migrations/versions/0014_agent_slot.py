"""agent_slot: steps in line for, and holding, the slots of an agent whose steps are limited
install-wide (SHIPYARD_AGENT_LIMITS)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 00:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_slot",
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("agent", sa.String(), nullable=False),
        sa.Column("work_order_id", sa.String(), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_order.id"],
            name="fk_agent_slot_work_order_id_work_order",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("holder", name="pk_agent_slot"),
    )
    op.create_index("ix_agent_slot_agent", "agent_slot", ["agent"])
    op.create_index("ix_agent_slot_work_order_id", "agent_slot", ["work_order_id"])


def downgrade() -> None:
    op.drop_index("ix_agent_slot_work_order_id", table_name="agent_slot")
    op.drop_index("ix_agent_slot_agent", table_name="agent_slot")
    op.drop_table("agent_slot")
