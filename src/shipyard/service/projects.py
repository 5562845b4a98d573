"""Creating and changing projects: names checked, repositories resolved, GitHub fields derived.
The API and the dashboard both go through here."""

from __future__ import annotations

from pydantic import ValidationError

from shipyard.agents.registry import AGENT_NAMES
from shipyard.domain.errors import InvalidInput
from shipyard.domain.projects import ProjectCreate, ProjectUpdate, is_local_path, with_defaults
from shipyard.domain.schedules import check_schedules
from shipyard.forge.registry import repository_name
from shipyard.sandboxes.registry import SANDBOX_NAMES
from shipyard.service.requests import checked_repository
from shipyard.service.schedules import ScheduleService, ScheduleView
from shipyard.service.work_orders import WorkOrderService
from shipyard.store.records import ProjectRecord
from shipyard.store.store import Store
from shipyard.store.vault import store_secret

# Fields that follow repository_url when a change gives a new one without them.
_DERIVED = ("github_repository", "forge")


async def create_project(store: Store, data: ProjectCreate) -> ProjectRecord:
    """A new project; its GitHub repository and forge are derived from its URL unless given."""
    return await store.create_project(await _checked(data))


async def update_project(store: Store, project: ProjectRecord, change: ProjectUpdate) -> ProjectRecord:
    """Change the fields given; a new repository_url re-derives github_repository and forge."""
    fields = {key: getattr(change, key) for key in change.model_fields_set}
    if "repository_url" in fields:
        fields.update({key: None for key in _DERIVED if key not in fields})
    current = project.model_dump(include=set(ProjectCreate.model_fields))
    try:
        merged = ProjectCreate.model_validate({**current, **fields})
    except ValidationError as exc:
        raise InvalidInput(f"invalid project: {exc.errors()[0]['msg']}") from None
    new = await _checked(merged)
    changes = {key: getattr(new, key) for key in fields}
    return await store.update_project(project.id, **changes)


async def _checked(data: ProjectCreate) -> ProjectCreate:
    """`data` with known agents and sandboxes, a local repository resolved to its directory, and
    github_repository and forge filled in; InvalidInput naming what is wrong."""
    _check_names(data)
    check_schedules(data.sources)
    url = await checked_repository(data.repository_url)
    named = None if is_local_path(url) else repository_name(url)
    data = data.model_copy(update={"repository_url": url})
    return with_defaults(data, named)


def _check_names(data: ProjectCreate) -> None:
    choices = [("", data.agent, data.sandbox_type)]
    choices += [(f"sources[{n}].", s.agent, s.sandbox_type) for n, s in enumerate(data.sources)]
    for where, agent, sandbox in choices:
        if agent is not None and agent not in AGENT_NAMES:
            raise InvalidInput(f"{where}agent: unknown agent '{agent}'; known: {', '.join(AGENT_NAMES)}")
        if sandbox is not None and sandbox not in SANDBOX_NAMES:
            known = ", ".join(SANDBOX_NAMES)
            raise InvalidInput(f"{where}sandbox_type: unknown sandbox '{sandbox}'; known: {known}")


class ProjectService:
    """What front doors do with projects: read, create, change and delete them, and keep their
    secrets (encrypted with SHIPYARD_SECRETS_KEY; only names are ever given back). Saving a
    project makes, changes or deletes its sources' schedules on Temporal."""

    def __init__(self, service: WorkOrderService) -> None:
        self._store = service.store
        self._secrets_key = service.settings.secrets_key
        self._schedules = ScheduleService(service)

    async def get(self, id_or_name: str) -> ProjectRecord:
        """The project with this id or name; NotFound naming it when there is none."""
        return await self._store.get_project(id_or_name)

    async def list_all(self) -> list[ProjectRecord]:
        """Every project, by name."""
        return await self._store.list_projects()

    async def create(self, data: ProjectCreate) -> ProjectRecord:
        """A new project; its GitHub repository and forge are derived from its URL unless given."""
        project = await create_project(self._store, data)
        await self._schedules.sync(project)
        return project

    async def update(self, project: ProjectRecord, change: ProjectUpdate) -> ProjectRecord:
        """Change the fields given; a new repository_url re-derives github_repository and forge."""
        updated = await update_project(self._store, project, change)
        await self._schedules.sync(updated, before=project)
        return updated

    async def delete(self, project: ProjectRecord) -> None:
        """Delete the project and its schedules; its work orders stay."""
        await self._schedules.remove(project)
        await self._store.delete_project(project.id)

    async def schedules(self, project: ProjectRecord) -> list[ScheduleView]:
        """The schedules of the project's `on: schedule` sources, as Temporal runs them."""
        return await self._schedules.of_project(project)

    async def secret_names(self, project: ProjectRecord) -> list[str]:
        """The names of the project's secrets."""
        return await self._store.secret_names(project.id)

    async def set_secret(self, project: ProjectRecord, name: str, value: str) -> None:
        """Keep `value` encrypted as the project's secret `name`, replacing one of that name."""
        await store_secret(self._secrets_key, self._store, project.id, name, value)

    async def delete_secret(self, project: ProjectRecord, name: str) -> None:
        """Forget the project's secret `name`."""
        await self._store.delete_secret(project.id, name)
