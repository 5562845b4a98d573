"""Artifacts: files sandboxes upload for their work orders, kept in the database (so every
server of a fleet can hand them out), one per name."""

from __future__ import annotations

import hashlib

from sqlalchemy import delete, select

from shipyard.domain.errors import NotFound
from shipyard.store.base import StoreBase, stored
from shipyard.store.records import ArtifactRecord
from shipyard.store.tables import Artifact, utc_now


class ArtifactRows(StoreBase):
    """The Store's artifacts."""

    async def save_artifact(
        self, work_order_id: str, name: str, content_type: str, content: bytes
    ) -> ArtifactRecord:
        """Store `content` as the work order's artifact `name`, replacing one of that name."""
        row = Artifact(
            work_order_id=work_order_id, name=name, content_type=content_type, size=len(content),
            sha256=hashlib.sha256(content).hexdigest(), content=content, created_at=utc_now(),
        )  # fmt: skip
        async with self._writing() as session:
            await session.execute(
                delete(Artifact).where(Artifact.work_order_id == work_order_id, Artifact.name == name)
            )
            session.add(row)
            return ArtifactRecord.model_validate(await stored(session, row))

    async def list_artifacts(self, work_order_id: str) -> list[ArtifactRecord]:
        """The work order's artifacts (without their content), by name."""
        query = select(Artifact).where(Artifact.work_order_id == work_order_id).order_by(Artifact.name)
        async with self._read() as session:
            return [ArtifactRecord.model_validate(r) for r in await session.scalars(query)]

    async def read_artifact(self, work_order_id: str, name: str) -> tuple[ArtifactRecord, bytes]:
        """One artifact and its content; NotFound if there is none of that name."""
        query = select(Artifact).where(Artifact.work_order_id == work_order_id, Artifact.name == name)
        async with self._read() as session:
            row = await session.scalar(query)
            if row is None:
                raise NotFound(f"work order {work_order_id} has no artifact '{name}'")
            return ArtifactRecord.model_validate(row), row.content
