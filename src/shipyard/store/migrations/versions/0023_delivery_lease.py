"""webhook_delivery.attempts and .lease_until: deliveries claimed from the store by the processes
that act on them (a lease each renews while it works), not by a Temporal workflow each; an index
on status for the claims and the deliveries list's filter

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 21:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_delivery") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_webhook_delivery_status", ["status"])


def downgrade() -> None:
    with op.batch_alter_table("webhook_delivery") as batch:
        batch.drop_index("ix_webhook_delivery_status")
        batch.drop_column("lease_until")
        batch.drop_column("attempts")
