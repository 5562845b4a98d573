"""repository_dispatch.reports: what the workflow a dispatch started reported back
(`orchestrator.status`), so an `actions` step can wait for its end

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("repository_dispatch") as batch:
        batch.add_column(sa.Column("reports", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("repository_dispatch") as batch:
        batch.drop_column("reports")
