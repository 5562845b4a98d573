"""Forges by name: `local` (pull requests in Shipyard's store) and `github`."""

from __future__ import annotations

import asyncio

from shipyard.config import Settings
from shipyard.domain.errors import ForgeError
from shipyard.forge.base import Forge
from shipyard.forge.github import token_for
from shipyard.forge.github_forge import GitHubForge
from shipyard.forge.local import LocalForge, PullRequestRows

FORGE_NAMES = ("local", "github")
NO_TOKEN = "no GitHub token: set GITHUB_TOKEN, or install gh and run `gh auth login`"


async def github_forge(settings: Settings) -> GitHubForge:
    """The github forge with the configured token; ForgeError when there is none."""
    token = await asyncio.to_thread(token_for, settings)
    if token is None:
        raise ForgeError(NO_TOKEN)
    return GitHubForge(settings, token)


async def build_forge(name: str, settings: Settings, rows: PullRequestRows) -> Forge:
    if name == "github":
        return await github_forge(settings)
    if name == "local":
        return LocalForge(rows)
    raise ForgeError(f"unknown forge '{name}'; known: {', '.join(FORGE_NAMES)}")
