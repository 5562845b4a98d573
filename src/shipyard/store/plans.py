"""Seed 004's rows: feedback clusters, every version of their coding plans, and fix jobs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shipyard.domain.errors import Conflict, NotFound
from shipyard.domain.plans import ClusterStatus, CodingPlan, JobStatus
from shipyard.store.base import StoreBase, columns, count, stored
from shipyard.store.projects import project_row
from shipyard.store.records import ClusterCreate, ClusterRecord, JobRecord, PlanRecord, checked_fields
from shipyard.store.tables import Cluster, CodingPlanVersion, FixJob, utc_now

_CLUSTER_FIELDS = columns(Cluster, "id", "items", "created_at", "updated_at")
_JOB_FIELDS = columns(FixJob, "id", "cluster_id", "log", "created_at", "updated_at")
_ACTIVE = [s.value for s in JobStatus if not s.is_terminal]
MAX_JOB_LOG_LINES = 2000  # a remote runner's reported lines kept per job (the newest)


class PlanRows(StoreBase):
    """The Store's clusters, plans and jobs."""

    # -- clusters ------------------------------------------------------------------------------

    async def create_cluster(self, data: ClusterCreate) -> ClusterRecord:
        """A new cluster, `new`; NotFound for an unknown project."""
        now = utc_now()
        row = Cluster(**data.model_dump(), status=ClusterStatus.NEW.value, created_at=now, updated_at=now)
        async with self._writing() as session:
            if data.project_id is not None:
                await project_row(session, data.project_id)
            session.add(row)
            return ClusterRecord.model_validate(await stored(session, row))

    async def get_cluster(self, cluster_id: str) -> ClusterRecord:
        async with self._read() as session:
            return ClusterRecord.model_validate(await _cluster_row(session, cluster_id))

    async def list_clusters(
        self, status: ClusterStatus | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[ClusterRecord], int]:
        """A page of clusters (with `status`, when given), newest first, and how many there are."""
        query = select(Cluster)
        if status is not None:
            query = query.where(Cluster.status == status.value)
        page = query.order_by(Cluster.created_at.desc(), Cluster.id.desc()).limit(limit).offset(offset)
        async with self._read() as session:
            total = await count(session, query)
            return [ClusterRecord.model_validate(r) for r in await session.scalars(page)], total

    async def update_cluster(self, cluster_id: str, **fields: Any) -> ClusterRecord:
        values = checked_fields(fields, _CLUSTER_FIELDS, "cluster")
        async with self._writing() as session:
            row = await _cluster_row(session, cluster_id, lock=True)
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = utc_now()
            return ClusterRecord.model_validate(await stored(session, row))

    async def cluster_progress(self, cluster_ids: list[str]) -> tuple[dict[str, int], dict[str, JobRecord]]:
        """For each of the clusters: its plan's latest version, and its latest job (those that have
        one), in two queries whatever their number."""
        versions = (
            select(CodingPlanVersion.cluster_id, func.max(CodingPlanVersion.version))
            .where(CodingPlanVersion.cluster_id.in_(cluster_ids))
            .group_by(CodingPlanVersion.cluster_id)
        )
        jobs = select(FixJob).where(FixJob.cluster_id.in_(cluster_ids))
        async with self._read() as session:
            latest = {cluster_id: version for cluster_id, version in await session.execute(versions)}
            newest: dict[str, JobRecord] = {}
            for row in await session.scalars(jobs.order_by(FixJob.created_at.desc(), FixJob.id.desc())):
                newest.setdefault(row.cluster_id, JobRecord.model_validate(row))
        return latest, newest

    async def start_planning(self, cluster_id: str) -> ClusterRecord:
        """The cluster `planning`; Conflict while a plan is being made or a job runs for it."""
        async with self._writing() as session:
            row = await _cluster_row(session, cluster_id, lock=True)
            if row.status == ClusterStatus.PLANNING:
                raise Conflict(f"cluster {cluster_id}: a plan is being made already")
            if (job := await _active_job(session, cluster_id)) is not None:
                raise Conflict(f"cluster {cluster_id}: job {job.id} is running; its plan cannot change now")
            row.status, row.error, row.updated_at = ClusterStatus.PLANNING.value, None, utc_now()
            return ClusterRecord.model_validate(await stored(session, row))

    # -- plans ---------------------------------------------------------------------------------

    async def add_plan(
        self, cluster_id: str, plan: CodingPlan, source: str, work_order_id: str | None = None,
        agent: str | None = None,
    ) -> PlanRecord:  # fmt: skip
        """The cluster's next plan version."""
        async with self._writing() as session:
            await _cluster_row(session, cluster_id, lock=True)
            latest = await session.scalar(
                select(func.max(CodingPlanVersion.version)).where(CodingPlanVersion.cluster_id == cluster_id)
            )
            row = CodingPlanVersion(
                cluster_id=cluster_id, version=(latest or 0) + 1, plan=plan.model_dump(mode="json"),
                source=source, work_order_id=work_order_id, agent=agent, created_at=utc_now(),
            )  # fmt: skip
            session.add(row)
            return PlanRecord.model_validate(await stored(session, row))

    async def list_plans(self, cluster_id: str) -> list[PlanRecord]:
        """Every version of the cluster's plan, newest first (none: an empty list)."""
        query = select(CodingPlanVersion).where(CodingPlanVersion.cluster_id == cluster_id)
        async with self._read() as session:
            await _cluster_row(session, cluster_id)
            rows = await session.scalars(query.order_by(CodingPlanVersion.version.desc()))
            return [PlanRecord.model_validate(r) for r in rows]

    async def get_plan(self, cluster_id: str, version: int | None = None) -> PlanRecord:
        """Version `version` of the cluster's plan, else its latest; NotFound when there is none."""
        query = select(CodingPlanVersion).where(CodingPlanVersion.cluster_id == cluster_id)
        if version is not None:
            query = query.where(CodingPlanVersion.version == version)
        async with self._read() as session:
            await _cluster_row(session, cluster_id)
            row = await session.scalar(query.order_by(CodingPlanVersion.version.desc()).limit(1))
        if row is None:
            what = f"version {version} of its plan" if version is not None else "a plan yet"
            raise NotFound(f"cluster {cluster_id} has no {what}")
        return PlanRecord.model_validate(row)

    # -- jobs ----------------------------------------------------------------------------------

    async def create_job(self, job_id: str, cluster_id: str, runner: str, status: JobStatus) -> JobRecord:
        """A new job; Conflict while another job of the cluster has not ended. A job that starts by
        making its plan (`planning`) puts its cluster in `planning` with it."""
        now = utc_now()
        async with self._writing() as session:
            cluster = await _cluster_row(session, cluster_id, lock=True)
            if (running := await _active_job(session, cluster_id)) is not None:
                raise Conflict(f"cluster {cluster_id} has a fix running already: job {running.id}")
            row = FixJob(
                id=job_id, cluster_id=cluster_id, runner=runner, status=status.value, log=[],
                created_at=now, updated_at=now,
            )  # fmt: skip
            session.add(row)
            if status == JobStatus.PLANNING:
                cluster.status, cluster.error, cluster.updated_at = ClusterStatus.PLANNING.value, None, now
            return JobRecord.model_validate(await stored(session, row))

    async def get_job(self, job_id: str) -> JobRecord:
        async with self._read() as session:
            row = await session.get(FixJob, job_id)
        if row is None:
            raise NotFound(f"job '{job_id}' not found")
        return JobRecord.model_validate(row)

    async def list_jobs(
        self, cluster_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[JobRecord], int]:
        """A page of jobs (of `cluster_id`, when given), newest first, and how many there are."""
        query = select(FixJob)
        if cluster_id is not None:
            query = query.where(FixJob.cluster_id == cluster_id)
        page = query.order_by(FixJob.created_at.desc(), FixJob.id.desc()).limit(limit).offset(offset)
        async with self._read() as session:
            total = await count(session, query)
            return [JobRecord.model_validate(r) for r in await session.scalars(page)], total

    async def update_job(self, job_id: str, *, log: list[str] | None = None, **fields: Any) -> JobRecord:
        """Set `fields` on the job (its end time once its status is final); `log`: lines added."""
        values = checked_fields(fields, _JOB_FIELDS, "job")
        async with self._writing() as session:
            row = await session.get(FixJob, job_id, with_for_update=True)
            if row is None:
                raise NotFound(f"job '{job_id}' not found")
            for key, value in values.items():
                setattr(row, key, value)
            if log:
                row.log = [*row.log, *log][-MAX_JOB_LOG_LINES:]
            if JobStatus(row.status).is_terminal and row.finished_at is None:
                row.finished_at = utc_now()
            row.updated_at = utc_now()
            return JobRecord.model_validate(await stored(session, row))


async def _cluster_row(session: AsyncSession, cluster_id: str, lock: bool = False) -> Cluster:
    row = await session.get(Cluster, cluster_id, with_for_update=lock)
    if row is None:
        raise NotFound(f"cluster '{cluster_id}' not found")
    return row


async def _active_job(session: AsyncSession, cluster_id: str) -> FixJob | None:
    query = select(FixJob).where(FixJob.cluster_id == cluster_id, FixJob.status.in_(_ACTIVE))
    return await session.scalar(query.limit(1))
