"""The store's overrides of the role profiles (agents/roles.py), install-wide or per project."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shipyard.store.base import StoreBase
from shipyard.store.tables import RoleOverride, utc_now

INSTALL = ""  # the scope of an install-wide override


class RoleRows(StoreBase):
    """The Store's role overrides."""

    async def role_overrides(self, project_id: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """Each overridden role's overrides in the order they apply: install-wide, then the project's."""
        scopes = [INSTALL, *([project_id] if project_id else [])]
        query = select(RoleOverride).where(RoleOverride.scope.in_(scopes))
        async with self._read() as session:
            rows = list(await session.scalars(query))
        found: dict[str, list[dict[str, Any]]] = {}
        for row in sorted(rows, key=lambda r: scopes.index(r.scope)):
            found.setdefault(row.role, []).append(dict(row.fields))
        return found

    async def put_role_override(
        self, role: str, project_id: str | None, fields: dict[str, Any]
    ) -> dict[str, Any]:
        """Set `fields` on the override of `role` in its scope (others it had stay); all it sets now."""
        scope = project_id or INSTALL
        async with self._writing() as session:
            row = await session.get(RoleOverride, (scope, role), with_for_update=True)
            if row is None:
                row = RoleOverride(scope=scope, role=role, fields={}, updated_at=utc_now())
                session.add(row)
            row.fields = {**row.fields, **fields}
            row.updated_at = utc_now()
            return dict(row.fields)
