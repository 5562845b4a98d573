"""Project routes: repositories Shipyard works on, with their defaults, sources and secrets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, Field

from shipyard.api.deps import ProjectsDep
from shipyard.api.schemas import ProjectList, ProjectResponse
from shipyard.domain.models import RequestModel
from shipyard.domain.projects import ProjectCreate, ProjectUpdate
from shipyard.store.records import ProjectRecord

router = APIRouter(prefix="/api/projects", tags=["projects"])


async def get_project(id_or_name: str, projects: ProjectsDep) -> ProjectRecord:
    return await projects.get(id_or_name)


ProjectDep = Annotated[ProjectRecord, Depends(get_project)]
SecretPath = Annotated[str, Path(pattern=r"^[A-Z_][A-Z0-9_]*$", description="An environment variable name.")]


@router.post("", status_code=201)
async def create_project(data: ProjectCreate, projects: ProjectsDep) -> ProjectResponse:
    """A new project; its GitHub repository and forge are derived from its URL unless given."""
    return ProjectResponse(project=await projects.create(data))


@router.get("")
async def list_projects(projects: ProjectsDep) -> ProjectList:
    return ProjectList(projects=await projects.list_all())


@router.get("/{id_or_name}")
async def show_project(project: ProjectDep) -> ProjectResponse:
    return ProjectResponse(project=project)


@router.patch("/{id_or_name}")
async def update_project(
    change: ProjectUpdate, project: ProjectDep, projects: ProjectsDep
) -> ProjectResponse:
    """Change the fields given; a new repository_url re-derives github_repository and forge."""
    return ProjectResponse(project=await projects.update(project, change))


@router.delete("/{id_or_name}", status_code=204)
async def delete_project(project: ProjectDep, projects: ProjectsDep) -> Response:
    """Delete the project; its work orders stay."""
    await projects.delete(project)
    return Response(status_code=204)


class SecretValue(RequestModel):
    value: str = Field(min_length=1)


class SecretNames(BaseModel):
    project_id: str
    secrets: list[str]  # names only: a value is never given back


@router.get("/{id_or_name}/secrets")
async def list_secrets(project: ProjectDep, projects: ProjectsDep) -> SecretNames:
    """The names of the project's secrets."""
    return SecretNames(project_id=project.id, secrets=await projects.secret_names(project))


@router.put("/{id_or_name}/secrets/{name}", status_code=204)
async def set_secret(
    name: SecretPath, body: SecretValue, project: ProjectDep, projects: ProjectsDep
) -> Response:
    """Keep `value` encrypted as the secret `name`; steps whose workflow names it get it as `$name`."""
    await projects.set_secret(project, name, body.value)
    return Response(status_code=204)


@router.delete("/{id_or_name}/secrets/{name}", status_code=204)
async def delete_secret(name: SecretPath, project: ProjectDep, projects: ProjectsDep) -> Response:
    await projects.delete_secret(project, name)
    return Response(status_code=204)
