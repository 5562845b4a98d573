"""Project routes: repositories Shipyard works on, with their defaults and sources."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from shipyard.api.deps import ServiceDep
from shipyard.api.schemas import ProjectList, ProjectResponse
from shipyard.domain.projects import ProjectCreate, ProjectUpdate
from shipyard.engine import projects
from shipyard.store.records import ProjectRecord

router = APIRouter(prefix="/api/projects", tags=["projects"])


async def get_project(id_or_name: str, service: ServiceDep) -> ProjectRecord:
    return await service.store.get_project(id_or_name)


ProjectDep = Annotated[ProjectRecord, Depends(get_project)]


@router.post("", status_code=201)
async def create_project(data: ProjectCreate, service: ServiceDep) -> ProjectResponse:
    """A new project; its GitHub repository and forge are derived from its URL unless given."""
    return ProjectResponse(project=await projects.create_project(service.store, data))


@router.get("")
async def list_projects(service: ServiceDep) -> ProjectList:
    return ProjectList(projects=await service.store.list_projects())


@router.get("/{id_or_name}")
async def show_project(project: ProjectDep) -> ProjectResponse:
    return ProjectResponse(project=project)


@router.patch("/{id_or_name}")
async def update_project(change: ProjectUpdate, project: ProjectDep, service: ServiceDep) -> ProjectResponse:
    """Change the fields given; a new repository_url re-derives github_repository and forge."""
    return ProjectResponse(project=await projects.update_project(service.store, project, change))


@router.delete("/{id_or_name}", status_code=204)
async def delete_project(project: ProjectDep, service: ServiceDep) -> Response:
    """Delete the project; its work orders stay."""
    await service.store.delete_project(project.id)
    return Response(status_code=204)
