"""role_override: the store's changes to the built-in role profiles, install-wide (scope '') or
for one project (scope = its id)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 01:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "role_override",
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "role"),
    )


def downgrade() -> None:
    op.drop_table("role_override")
