"""project.deployment (its environments and deploy settings) and deployment (each deploy of a
version to an environment, seed 002 §7.1)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 02:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("project", sa.Column("deployment", sa.JSON(), nullable=True))
    op.create_table(
        "deployment",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("project_id", sa.String(), nullable=False),
        sa.Column("env", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("work_order_id", sa.String(), nullable=True),
        sa.Column("rollback_of", sa.String(), nullable=True),
        sa.Column("github_deployment_id", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_deployment_project_id_env", "deployment", ["project_id", "env"])


def downgrade() -> None:
    op.drop_index("ix_deployment_project_id_env", table_name="deployment")
    op.drop_table("deployment")
    op.execute("ALTER TABLE project DROP COLUMN deployment")
