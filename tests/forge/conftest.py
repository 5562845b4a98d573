"""What the GitHub forge's tests share: the fake GitHub over real HTTP, and the forge on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from fakes.github_api import FakeGitHub, build_app
from forge_kit import REPO, TOKEN
from shipyard.config import Settings
from shipyard.forge.base import Forge
from shipyard.forge.registry import forge_for
from support import serving


@pytest.fixture
async def github() -> AsyncIterator[FakeGitHub]:
    fake = FakeGitHub(tokens={TOKEN})
    fake.add_repo(REPO)
    async with serving(build_app(fake)) as url:
        fake.base_url = url
        yield fake


@pytest.fixture
def forge(settings: Settings, github: FakeGitHub) -> Forge:
    """The `github` forge of REPO, on the fake."""
    configured = settings.model_copy(
        update={"github_api_url": github.base_url, "github_token": SecretStr(TOKEN)}
    )
    return forge_for("github", configured, f"https://github.com/{REPO}")
