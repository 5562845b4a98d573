"""ORM models of the read model: projects, work orders, their steps, events and artifacts, local
pull requests, received webhook deliveries and sent dispatches, GitHub App installations, idea
runs with their issue trees and events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utc_now() -> datetime:
    """The current time, tz-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back tz-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class CleanText(TypeDecorator[str]):
    """Text without NUL characters, which PostgreSQL refuses and agent output may contain."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else value.replace("\x00", "\ufffd")


# Named constraints, so later migrations (SQLite batch mode included) can address them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL; SQLite needs exactly INTEGER PRIMARY KEY to alias the rowid.
EventId = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(none_as_null=True)}


class Project(Base):
    """A repository Shipyard works on, its defaults and its sources (trigger rules)."""

    __tablename__ = "project"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    repository_url: Mapped[str] = mapped_column(String)
    github_repository: Mapped[str | None] = mapped_column(String, index=True)  # owner/name, lower-case
    forge: Mapped[str] = mapped_column(String)  # github | local
    agent: Mapped[str | None] = mapped_column(String)
    sandbox_type: Mapped[str | None] = mapped_column(String)
    budget: Mapped[dict[str, Any] | None] = mapped_column()
    limits: Mapped[dict[str, Any] | None] = mapped_column()  # agent → steps at once
    deployment: Mapped[dict[str, Any] | None] = mapped_column()  # DeploymentSettings
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class WorkOrder(Base):
    __tablename__ = "work_order"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    repository_url: Mapped[str] = mapped_column(String)
    workflow_type: Mapped[str] = mapped_column(String)
    sandbox_type: Mapped[str] = mapped_column(String)
    agent: Mapped[str] = mapped_column(String)
    status: Mapped[str] = mapped_column(String, index=True)
    current_phase: Mapped[str | None] = mapped_column(String)
    git_branch_name: Mapped[str | None] = mapped_column(String)
    base_branch: Mapped[str | None] = mapped_column(String)
    agent_session_id: Mapped[str | None] = mapped_column(String)
    github_issue_number: Mapped[str | None] = mapped_column(String)
    inputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error_message: Mapped[str | None] = mapped_column(CleanText)
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("work_order.id", ondelete="SET NULL"), index=True
    )
    sandbox: Mapped[dict[str, Any] | None] = mapped_column()
    definition: Mapped[dict[str, Any] | None] = mapped_column()  # the resolved workflow definition
    budget: Mapped[dict[str, Any] | None] = mapped_column()  # the work order's own limits
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime] = mapped_column()
    execution_started_at: Mapped[datetime | None] = mapped_column()
    execution_completed_at: Mapped[datetime | None] = mapped_column()
    git_commit_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    git_files_changed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    git_lines_added: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    git_lines_removed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    latest_commit_sha: Mapped[str | None] = mapped_column(String)
    latest_commit_message: Mapped[str | None] = mapped_column(CleanText)
    github_pull_request_url: Mapped[str | None] = mapped_column(String)
    github_comment_id: Mapped[str | None] = mapped_column(String)  # the issue comment kept up to date
    usage_turns: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    usage_input_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    usage_cached_input_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    usage_cache_write_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    usage_output_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    usage_reasoning_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    usage_cost_usd: Mapped[float | None] = mapped_column(Float)
    usage_cost_estimated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    project_id: Mapped[str | None] = mapped_column(ForeignKey("project.id", ondelete="SET NULL"), index=True)
    forge: Mapped[str] = mapped_column(String, default="local", server_default="local")
    trigger: Mapped[dict[str, Any] | None] = mapped_column()  # what started it: source, event, delivery

    # The list's repository filter, newest first (status has its own index). The search's index
    # is outside the models (migration 0011): on SQLite, an FTS5 table of rowids kept by triggers,
    # so a migration that copies this table (batch mode) must make the triggers again and rebuild
    # work_order_search, whose rowids the copy renumbers.
    __table_args__ = (Index("ix_work_order_repository_url_created_at", "repository_url", "created_at"),)


class Step(Base):
    __tablename__ = "step"

    work_order_id: Mapped[str] = mapped_column(
        ForeignKey("work_order.id", ondelete="CASCADE"), primary_key=True
    )
    step_id: Mapped[str] = mapped_column(String, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    kind: Mapped[str] = mapped_column(String, default="", server_default="")
    phase: Mapped[str | None] = mapped_column(String)
    agent: Mapped[str | None] = mapped_column(String)
    status: Mapped[str] = mapped_column(String, default="pending", server_default="pending")
    attempt: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    started_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()
    exit_code: Mapped[int | None] = mapped_column(Integer)
    output: Mapped[str | None] = mapped_column(CleanText)
    error: Mapped[str | None] = mapped_column(CleanText)
    commit_sha: Mapped[str | None] = mapped_column(String)
    output_data: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)  # typed output
    usage_turns: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    usage_input_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    usage_cached_input_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    usage_cache_write_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    usage_output_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    usage_reasoning_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    usage_cost_usd: Mapped[float | None] = mapped_column(Float)
    usage_cost_estimated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Event(Base):
    __tablename__ = "event"
    # AUTOINCREMENT: SQLite never reuses an id, so SSE clients resuming by id miss nothing.
    __table_args__ = (
        Index("ix_event_work_order_id_id", "work_order_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"))
    step_id: Mapped[str | None] = mapped_column(String)
    type: Mapped[str] = mapped_column(String)
    level: Mapped[str] = mapped_column(String)
    ts: Mapped[datetime] = mapped_column()
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class PullRequest(Base):
    __tablename__ = "pull_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # None for one opened by hand (the code module's `POST /api/projects/:id/prs`), not by a work order.
    work_order_id: Mapped[str | None] = mapped_column(
        ForeignKey("work_order.id", ondelete="CASCADE"), unique=True
    )
    repository_url: Mapped[str] = mapped_column(String)
    number: Mapped[int] = mapped_column(Integer, index=True)
    url: Mapped[str | None] = mapped_column(String)
    title: Mapped[str] = mapped_column(CleanText, default="", server_default="")
    body: Mapped[str] = mapped_column(CleanText, default="", server_default="")
    head_branch: Mapped[str] = mapped_column(String, default="", server_default="")
    base_branch: Mapped[str] = mapped_column(String, default="", server_default="")
    state: Mapped[str] = mapped_column(String, default="open", server_default="open")
    draft: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    commits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    files_changed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lines_added: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lines_removed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class WebhookDelivery(Base):
    """A webhook as received: stored before it is answered, so a redelivery is recognised."""

    __tablename__ = "webhook_delivery"
    # GitHub shares one delivery id among all hooks subscribed to an event: the hook id is part of the key.
    __table_args__ = (UniqueConstraint("source", "hook_id", "delivery_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String)  # github
    hook_id: Mapped[str] = mapped_column(String)
    delivery_id: Mapped[str] = mapped_column(String)
    event: Mapped[str] = mapped_column(String)
    action: Mapped[str | None] = mapped_column(String)
    payload: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(
        String, index=True
    )  # received | processing | processed | ignored | refused | failed
    result: Mapped[dict[str, Any] | None] = mapped_column()  # what processing did, or why not
    received_at: Mapped[datetime] = mapped_column(index=True)
    processed_at: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, server_default="0", default=0)  # claims so far
    lease_until: Mapped[datetime | None] = mapped_column()  # a claim's, while `processing`


class RepositoryDispatch(Base):
    """A `repository_dispatch` Shipyard sent, known by its idempotency key: sent at most once."""

    __tablename__ = "repository_dispatch"

    id: Mapped[str] = mapped_column(String, primary_key=True)  # the dispatch id (UUIDv7)
    repository: Mapped[str] = mapped_column(String)  # owner/name
    event_type: Mapped[str] = mapped_column(String)
    client_payload: Mapped[dict[str, Any]] = mapped_column()
    work_order_id: Mapped[str | None] = mapped_column(
        ForeignKey("work_order.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String)  # pending | sent | failed
    error: Mapped[str | None] = mapped_column(CleanText)
    created_at: Mapped[datetime] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    # What the workflow it started reported (`orchestrator.status`), once per state, in order.
    reports: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)


class GitHubInstallation(Base):
    """An installation of the GitHub App that the install flow recorded, as GitHub described it."""

    __tablename__ = "github_installation"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # GitHub's id
    app_id: Mapped[str] = mapped_column(String, index=True)  # the app it is an installation of
    account: Mapped[str] = mapped_column(String)  # the login of the user or organization
    account_type: Mapped[str] = mapped_column(String)  # User | Organization
    repository_selection: Mapped[str] = mapped_column(String)  # all | selected
    html_url: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class Artifact(Base):
    """A file a sandbox uploaded for its work order (`shipyard report artifact`); one per name."""

    __tablename__ = "artifact"
    __table_args__ = (UniqueConstraint("work_order_id", "name"),)

    id: Mapped[int] = mapped_column(EventId, primary_key=True)  # an auto-increment on both backends
    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String)
    content_type: Mapped[str] = mapped_column(String)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column()


class ProjectSecret(Base):
    """A project's secret, encrypted (Fernet) with SHIPYARD_SECRETS_KEY; only its name is ever read back."""

    __tablename__ = "project_secret"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(EventId, primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String)
    ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class AgentSlot(Base):
    """A step's place at an agent whose steps are limited (SHIPYARD_AGENT_LIMITS): in line until
    `granted_at`, then holding one of the agent's slots. A row whose worker stops beating for it
    (`beat_at`) is given back."""

    __tablename__ = "agent_slot"

    holder: Mapped[str] = mapped_column(String, primary_key=True)  # <work order id>/<step row id>
    agent: Mapped[str] = mapped_column(String, index=True)
    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), index=True)
    enqueued_at: Mapped[datetime] = mapped_column()
    granted_at: Mapped[datetime | None] = mapped_column()
    beat_at: Mapped[datetime] = mapped_column()


class Deployment(Base):
    """A version of a project deployed (or being deployed) to one of its environments."""

    __tablename__ = "deployment"
    __table_args__ = (Index("ix_deployment_project_id_env", "project_id", "env"),)

    id: Mapped[str] = mapped_column(String, primary_key=True)  # dep-<8 hex>
    project_id: Mapped[str] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    env: Mapped[str] = mapped_column(String)
    version: Mapped[str] = mapped_column(String)
    status: Mapped[str] = mapped_column(String)
    work_order_id: Mapped[str | None] = mapped_column(String)
    rollback_of: Mapped[str | None] = mapped_column(String)
    github_deployment_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(CleanText)
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()


class RoleOverride(Base):
    """The store's changes to a built-in role profile (agents/roles.py): install-wide when
    `scope` is '', else for the project `scope` names (a project's removal leaves it unread)."""

    __tablename__ = "role_override"

    scope: Mapped[str] = mapped_column(String, primary_key=True)
    role: Mapped[str] = mapped_column(String, primary_key=True)
    fields: Mapped[dict[str, Any]] = mapped_column()  # RoleOverride's fields that are set
    updated_at: Mapped[datetime] = mapped_column()


class IdeaRun(Base):
    """An idea on its way to a release (seed 002): where it is, and the issue tree it grew."""

    __tablename__ = "idea_run"

    id: Mapped[str] = mapped_column(String, primary_key=True)  # run-<8 hex>
    idea_text: Mapped[str] = mapped_column(CleanText)
    repository_url: Mapped[str] = mapped_column(String)
    project_id: Mapped[str | None] = mapped_column(ForeignKey("project.id", ondelete="SET NULL"), index=True)
    forge: Mapped[str] = mapped_column(String)  # github | local
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String, index=True)  # a RunState
    correlation_id: Mapped[str] = mapped_column(String)
    root_issue_id: Mapped[int | None] = mapped_column(Integer)
    current_issue_id: Mapped[int | None] = mapped_column(Integer)
    paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    interrupt_reason: Mapped[str | None] = mapped_column(String)
    error: Mapped[str | None] = mapped_column(CleanText)
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime] = mapped_column()


class IssueNode(Base):
    """An issue of a run's tree (epic, feature, task or defect), in order among its siblings."""

    __tablename__ = "issue_node"
    # AUTOINCREMENT: an id names the issue's branch (task/<id>-…), so SQLite must not reuse one
    # after a run is deleted, as PostgreSQL's sequence never does.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("idea_run.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("issue_node.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String)  # an IssueType
    title: Mapped[str] = mapped_column(CleanText)
    body: Mapped[str] = mapped_column(CleanText, default="", server_default="")
    acceptance_criteria: Mapped[list[str]] = mapped_column(JSON, default=list)
    order_index: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    dependencies: Mapped[list[int]] = mapped_column(JSON, default=list)  # ids of sibling issues
    status: Mapped[str] = mapped_column(String, default="NEW", server_default="NEW")  # an IssueStatus
    branch: Mapped[str | None] = mapped_column(String)
    pr_number: Mapped[int | None] = mapped_column(Integer)
    pr_url: Mapped[str | None] = mapped_column(String)
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    work_order_id: Mapped[str | None] = mapped_column(String)  # the latest work order on it
    forge_issue_number: Mapped[int | None] = mapped_column(Integer)  # its GitHub issue, when mirrored
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class RunEvent(Base):
    """Something that happened in an idea run; `id` is where a reader of its stream resumes."""

    __tablename__ = "run_event"
    # AUTOINCREMENT: SQLite never reuses an id, so clients resuming by id miss nothing.
    __table_args__ = (Index("ix_run_event_run_id_id", "run_id", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("idea_run.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String)  # run.state, issue.updated, workflow.step.started, …
    phase: Mapped[str] = mapped_column(String)  # the run's state then
    level: Mapped[str] = mapped_column(String)  # info | warning | error
    msg: Mapped[str] = mapped_column(CleanText)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ts: Mapped[datetime] = mapped_column()


class Cluster(Base):
    """A cluster of user feedback about one problem (seed 004), and where its fix stands."""

    __tablename__ = "cluster"

    id: Mapped[str] = mapped_column(String, primary_key=True)  # cl-<8 hex>
    title: Mapped[str] = mapped_column(CleanText)
    summary: Mapped[str] = mapped_column(CleanText, default="", server_default="")
    repository_url: Mapped[str] = mapped_column(String)
    project_id: Mapped[str | None] = mapped_column(ForeignKey("project.id", ondelete="SET NULL"))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # the feedback items
    status: Mapped[str] = mapped_column(String, index=True)  # a ClusterStatus
    error: Mapped[str | None] = mapped_column(CleanText)
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime] = mapped_column()


class CodingPlanVersion(Base):
    """One version of a cluster's coding plan: generated by an agent or edited by a person."""

    __tablename__ = "coding_plan"

    cluster_id: Mapped[str] = mapped_column(ForeignKey("cluster.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1, 2, … per cluster
    plan: Mapped[dict[str, Any]] = mapped_column()  # a CodingPlan
    source: Mapped[str] = mapped_column(String)  # generated | edited
    work_order_id: Mapped[str | None] = mapped_column(String)  # the work order that generated it
    agent: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column()


class FixJob(Base):
    """A run of a cluster's plan by a runner (seed 004's AgentJob); its work is a work order."""

    __tablename__ = "fix_job"

    id: Mapped[str] = mapped_column(String, primary_key=True)  # job-<8 hex>
    cluster_id: Mapped[str] = mapped_column(ForeignKey("cluster.id", ondelete="CASCADE"), index=True)
    runner: Mapped[str] = mapped_column(String)
    status: Mapped[str] = mapped_column(String)  # a JobStatus
    plan_version: Mapped[int | None] = mapped_column(Integer)
    plan_work_order_id: Mapped[str | None] = mapped_column(String)  # when the job made its plan
    work_order_id: Mapped[str | None] = mapped_column(String)  # the fix
    pr_url: Mapped[str | None] = mapped_column(String)
    error: Mapped[str | None] = mapped_column(CleanText)
    log: Mapped[list[str]] = mapped_column(JSON, default=list)  # a remote runner's reported lines
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
