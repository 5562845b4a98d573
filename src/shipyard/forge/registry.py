"""Forges by name: `local` (pull requests in Shipyard's store) and `github`."""

from __future__ import annotations

from shipyard.config import Settings
from shipyard.domain.errors import ForgeError
from shipyard.forge.base import Forge
from shipyard.forge.github import parse_repository
from shipyard.forge.github_auth import github_token
from shipyard.forge.github_forge import GitHubForge
from shipyard.forge.local import LocalForge, PullRequestRows

FORGE_NAMES = ("local", "github")
NO_TOKEN = "no GitHub token: set GITHUB_TOKEN, or install gh and run `gh auth login`"


async def github_forge(settings: Settings, repository_url: str) -> GitHubForge:
    """The github forge with a token for the repository (personal, or the GitHub App's
    installation token, fetched or cached); ForgeError when there is none."""
    token = await github_token(settings, parse_repository(repository_url))
    if token is None:
        raise ForgeError(NO_TOKEN)
    return GitHubForge(settings, token)


async def build_forge(name: str, settings: Settings, rows: PullRequestRows, repository_url: str) -> Forge:
    if name == "github":
        return await github_forge(settings, repository_url)
    if name == "local":
        return LocalForge(rows)
    raise ForgeError(f"unknown forge '{name}'; known: {', '.join(FORGE_NAMES)}")
