"""An in-process Shipyard (embedded Temporal, worker, API on a free loopback port)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

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
