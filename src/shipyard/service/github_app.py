"""The GitHub App's installation flow (seed 002 §7.4) and the repositories its installations reach.

Starting an installation signs a `state` (an hour long) that the browser keeps in a cookie and
GitHub hands back to the callback; the callback takes an installation only with that state, from
that browser, and only after GitHub, asked with the app's JWT, says the installation is the app's.
githubkit is loaded on the first call (`forge.github_app`), not with the API.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from shipyard.domain.errors import Forbidden, InvalidInput, ShipyardError
from shipyard.domain.models import RequestModel
from shipyard.domain.tokens import check_install_state, mint_install_state
from shipyard.forge.github_repo import require_app
from shipyard.forge.models import AppInstallation, ReachableRepository
from shipyard.service.work_orders import WorkOrderService
from shipyard.store.records import InstallationRecord

STATE_TTL_S = 3600  # how long a person may take on GitHub's installation page
MAX_INSTALLATION_ID = 2**63 - 1
SetupAction = Literal["install", "update", "request"]


class InstallCallback(RequestModel):
    """What GitHub sends to the app's setup URL after an installation (seed 002's callback)."""

    installation_id: int | None = Field(default=None, ge=1, le=MAX_INSTALLATION_ID)
    setup_action: SetupAction = "install"
    state: str = Field(default="", max_length=2000)


class InstallationView(AppInstallation):
    """A recorded installation and, in a list of repositories, why its own could not be read."""

    error: str | None = None


class ReachableRepositories(BaseModel):
    """`GET /api/repos`: the repositories the recorded installations reach, and the installations."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    repositories: list[ReachableRepository]
    installations: list[InstallationView]


class GitHubAppService:
    """What front doors do with the GitHub App: start an installation, take its callback, list
    the repositories it reaches."""

    def __init__(self, service: WorkOrderService) -> None:
        self._settings = service.settings
        self._store = service.store

    @property
    def configured(self) -> bool:
        return self._settings.github_app_configured

    async def start_install(self) -> tuple[str, str]:
        """(the app's installation page on GitHub, the state it carries)."""
        from shipyard.forge.github_app import install_url

        require_app(self._settings)
        expires_at = datetime.now(UTC) + timedelta(seconds=STATE_TTL_S)
        state = mint_install_state(self._settings.signing_key(), secrets.token_urlsafe(16), expires_at)
        return await install_url(self._settings, state), state

    async def finish_install(
        self, callback: InstallCallback, kept_state: str | None
    ) -> InstallationView | None:
        """Record the installation the callback names, once its state is the one this browser kept
        (`kept_state`) and GitHub says the installation is the app's; None for a `request` (an owner
        of the account has yet to approve it: there is no installation)."""
        from shipyard.forge.github_app import installation

        require_app(self._settings)
        check_install_state(self._settings.signing_key(), callback.state)
        if kept_state is None or not secrets.compare_digest(kept_state.encode(), callback.state.encode()):
            raise Forbidden(
                "the state is not the one this browser was given: start the installation from this "
                "browser at /auth/github-app/install"
            )
        if callback.setup_action == "request":
            return None
        if callback.installation_id is None:
            raise InvalidInput("installation_id: GitHub's callback names the installation; this one has none")
        found = await installation(self._settings, callback.installation_id)
        return _view(await self._record(found))

    async def _record(self, found: AppInstallation) -> InstallationRecord:
        return await self._store.record_installation(
            found.installation_id, self._settings.github_app_id or "", found.account, found.account_type,
            found.repository_selection, found.html_url,
        )  # fmt: skip

    async def reachable(self) -> ReachableRepositories:
        """The repositories each recorded installation reaches (read at once, concurrently); an
        installation whose list cannot be read carries the reason instead."""
        require_app(self._settings)
        installations = await self._store.list_installations(self._settings.github_app_id or "")
        found = await asyncio.gather(*(self._repositories(record) for record in installations))
        repositories = sorted(
            (repo for repos, _ in found for repo in repos), key=lambda r: r.full_name.lower()
        )
        views = [view for _, view in found]
        return ReachableRepositories(repositories=repositories, installations=views)

    async def _repositories(
        self, record: InstallationRecord
    ) -> tuple[list[ReachableRepository], InstallationView]:
        from shipyard.forge.github_app import installation_repositories

        try:
            repositories = await installation_repositories(self._settings, record.id)
        except ShipyardError as err:
            return [], _view(record).model_copy(update={"error": err.message})
        return repositories, _view(record)


def _view(record: InstallationRecord) -> InstallationView:
    return InstallationView(
        installation_id=record.id, account=record.account, account_type=record.account_type,
        repository_selection=record.repository_selection, html_url=record.html_url,
    )  # fmt: skip
