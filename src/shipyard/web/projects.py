"""Dashboard pages for projects: list, create, change (sources included, as YAML) and delete. The
new-project form offers the repositories the GitHub App reaches, and a link to install it."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import yaml
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from shipyard.agents.registry import AGENT_NAMES
from shipyard.api.deps import GitHubAppDep
from shipyard.api.errors import status_of
from shipyard.domain.errors import InvalidInput, ShipyardError
from shipyard.domain.projects import ProjectCreate, ProjectUpdate, parse_sources
from shipyard.sandboxes.registry import SANDBOX_NAMES
from shipyard.service.github_app import GitHubAppService, ReachableRepositories
from shipyard.store.records import ProjectRecord
from shipyard.web.render import Projects, page

router = APIRouter(prefix="/projects", tags=["dashboard"], include_in_schema=False)
_Model = TypeVar("_Model", bound=BaseModel)
SOURCES_EXAMPLE = """- on: issues
  actions: [labeled]
  labels: [shipyard]
  workflow: agent_workflow_plan_build_test
  inputs: {prompt: "{{ event.title }}"}
"""


class ProjectForm:
    """The fields of the project form, as typed."""

    def __init__(
        self,
        name: Annotated[str, Form()] = "",
        repository_url: Annotated[str, Form()] = "",
        github_repository: Annotated[str, Form()] = "",
        agent: Annotated[str, Form()] = "",
        sandbox_type: Annotated[str, Form()] = "",
        sources: Annotated[str, Form()] = "",
    ) -> None:
        self.values = {
            "name": name.strip(), "repository_url": repository_url.strip(),
            "github_repository": github_repository.strip(), "agent": agent, "sandbox_type": sandbox_type,
            "sources": sources,
        }  # fmt: skip

    def fields(self) -> dict[str, Any]:
        """The values as a project's fields (blank optional ones as None); InvalidInput if bad."""
        optional = ("github_repository", "agent", "sandbox_type")
        fields: dict[str, Any] = {k: self.values[k] or None for k in optional}
        fields |= {"name": self.values["name"], "repository_url": self.values["repository_url"]}
        fields["sources"] = parse_sources(self.values["sources"])
        return fields


def _values(project: ProjectRecord) -> dict[str, str]:
    sources = [s.model_dump(mode="json", exclude_defaults=True) for s in project.sources]
    text = yaml.safe_dump(sources, sort_keys=False, allow_unicode=True) if sources else ""
    return {
        "name": project.name, "repository_url": project.repository_url,
        "github_repository": project.github_repository or "", "agent": project.agent or "",
        "sandbox_type": project.sandbox_type or "", "sources": text,
    }  # fmt: skip


def _form(
    request: Request,
    values: dict[str, str],
    project: ProjectRecord | None,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    return page(
        request, "project.html", status_code, values=values, project=project, agents=AGENT_NAMES,
        sandboxes=SANDBOX_NAMES, example=SOURCES_EXAMPLE, **extra,
    )  # fmt: skip


def _validated(model: type[_Model], fields: dict[str, Any]) -> _Model:
    """`fields` as a `model`; InvalidInput naming the first field that is wrong."""
    try:
        return model.model_validate(fields)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"{where}: {first['msg'].removeprefix('Value error, ')}") from None


@router.get("")
async def project_list(request: Request, projects: Projects) -> HTMLResponse:
    return page(request, "projects.html", projects=await projects.list_all())


async def _offer(github_app: GitHubAppService) -> ReachableRepositories | None:
    """The repositories the GitHub App's installations reach; None without an app."""
    return await github_app.reachable() if github_app.configured else None


@router.get("/new")
async def new_project(
    request: Request, github_app: GitHubAppDep, installed: str = "", install_requested: str = ""
) -> HTMLResponse:
    """The form; `installed` (an installation's id) and `install_requested` are where the GitHub
    App's installation flow comes back to."""
    offer = await _offer(github_app)
    views = offer.installations if offer else []
    done = next((view for view in views if str(view.installation_id) == installed), None)
    return _form(
        request, {}, None, error=None, offer=offer, installed=done, requested=bool(install_requested)
    )


@router.post("")
async def create_project(
    request: Request, projects: Projects, github_app: GitHubAppDep, form: Annotated[ProjectForm, Depends()]
) -> Response:
    try:
        data = _validated(ProjectCreate, form.fields())
        project = await projects.create(data)
    except ShipyardError as err:
        offer = await _offer(github_app)
        return _form(request, form.values, None, error=err.message, status_code=status_of(err), offer=offer)
    return RedirectResponse(f"/projects/{project.name}", status_code=303)


@router.get("/{project_name}")
async def show_project(request: Request, project_name: str, projects: Projects) -> HTMLResponse:
    project = await projects.get(project_name)
    saved = request.query_params.get("saved")
    schedules = await projects.schedules(project)
    return _form(request, _values(project), project, error=None, saved=saved, schedules=schedules)


@router.post("/{project_name}")
async def update_project(
    request: Request, project_name: str, projects: Projects, form: Annotated[ProjectForm, Depends()]
) -> Response:
    project = await projects.get(project_name)
    try:
        change = _validated(ProjectUpdate, form.fields())
        project = await projects.update(project, change)
    except ShipyardError as err:
        return _form(request, form.values, project, error=err.message, status_code=status_of(err))
    return RedirectResponse(f"/projects/{project.name}?saved=1", status_code=303)


@router.post("/{project_name}/delete")
async def delete_project(project_name: str, projects: Projects) -> Response:
    project = await projects.get(project_name)
    await projects.delete(project)
    return RedirectResponse("/projects", status_code=303)
