"""Seed 004's shapes at its endpoints: a cluster asked for and read, its plan, a fix started, a job."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shipyard.domain.models import RequestModel
from shipyard.domain.plans import ClusterStatus, CodingPlan, JobStatus
from shipyard.store.records import ClusterRecord, JobRecord, PlanRecord

MAX_ITEMS = 500
# An issue, pull request or discussion on GitHub names its repository.
_GITHUB_THREAD = re.compile(r"^(https://github\.com/[\w.-]+/[\w.-]+)/(?:issues|pull|discussions)/\d+")


class FeedbackItem(BaseModel):
    """One piece of user feedback: where it came from, what it says, where it can be read."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=100)  # github, slack, email, sentry, …
    text: str = Field(min_length=1, max_length=20_000)
    url: str | None = Field(default=None, max_length=2000)
    repo: str | None = Field(default=None, max_length=2000)  # the repository it is about
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    def repository(self) -> str | None:
        """The repository the item names: its `repo`, else the one its GitHub URL is in."""
        if self.repo:
            return self.repo.strip()
        found = _GITHUB_THREAD.match(self.url or "")
        return found.group(1) if found else None


class ClusterRequest(RequestModel):
    """`POST /api/clusters`."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    summary: str = Field(default="", max_length=20_000)
    items: list[FeedbackItem] = Field(min_length=1, max_length=MAX_ITEMS)
    repo: str | None = Field(default=None, min_length=1, description="Default: the one the items name.")
    project: str | None = None  # a project's id or name: its repository, agent and forge apply


class JobBrief(BaseModel):
    id: str
    status: JobStatus
    pr_url: str | None


class ClusterView(BaseModel):
    id: str
    title: str
    summary: str
    repo: str
    project_id: str | None
    status: ClusterStatus
    error: str | None
    items: list[dict[str, Any]]
    plan_version: int | None  # the latest
    latest_job: JobBrief | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, cluster: ClusterRecord, plan_version: int | None, job: JobRecord | None) -> ClusterView:
        brief = JobBrief(id=job.id, status=job.status, pr_url=job.pr_url) if job else None
        return cls(
            id=cluster.id, title=cluster.title, summary=cluster.summary, repo=cluster.repository_url,
            project_id=cluster.project_id, status=cluster.status, error=cluster.error, items=cluster.items,
            plan_version=plan_version, latest_job=brief, created_at=cluster.created_at,
            updated_at=cluster.updated_at,
        )  # fmt: skip


class ClusterList(BaseModel):
    clusters: list[ClusterView]
    total: int


class PlanMetadata(BaseModel):
    source: str  # generated | edited
    work_order_id: str | None  # the work order that generated it
    agent: str | None


class PlanView(CodingPlan):
    """A version of the plan: the plan itself, its metadata, when the plan was first made
    (`created_at`) and when this version was (`updated_at`)."""

    model_config = ConfigDict(extra="ignore")

    cluster_id: str
    version: int
    metadata: PlanMetadata
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, plan: PlanRecord, first_at: datetime) -> PlanView:
        meta = PlanMetadata(source=plan.source, work_order_id=plan.work_order_id, agent=plan.agent)
        return cls(
            **plan.plan.model_dump(), cluster_id=plan.cluster_id, version=plan.version, metadata=meta,
            created_at=first_at, updated_at=plan.created_at,
        )  # fmt: skip


class PlanVersions(BaseModel):
    versions: list[PlanView]  # newest first


class PlanEdit(CodingPlan, RequestModel):
    """`PUT /api/clusters/{id}/plan`: the whole plan, as a person edited it."""


class StartFix(RequestModel):
    """`POST /api/clusters/{id}/start_fix`."""

    model_config = ConfigDict(extra="forbid")

    runner: str | None = Field(default=None, description="Default: SHIPYARD_CODING_AGENT_RUNNER.")
    # With no plan yet: make one first (true), or answer 409 so a person can look first (false).
    generate_plan: bool = False


class JobView(BaseModel):
    id: str
    cluster_id: str
    status: JobStatus
    runner: str
    plan_version: int | None
    work_order_id: str | None  # the fix's
    plan_work_order_id: str | None  # the plan's, when the job made it
    pr_url: str | None
    error: str | None
    log_excerpt: list[str]  # the last lines of its log
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, job: JobRecord, excerpt: list[str]) -> JobView:
        return cls(**job.model_dump(exclude={"log"}), log_excerpt=excerpt)


class JobList(BaseModel):
    jobs: list[JobView]
    total: int


class JobPatch(RequestModel):
    """`PATCH /api/jobs/{id}`: `cancelled` stops it."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["cancelled"]


class JobLogs(BaseModel):
    job_id: str
    lines: list[str]


class RunnerView(BaseModel):
    name: str
    kind: str  # work_order | remote
    agent: str | None  # a work order runner's
    sandbox: str | None
    description: str
    default: bool  # the one jobs get unless they name another


class JobStarted(BaseModel):
    job_id: str
    status: JobStatus
    runner: str


class RemoteReportIn(RequestModel):
    """`POST /api/jobs/{id}/callback`: what a remote runner reports (with its job's token)."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["running", "succeeded", "failed", "cancelled"]
    log: list[Annotated[str, StringConstraints(max_length=4000)]] = Field(
        default_factory=list, max_length=500
    )
    pr_url: str | None = Field(default=None, max_length=2000)
    error: str | None = Field(default=None, max_length=4000)
