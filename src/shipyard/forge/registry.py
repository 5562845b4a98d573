"""Forges by name: `local` (pull requests in Shipyard's store) and `github`.

The one place that knows which forges exist and which one a repository URL means. Building a
forge costs nothing (no SDK, no token): both load on its first call.
"""

from __future__ import annotations

from urllib.parse import urlparse

from shipyard.config import Settings
from shipyard.domain.errors import ForgeError
from shipyard.domain.projects import ForgeName
from shipyard.forge.base import Forge
from shipyard.forge.github_forge import GitHubForge
from shipyard.forge.github_repo import NO_TOKEN, issue_web_url, parse_repository
from shipyard.forge.local import LocalForge, PullRequestRows

__all__ = ["FORGE_NAMES", "NO_TOKEN", "default_forge_name", "forge_for", "hosted_forge_for", "issue_url"]

FORGE_NAMES = ("local", "github")


def forge_for(
    name: str, settings: Settings, repository_url: str, rows: PullRequestRows | None = None
) -> Forge:
    """Forge `name` for one repository; `rows`: the store, where the local forge keeps pull requests."""
    if name == "github":
        return GitHubForge(settings, repository_url)
    if name == "local":
        return LocalForge(rows, repository_url)
    raise ForgeError(f"unknown forge '{name}'; known: {', '.join(FORGE_NAMES)}")


def default_forge_name(settings: Settings, repository_url: str) -> ForgeName:
    """`github` for a URL on GitHub (or on the Enterprise host `github_api_url` names), else `local`."""
    host = urlparse(repository_url).netloc.rpartition("@")[2].lower()
    api_host = urlparse(settings.github_api_url).netloc.lower()
    github_host = "github.com" if api_host == "api.github.com" else api_host
    return "github" if host and host == github_host else "local"


def hosted_forge_for(settings: Settings, repository: str) -> Forge | None:
    """The hosted forge whose repository `repository` (a URL or owner/name) names, if any."""
    return GitHubForge(settings, repository) if parse_repository(repository) is not None else None


def repository_name(repository_url: str) -> str | None:
    """The name (owner/name) a hosted forge gives the repository of a remote URL, if it names one."""
    ref = parse_repository(repository_url)
    return ref.full_name if ref else None


def issue_url(name: str, repository_url: str, number: int) -> str | None:
    """Where people read issue `number` of the repository on forge `name`; None on a forge that
    keeps no issues (`local`)."""
    return issue_web_url(repository_url, number) if name == "github" else None
