"""Project secrets as the database holds them: names and ciphertexts (store/vault.py encrypts)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select

from shipyard.domain.errors import NotFound
from shipyard.store.base import StoreBase
from shipyard.store.projects import project_row
from shipyard.store.tables import ProjectSecret, utc_now


class SecretRows(StoreBase):
    """The Store's project secrets."""

    async def set_secret(self, project_id: str, name: str, ciphertext: str) -> None:
        """Store (or replace) the project's secret `name`."""
        now = utc_now()
        async with self._writing() as session:
            await project_row(session, project_id)
            query = select(ProjectSecret).where(
                ProjectSecret.project_id == project_id, ProjectSecret.name == name
            )
            row = await session.scalar(query)
            if row is None:
                session.add(ProjectSecret(project_id=project_id, name=name, ciphertext=ciphertext,
                                          created_at=now, updated_at=now))  # fmt: skip
            else:
                row.ciphertext, row.updated_at = ciphertext, now

    async def delete_secret(self, project_id: str, name: str) -> None:
        """Forget the project's secret `name`; NotFound if it has none of that name."""
        async with self._writing() as session:
            done = await session.execute(
                delete(ProjectSecret).where(
                    ProjectSecret.project_id == project_id, ProjectSecret.name == name
                )
            )
            if not done.rowcount:  # type: ignore[attr-defined]
                raise NotFound(f"project {project_id} has no secret '{name}'")

    async def secret_names(self, project_id: str) -> list[str]:
        """The names of the project's secrets, sorted (never their values)."""
        query = select(ProjectSecret.name).where(ProjectSecret.project_id == project_id)
        async with self._read() as session:
            return sorted(await session.scalars(query))

    async def secret_ciphertexts(self, project_id: str, names: Iterable[str]) -> dict[str, str]:
        """The ciphertexts of those of `names` the project has."""
        wanted = list(names)
        query = select(ProjectSecret).where(
            ProjectSecret.project_id == project_id, ProjectSecret.name.in_(wanted)
        )
        async with self._read() as session:
            return {row.name: row.ciphertext for row in await session.scalars(query)}
