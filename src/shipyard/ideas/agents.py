"""Seed 002's agent catalog (§3.3 `Agent`, §7.1 Agents): the role profiles of agents/roles.py
with the store's overrides, install-wide or for a project (`?project=`). The adapters that run
agents keep their own listing (`shipyard agents ls`, the dashboard's Agents page)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from shipyard.agents.roles import (
    RoleOverride,
    RoleProfile,
    applied,
    builtin_doc,
    builtin_profile,
    builtin_profiles,
    stored_doc,
)
from shipyard.api.deps import ServiceDep
from shipyard.store.store import Store

AgentId = Annotated[
    str, PathParam(pattern=r"^[a-z][a-z0-9-]{0,60}$", description="The role, e.g. code-reviewer")
]
ProjectQuery = Annotated[
    str | None,
    Query(max_length=200, description="A project's id or name: its overrides apply on top of the install's."),
]


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class AgentView(RoleProfile):
    """A role as seed 002's `Agent`: `id` and `type` are the role's name."""

    id: str
    project_id: str | None = Field(description="The project whose overrides apply; null: the install's.")
    overridden: bool = Field(description="Whether the store changed anything of the built-in profile.")


class AgentList(_Camel):
    agents: list[AgentView]


class Onboarding(_Camel):
    """`GET /api/agents/:id/onboarding`: the document the role reads first and its context packs."""

    agent_id: str
    onboarding_doc_ref: str | None
    context_packs: list[str]
    content: str | None = Field(
        description="The document's text (a repository's own file of that name wins at run time)."
    )
    source: str = Field(description="Where the text comes from: store, builtin, or none.")


class Catalog:
    """The role profiles as the store has them."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def all(self, project: str | None) -> list[AgentView]:
        project_id = await self._project_id(project)
        overrides = await self.store.role_overrides(project_id)
        return [self._view(p, overrides.get(p.type, []), project_id) for p in builtin_profiles().values()]

    async def get(self, role: str, project: str | None) -> AgentView:
        return (await self._role(role, project))[0]

    async def onboarding(self, role: str, project: str | None) -> Onboarding:
        view, overrides = await self._role(role, project)
        stored = stored_doc(overrides)
        builtin = builtin_doc(view.onboarding_doc_ref) if view.onboarding_doc_ref else None
        content, source = (
            (stored, "store") if stored is not None else (builtin, "builtin" if builtin else "none")
        )
        return Onboarding(
            agent_id=role, onboarding_doc_ref=view.onboarding_doc_ref, context_packs=view.context_packs,
            content=content, source=source,
        )  # fmt: skip

    async def put_onboarding(self, role: str, project: str | None, change: RoleOverride) -> Onboarding:
        builtin_profile(role)  # NotFound naming the roles
        fields = change.model_dump(exclude_unset=True)
        await self.store.put_role_override(role, await self._project_id(project), fields)
        return await self.onboarding(role, project)

    async def _role(self, role: str, project: str | None) -> tuple[AgentView, list[dict[str, Any]]]:
        """The role as the store has it for `project`, and the overrides that made it so."""
        profile = builtin_profile(role)
        project_id = await self._project_id(project)
        overrides = (await self.store.role_overrides(project_id)).get(role, [])
        return self._view(profile, overrides, project_id), overrides

    async def _project_id(self, project: str | None) -> str | None:
        return None if project is None else (await self.store.get_project(project)).id

    @staticmethod
    def _view(profile: RoleProfile, overrides: list[dict[str, Any]], project_id: str | None) -> AgentView:
        changed = applied(profile, *overrides)
        return AgentView(
            **changed.model_dump(), id=profile.type, project_id=project_id, overridden=bool(overrides)
        )


async def get_catalog(service: ServiceDep) -> Catalog:
    return Catalog(service.store)


CatalogDep = Annotated[Catalog, Depends(get_catalog)]
router = APIRouter(prefix="/api/agents", tags=["ideas"])


@router.get("")
async def list_agents(catalog: CatalogDep, project: ProjectQuery = None) -> AgentList:
    """The twelve roles of seed 002, with the install's (and the project's) overrides."""
    return AgentList(agents=await catalog.all(project))


@router.get("/{agent_id}")
async def get_agent(agent_id: AgentId, catalog: CatalogDep, project: ProjectQuery = None) -> AgentView:
    """One role: its goals, tools, constraints, guardrails, onboarding document and context packs."""
    return await catalog.get(agent_id, project)


@router.get("/{agent_id}/onboarding")
async def get_onboarding(agent_id: AgentId, catalog: CatalogDep, project: ProjectQuery = None) -> Onboarding:
    """The role's onboarding document (its text) and context packs."""
    return await catalog.onboarding(agent_id, project)


@router.put("/{agent_id}/onboarding")
async def put_onboarding(
    agent_id: AgentId, change: RoleOverride, catalog: CatalogDep, project: ProjectQuery = None
) -> Onboarding:
    """Change the role's `onboardingDocRef`, `contextPacks`, the document's text (`onboardingDoc`),
    `enabled` or `agent`, install-wide or for `?project=`; fields left out stay as they were."""
    return await catalog.put_onboarding(agent_id, project, change)
