"""initial tables: work_order, step, event, pull_request

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def _counter(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), nullable=False, server_default="0")


def _owner(table: str) -> sa.Column[str]:
    """The `work_order_id` column of a table that belongs to one work order."""
    fk = sa.ForeignKey("work_order.id", ondelete="CASCADE", name=f"fk_{table}_work_order_id_work_order")
    return sa.Column("work_order_id", sa.String(), fk, nullable=False)


def _usage() -> list[sa.Column[Any]]:
    return [
        _counter("usage_turns"),
        _counter("usage_input_tokens"),
        _counter("usage_output_tokens"),
        sa.Column("usage_cost_usd", sa.Float(), nullable=True),
    ]


def _work_order() -> None:
    op.create_table(
        "work_order",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("repository_url", sa.String(), nullable=False),
        sa.Column("workflow_type", sa.String(), nullable=False),
        sa.Column("sandbox_type", sa.String(), nullable=False),
        sa.Column("agent", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("current_phase", sa.String(), nullable=True),
        sa.Column("git_branch_name", sa.String(), nullable=True),
        sa.Column("base_branch", sa.String(), nullable=True),
        sa.Column("agent_session_id", sa.String(), nullable=True),
        sa.Column("github_issue_number", sa.String(), nullable=True),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column(
            "parent_id",
            sa.String(),
            sa.ForeignKey("work_order.id", ondelete="SET NULL", name="fk_work_order_parent_id_work_order"),
            nullable=True,
        ),
        sa.Column("sandbox", sa.JSON(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("execution_started_at", _TS, nullable=True),
        sa.Column("execution_completed_at", _TS, nullable=True),
        _counter("git_commit_count"),
        _counter("git_files_changed"),
        _counter("git_lines_added"),
        _counter("git_lines_removed"),
        sa.Column("latest_commit_sha", sa.String(), nullable=True),
        sa.Column("latest_commit_message", sa.Text(), nullable=True),
        sa.Column("github_pull_request_url", sa.String(), nullable=True),
        *_usage(),
        sa.PrimaryKeyConstraint("id", name="pk_work_order"),
    )
    op.create_index("ix_work_order_status", "work_order", ["status"])
    op.create_index("ix_work_order_created_at", "work_order", ["created_at"])
    op.create_index("ix_work_order_parent_id", "work_order", ["parent_id"])


def _step() -> None:
    op.create_table(
        "step",
        _owner("step"),
        sa.Column("step_id", sa.String(), nullable=False),
        _counter("position"),
        sa.Column("kind", sa.String(), nullable=False, server_default=""),
        sa.Column("phase", sa.String(), nullable=True),
        sa.Column("agent", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False, server_default="pending"),
        _counter("attempt"),
        sa.Column("started_at", _TS, nullable=True),
        sa.Column("completed_at", _TS, nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("commit_sha", sa.String(), nullable=True),
        *_usage(),
        sa.PrimaryKeyConstraint("work_order_id", "step_id", name="pk_step"),
    )


def _event() -> None:
    op.create_table(
        "event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        _owner("event"),
        sa.Column("step_id", sa.String(), nullable=True),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("ts", _TS, nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_event"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_event_work_order_id_id", "event", ["work_order_id", "id"])


def _pull_request() -> None:
    op.create_table(
        "pull_request",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        _owner("pull_request"),
        sa.Column("repository_url", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False, server_default=""),
        sa.Column("body", sa.Text(), nullable=False, server_default=""),
        sa.Column("head_branch", sa.String(), nullable=False, server_default=""),
        sa.Column("base_branch", sa.String(), nullable=False, server_default=""),
        sa.Column("state", sa.String(), nullable=False, server_default="open"),
        sa.Column("draft", sa.Boolean(), nullable=False, server_default=sa.false()),
        _counter("commits"),
        _counter("files_changed"),
        _counter("lines_added"),
        _counter("lines_removed"),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pull_request"),
        sa.UniqueConstraint("work_order_id", name="uq_pull_request_work_order_id"),
    )
    op.create_index("ix_pull_request_number", "pull_request", ["number"])


def upgrade() -> None:
    _work_order()
    _step()
    _event()
    _pull_request()


def downgrade() -> None:
    for table in ("pull_request", "event", "step", "work_order"):
        op.drop_table(table)
