"""The GitHub App's installations: where people install the app, what an installation is (asked of
GitHub with the app's JWT, never taken from a URL), and the repositories each one reaches (asked
with its installation token, every page). Answers are read by `github_answers`' tolerant readers.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from shipyard.config import Settings
from shipyard.domain.errors import ForgeError
from shipyard.forge.github_answers import app_installation, reachable_repository
from shipyard.forge.github_auth import app_tokens
from shipyard.forge.github_base import GitHubApi
from shipyard.forge.github_repo import require_app
from shipyard.forge.models import AppInstallation, ReachableRepository

__all__ = ["install_url", "installation", "installation_repositories"]

_PER_PAGE = 100  # the most GitHub gives in one page


async def install_url(settings: Settings, state: str) -> str:
    """The app's installation page on GitHub, carrying `state` back to the callback. The slug is
    SHIPYARD_GITHUB_APP_SLUG, else GitHub's answer to `GET /app`."""
    require_app(settings)
    slug = settings.github_app_slug or await _slug(settings)
    query = urlencode({"state": state})
    return f"{settings.github_web_base}/apps/{quote(slug, safe='')}/installations/new?{query}"


async def _slug(settings: Settings) -> str:
    slug = (await app_tokens(settings).app()).get("slug")
    if not isinstance(slug, str) or not slug:
        raise ForgeError("GitHub named no slug for the GitHub App (GET /app): set SHIPYARD_GITHUB_APP_SLUG")
    return slug


async def installation(settings: Settings, installation_id: int) -> AppInstallation:
    """The app's installation `installation_id` as GitHub describes it; NotFound when the app
    has none of that id."""
    require_app(settings)
    return app_installation(await app_tokens(settings).installation(installation_id))


async def installation_repositories(settings: Settings, installation_id: int) -> list[ReachableRepository]:
    """Every repository the installation reaches, by name."""
    require_app(settings)
    token = await app_tokens(settings).token(installation_id)
    return await _InstallationApi(settings, token).repositories(installation_id)


class _InstallationApi(GitHubApi):
    """githubkit with an installation's token."""

    async def repositories(self, installation_id: int) -> list[ReachableRepository]:
        def page(number: int) -> Any:
            return self._github.rest.apps.async_list_repos_accessible_to_installation(
                per_page=_PER_PAGE, page=number
            )

        what = f"the repositories of GitHub App installation {installation_id}"
        items = await self._pages(what, page, key="repositories")
        found = [reachable_repository(item, installation_id) for item in items if isinstance(item, dict)]
        return sorted((repo for repo in found if repo.full_name), key=lambda repo: repo.full_name.lower())
