"""project: repositories with defaults and sources; work_order.project_id, forge and trigger

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 00:00:00
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def _project() -> None:
    op.create_table(
        "project",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("repository_url", sa.String(), nullable=False),
        sa.Column("github_repository", sa.String(), nullable=True),
        sa.Column("forge", sa.String(), nullable=False),
        sa.Column("agent", sa.String(), nullable=True),
        sa.Column("sandbox_type", sa.String(), nullable=True),
        sa.Column("budget", sa.JSON(), nullable=True),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_project"),
        sa.UniqueConstraint("name", name="uq_project_name"),
    )
    op.create_index("ix_project_github_repository", "project", ["github_repository"])


@contextmanager
def _altering_work_order() -> Iterator[BatchOperations]:
    """A batch on work_order; SQLite copies the table (foreign keys are off while migrating, so
    dropping the old copy cascades to nothing)."""
    with op.batch_alter_table("work_order", recreate="auto") as batch:
        yield batch


def upgrade() -> None:
    _project()
    fk = sa.ForeignKey("project.id", ondelete="SET NULL", name="fk_work_order_project_id_project")
    with _altering_work_order() as batch:
        batch.add_column(sa.Column("project_id", sa.String(), fk, nullable=True))
        batch.add_column(sa.Column("forge", sa.String(), nullable=False, server_default="local"))
        batch.add_column(sa.Column("trigger", sa.JSON(), nullable=True))
        batch.create_index("ix_work_order_project_id", ["project_id"])


def downgrade() -> None:
    with _altering_work_order() as batch:
        batch.drop_index("ix_work_order_project_id")
        batch.drop_column("trigger")
        batch.drop_column("forge")
        batch.drop_column("project_id")
    op.drop_table("project")
