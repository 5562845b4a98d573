"""work_order: an index for the list's repository filter, newest first

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_work_order_repository_url_created_at", "work_order", ["repository_url", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_work_order_repository_url_created_at", table_name="work_order")
