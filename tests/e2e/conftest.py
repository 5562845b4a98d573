"""An in-process Shipyard (embedded Temporal, worker, API on a free loopback port); the scripted
model server, and Kilo Code configured to use it, for the tests that run the real CLI through it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from browser_kit import CHROMIUM_ARGS, chromium_path
from playwright.async_api import Browser, Page, async_playwright

from scripted_model import ScriptedModel, opencode_config
from shipyard.cli.server import RunningServer, running_server
from shipyard.config import Settings
from support import MakeSettings, installed_cli, serving

_KILO_KEY = "sk-scripted-kilo-e2e-0123456789"
# What Kilo Code's config says the scripted model costs: USD per million tokens.
_KILO_PRICES = {"input": 3.0, "output": 15.0}


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[RunningServer]:
    async with running_server(settings, persistent=False, port=0, announce=False) as srv:
        yield srv


@pytest.fixture
async def api(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (its own browser download cannot work here)."""
    executable = chromium_path()
    if executable is None:
        pytest.fail(
            "no Chromium for the browser tests: `./dev test` installs Debian's `chromium`"
            " (apt-get install chromium), or set SHIPYARD_TEST_CHROMIUM to a Chromium binary",
            pytrace=False,
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh browser page (its own cookies), 1280x800, light colours."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="light")
    opened = await context.new_page()
    yield opened
    await context.close()


@pytest.fixture
async def model() -> AsyncIterator[tuple[ScriptedModel, str]]:
    """The scripted model server on loopback, and its base URL; a test gives it its turns."""
    scripted = ScriptedModel([])
    async with serving(scripted.app) as url:
        yield scripted, url


@pytest.fixture
def kilocode_settings(
    make_settings: MakeSettings, model: tuple[ScriptedModel, str], monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Settings whose agent is the real Kilo Code 7.x, sending its model requests to `model`."""
    # What an operator sets in the worker's environment for Kilo Code 7.x: its config, in opencode's
    # schema, whose provider is the endpoint (its key read from OPENAI_API_KEY).
    model[0].model = "scripted-model"
    monkeypatch.setenv("KILO_CONFIG_CONTENT", opencode_config(model[1], "scripted-model", _KILO_PRICES))
    return make_settings(
        agent="kilocode", kilocode_binary=installed_cli("kilocode"), openai_api_key=_KILO_KEY
    )
