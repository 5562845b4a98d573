"""An unexpected error (issue 14, item 5): a 500 of the usual shape, one short log line without
locals, and the server keeps answering others meanwhile. Real HTTP on loopback."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import structlog

from shipyard.config import Settings
from shipyard.logging import configure_logging
from shipyard.service.work_orders import WorkOrderService
from shipyard.store.store import Store
from shipyard.web.app import create_app
from support import Migrated, serving

SECRET_LOCAL = "local-value-canary-5d1e"


def explode() -> None:
    payload = [[SECRET_LOCAL] * 50 for _ in range(2000)]  # a big local a traceback must not render
    raise RuntimeError(f"boom with {len(payload)} rows")


@pytest.fixture
def console_log() -> Iterator[io.StringIO]:
    """Shipyard's console logging, written to the StringIO given."""
    saved, out = structlog.get_config(), io.StringIO()
    configure_logging("info")
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(out))
    yield out
    structlog.configure(**saved)


@pytest.fixture
async def client(
    tmp_path: Path, migrated: Migrated, console_log: io.StringIO
) -> AsyncIterator[httpx.AsyncClient]:
    settings = migrated(Settings(data_dir=tmp_path / "data", agent="shell"))
    store = await Store.open(settings.resolved_database_url)
    try:
        app = create_app(WorkOrderService(settings, store, None))
        app.add_api_route("/api/boom", explode)
        app.add_api_route("/boom", explode)
        async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
            yield http
    finally:
        await store.close()


async def test_an_unexpected_error_is_a_500_logged_once_briefly(
    client: httpx.AsyncClient, console_log: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    resp = await client.get("/api/boom")
    assert resp.status_code == 500
    assert resp.json() == {"error": {"code": "internal", "message": "internal error; see the server log"}}
    page = await client.get("/boom")  # a dashboard path: the error page
    assert page.status_code == 500 and "<html" in page.text
    err = console_log.getvalue()
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 2, err  # one line each
    assert not caplog.records, caplog.text  # and uvicorn logs nothing more
    assert "RuntimeError" in lines[0] and "boom with 2000 rows" in lines[0] and "path=/api/boom" in lines[0]
    assert "explode" in lines[0]  # where it was raised
    assert SECRET_LOCAL not in err and len(err) < 2000


async def test_the_server_answers_others_while_requests_fail(client: httpx.AsyncClient) -> None:
    # Errors used to be logged with every local rendered, seconds each: the log line's size (above)
    # is the test of that; how long a request waits behind failing ones is bench/'s to measure.
    failing = [asyncio.create_task(client.get("/api/boom")) for _ in range(20)]
    assert (await client.get("/api/agent-work-orders")).status_code == 200
    assert all(r.status_code == 500 for r in await asyncio.gather(*failing))
