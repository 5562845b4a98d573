"""idea_run, issue_node, run_event: seed 002's idea runs, their issue trees and their event streams

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    _idea_run()
    _issue_node()
    _run_event()


def downgrade() -> None:
    op.drop_index("ix_run_event_run_id_id", table_name="run_event")
    op.drop_table("run_event")
    op.drop_index("ix_issue_node_parent_id", table_name="issue_node")
    op.drop_index("ix_issue_node_run_id", table_name="issue_node")
    op.drop_table("issue_node")
    op.drop_index("ix_idea_run_created_at", table_name="idea_run")
    op.drop_index("ix_idea_run_state", table_name="idea_run")
    op.drop_index("ix_idea_run_project_id", table_name="idea_run")
    op.drop_table("idea_run")


def _idea_run() -> None:
    op.create_table(
        "idea_run",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("idea_text", sa.Text(), nullable=False),
        sa.Column("repository_url", sa.String(), nullable=False),
        sa.Column("project_id", sa.String(), nullable=True),
        sa.Column("forge", sa.String(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("correlation_id", sa.String(), nullable=False),
        sa.Column("root_issue_id", sa.Integer(), nullable=True),
        sa.Column("current_issue_id", sa.Integer(), nullable=True),
        sa.Column("paused", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("interrupt_reason", sa.String(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name="fk_idea_run_project_id_project", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_idea_run"),
    )
    op.create_index("ix_idea_run_project_id", "idea_run", ["project_id"])
    op.create_index("ix_idea_run_state", "idea_run", ["state"])
    op.create_index("ix_idea_run_created_at", "idea_run", ["created_at"])


def _issue_node() -> None:
    op.create_table(
        "issue_node",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), server_default="", nullable=False),
        sa.Column("acceptance_criteria", sa.JSON(), nullable=False),
        sa.Column("order_index", sa.Integer(), server_default="0", nullable=False),
        sa.Column("dependencies", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), server_default="NEW", nullable=False),
        sa.Column("branch", sa.String(), nullable=True),
        sa.Column("pr_number", sa.Integer(), nullable=True),
        sa.Column("pr_url", sa.String(), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("work_order_id", sa.String(), nullable=True),
        sa.Column("forge_issue_number", sa.Integer(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["idea_run.id"], name="fk_issue_node_run_id_idea_run", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["issue_node.id"], name="fk_issue_node_parent_id_issue_node", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_issue_node"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_issue_node_run_id", "issue_node", ["run_id"])
    op.create_index("ix_issue_node_parent_id", "issue_node", ["parent_id"])


def _run_event() -> None:
    op.create_table(
        "run_event",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("phase", sa.String(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("msg", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("ts", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["idea_run.id"], name="fk_run_event_run_id_idea_run", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_run_event"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_run_event_run_id_id", "run_event", ["run_id", "id"])
