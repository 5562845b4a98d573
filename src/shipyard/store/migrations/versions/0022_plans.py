"""cluster, coding_plan and fix_job: seed 004's feedback clusters, their versioned coding plans and
the jobs that run them

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 07:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cluster",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), server_default="", nullable=False),
        sa.Column("repository_url", sa.String(), nullable=False),
        sa.Column("project_id", sa.String(), nullable=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name="fk_cluster_project_id_project", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_cluster"),
    )
    op.create_index("ix_cluster_status", "cluster", ["status"])
    op.create_index("ix_cluster_created_at", "cluster", ["created_at"])
    op.create_table(
        "coding_plan",
        sa.Column("cluster_id", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("work_order_id", sa.String(), nullable=True),
        sa.Column("agent", sa.String(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"], ["cluster.id"], name="fk_coding_plan_cluster_id_cluster", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("cluster_id", "version", name="pk_coding_plan"),
    )
    op.create_table(
        "fix_job",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("cluster_id", sa.String(), nullable=False),
        sa.Column("runner", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("plan_version", sa.Integer(), nullable=True),
        sa.Column("plan_work_order_id", sa.String(), nullable=True),
        sa.Column("work_order_id", sa.String(), nullable=True),
        sa.Column("pr_url", sa.String(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("log", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["cluster_id"], ["cluster.id"], name="fk_fix_job_cluster_id_cluster", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_fix_job"),
    )
    op.create_index("ix_fix_job_cluster_id", "fix_job", ["cluster_id"])
    op.create_index("ix_fix_job_created_at", "fix_job", ["created_at"])


def downgrade() -> None:
    op.drop_table("fix_job")
    op.drop_table("coding_plan")
    op.drop_table("cluster")
