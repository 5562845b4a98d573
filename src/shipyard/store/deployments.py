"""Deployments: each version of a project deployed to one of its environments, and what is live."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shipyard.domain.errors import NotFound
from shipyard.store.base import StoreBase, columns, stored
from shipyard.store.projects import project_row
from shipyard.store.records import DeploymentRecord, checked_fields
from shipyard.store.tables import Deployment, utc_now

_FIELDS = columns(Deployment, "id", "project_id", "env", "version", "rollback_of", "created_at", "updated_at")
ENDED = ("success", "failure")


class DeploymentRows(StoreBase):
    """The Store's deployments."""

    async def create_deployment(
        self, project_id: str, env: str, version: str, rollback_of: str | None = None, id: str | None = None
    ) -> DeploymentRecord:
        """A new deployment, `pending` (with `id`: the one of that id when there is one already);
        NotFound for an unknown project."""
        now = utc_now()
        row = Deployment(
            id=id or "dep-" + secrets.token_hex(4), project_id=project_id, env=env, version=version,
            status="pending", rollback_of=rollback_of, created_at=now, updated_at=now,
        )  # fmt: skip
        try:
            async with self._writing() as session:
                await project_row(session, project_id)
                session.add(row)
                return DeploymentRecord.model_validate(await stored(session, row))
        except IntegrityError:
            if id is None:
                raise
            return await self.get_deployment(id)

    async def get_deployment(self, id: str, project_id: str | None = None) -> DeploymentRecord:
        """Deployment `id` (of `project_id`, when given); NotFound otherwise."""
        async with self._read() as session:
            row = await session.get(Deployment, id)
        if row is None or (project_id is not None and row.project_id != project_id):
            raise NotFound(f"deployment '{id}' not found")
        return DeploymentRecord.model_validate(row)

    async def list_deployments(
        self, project_id: str, env: str | None = None, limit: int | None = None
    ) -> list[DeploymentRecord]:
        """The project's deployments (to `env`, when given), newest first (the `limit` newest)."""
        query = select(Deployment).where(Deployment.project_id == project_id)
        if env is not None:
            query = query.where(Deployment.env == env)
        query = query.order_by(Deployment.created_at.desc(), Deployment.id.desc()).limit(limit)
        async with self._read() as session:
            return [DeploymentRecord.model_validate(r) for r in await session.scalars(query)]

    async def update_deployment(self, id: str, **fields: Any) -> DeploymentRecord:
        values = checked_fields(fields, _FIELDS, "deployment")
        async with self._writing() as session:
            row = await session.get(Deployment, id, with_for_update=True)
            if row is None:
                raise NotFound(f"deployment '{id}' not found")
            for key, value in values.items():
                setattr(row, key, value)
            if values.get("status") in ENDED and row.finished_at is None:
                row.finished_at = utc_now()
            row.updated_at = utc_now()
            return DeploymentRecord.model_validate(await stored(session, row))
