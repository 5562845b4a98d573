"""An in-process Shipyard (embedded Temporal, worker, API on a free loopback port)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from browser_kit import CHROMIUM_ARGS, chromium_path
from playwright.async_api import Browser, Page, async_playwright

from shipyard.cli.server import RunningServer, running_server
from shipyard.config import Settings


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
