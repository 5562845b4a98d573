"""Projects: repositories with defaults and sources (trigger rules)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shipyard.domain.errors import Conflict, NotFound
from shipyard.domain.projects import ProjectCreate, default_forge, new_project_id
from shipyard.store.base import StoreBase, columns, stored
from shipyard.store.records import ProjectRecord, checked_fields, project_changes, project_columns
from shipyard.store.tables import Project, utc_now

_PROJECT_FIELDS = columns(Project, "id", "created_at", "updated_at")


class ProjectRows(StoreBase):
    """The Store's projects: created, read, changed, deleted, found by repository."""

    async def create_project(self, data: ProjectCreate) -> ProjectRecord:
        """Insert a project (forge: `default_forge` unless given); Conflict if the name is taken."""
        now = utc_now()
        forge = data.forge or default_forge(data.repository_url, data.github_repository)
        values = project_columns(data)
        row = Project(id=new_project_id(), forge=forge, created_at=now, updated_at=now, **values)
        async with self._writing() as session:
            session.add(row)
            await _flush_project(session, data.name)
            return ProjectRecord.model_validate(row)

    async def get_project(self, id_or_name: str) -> ProjectRecord:
        """The project with this id or name; NotFound if there is none."""
        query = select(Project).where(or_(Project.id == id_or_name, Project.name == id_or_name))
        async with self._read() as session:
            row = await session.scalar(query)
            if row is None:
                raise NotFound(f"project '{id_or_name}' not found")
            return ProjectRecord.model_validate(row)

    async def list_projects(self) -> list[ProjectRecord]:
        """Every project, by name."""
        async with self._read() as session:
            rows = await session.scalars(select(Project).order_by(Project.name))
            return [ProjectRecord.model_validate(r) for r in rows]

    async def update_project(self, id: str, **fields: Any) -> ProjectRecord:
        """Set `fields` (validated as a ProjectUpdate) on the project; Conflict if a new name is taken."""
        values = project_changes(checked_fields(fields, _PROJECT_FIELDS, "project"))
        async with self._writing() as session:
            row = await project_row(session, id, lock=True)
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = utc_now()
            await _flush_project(session, row.name)
            return ProjectRecord.model_validate(await stored(session, row))

    async def delete_project(self, id: str) -> None:
        """Delete the project; its work orders stay, with project_id cleared. NotFound if absent."""
        async with self._writing() as session:
            await session.delete(await project_row(session, id, lock=True))

    async def projects_for_repository(self, full_name: str) -> list[ProjectRecord]:
        """The projects whose GitHub repository is `full_name` (owner/name, any case), by name."""
        query = select(Project).where(Project.github_repository == full_name.lower()).order_by(Project.name)
        async with self._read() as session:
            return [ProjectRecord.model_validate(r) for r in await session.scalars(query)]


async def project_row(session: AsyncSession, id: str, *, lock: bool = False) -> Project:
    row = await session.get(Project, id, with_for_update=lock)
    if row is None:
        raise NotFound(f"project '{id}' not found")
    return row


async def _flush_project(session: AsyncSession, name: str) -> None:
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(f"a project named '{name}' already exists") from None
