"""Helpers shared by tests (importable as `support`; fixtures stay in conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from sqlalchemy.engine import make_url

from shipyard.config import Settings
from shipyard.engine.devserver import free_port
from shipyard.service.work_orders import WorkOrderService
from shipyard.store.migrate import upgrade
from shipyard.store.store import Store
from shipyard.web.app import create_app

MakeRepo = Callable[..., Path]
MakeSettings = Callable[..., Settings]
Migrated = Callable[[Settings], Settings]
TERMINAL = {"completed", "failed", "cancelled"}


def interruptible() -> None:
    """preexec_fn for a child that must answer Ctrl-C: a shell without job control starts its
    background jobs with SIGINT ignored, and that would carry over to the child."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd` and return its stdout (fails the test on error)."""
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


def nap(seconds: int) -> str:
    """A `sleep` command line no other test runs (a fraction of a second its mark), for `napping`."""
    return f"sleep {seconds}.{secrets.randbelow(10**9):09d}"


def napping(command: str) -> bool:
    """Whether a process runs exactly `command` (one of `nap`'s) right now."""
    found = subprocess.run(["pgrep", "-f", f"^{command}$"], capture_output=True, check=False)
    return found.returncode == 0


def installed_cli(name: str, *, pypi: bool = False) -> str:
    """An agent CLI that `./dev test` installs from npm (or, `pypi`, into a venv of its own named
    after it) into a cache outside the clone ($SHIPYARD_TEST_CLIS, by default
    ~/.cache/shipyard-test-clis); fails the test when it is missing."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    root = Path(os.environ.get("SHIPYARD_TEST_CLIS") or Path(cache) / "shipyard-test-clis")
    binary = root / name / "bin" / name if pypi else root / "node_modules" / ".bin" / name
    if not os.access(binary, os.X_OK):
        pytest.fail(f"{name} is not installed in {root}: ./dev test installs it there", pytrace=False)
    return str(binary)


async def wait_done(api: httpx.AsyncClient, work_order_id: str, timeout_s: float = 120) -> dict[str, Any]:
    """Poll the API until the work order ends; return its JSON."""
    async with asyncio.timeout(timeout_s):
        while True:
            resp = await api.get(f"/api/agent-work-orders/{work_order_id}")
            wo: dict[str, Any] = resp.json()["agent_work_order"]
            if wo["status"] in TERMINAL:
                return wo
            await asyncio.sleep(0.2)


async def migrated_sqlite(path: Path) -> Path:
    """A SQLite file at `path`, migrated to head and compacted into one self-contained file."""
    scratch = path.with_name(f"migrating-{path.name}")
    await upgrade(f"sqlite+aiosqlite:///{scratch}")
    with contextlib.closing(sqlite3.connect(scratch)) as conn:
        conn.execute("VACUUM INTO ?", (str(path),))
    return path


def seed_sqlite(settings: Settings, template: Path) -> None:
    """Give `settings` a copy of the migrated template, unless it names another database."""
    target = settings.data_dir / "shipyard.db"
    if settings.database_url is None and not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, target)


PG_DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


class PgDatabases:
    """Creates throwaway databases on the test server and drops them all at the end."""

    def __init__(self, server_url: str) -> None:
        self.server_url = make_url(server_url).set(drivername="postgresql+asyncpg")
        self.names: list[str] = []
        self.error: str | None = None
        self.shared_url: str | None = None
        self.template: str | None = None

    def _dsn(self) -> str:
        return self.server_url.set(drivername="postgresql").render_as_string(False)

    async def check(self) -> None:
        try:
            conn = await asyncpg.connect(self._dsn(), timeout=10)
        except (OSError, asyncpg.PostgresError) as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            return
        await conn.close()

    async def create(self, template: str | None = None) -> str:
        """A new database, empty or a copy of `template`; its SQLAlchemy URL."""
        if self.error is not None:
            pytest.fail(
                f"PostgreSQL at {self.server_url.render_as_string()} is unreachable "
                f"({self.error}); the store tests need a real server (set SHIPYARD_TEST_PG_URL)",
                pytrace=False,
            )
        name = f"shipyard_test_{secrets.token_hex(4)}"
        conn = await asyncpg.connect(self._dsn())
        try:
            copied = f' TEMPLATE "{template}"' if template else ""
            await conn.execute(f'CREATE DATABASE "{name}"{copied}')
        finally:
            await conn.close()
        self.names.append(name)
        return self.server_url.set(database=name).render_as_string(False)

    async def migrated(self) -> str:
        """A new database at head: a copy of one migrated once for the session."""
        if self.template is None:
            url = await self.create()
            await upgrade(url)
            self.template = make_url(url).database
        return await self.create(self.template)

    async def emptied_shared(self) -> str:
        """One migrated database shared by the session, emptied for the caller."""
        if self.shared_url is None:
            self.shared_url = await self.create()
            await upgrade(self.shared_url)
        dsn = make_url(self.shared_url).set(drivername="postgresql").render_as_string(False)
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(
                "TRUNCATE project, work_order, step, event, pull_request, webhook_delivery,"
                " repository_dispatch, artifact, project_secret, idea_run, issue_node, run_event,"
                " github_installation"
                " RESTART IDENTITY CASCADE"
            )
        finally:
            await conn.close()
        return self.shared_url

    async def drop_all(self) -> None:
        if not self.names:
            return
        conn = await asyncpg.connect(self._dsn())
        try:
            for name in self.names:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


def _uvicorn(app: Any) -> tuple[uvicorn.Server, str]:
    """A uvicorn server for `app` on a free loopback port, and its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", timeout_graceful_shutdown=2,
        timeout_keep_alive=75,  # as the services these stand for keep a connection: longer than httpx's 5 s
    )  # fmt: skip
    return uvicorn.Server(config), f"http://127.0.0.1:{port}"


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port; yields its base URL."""
    server, url = _uvicorn(app)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.02)
    try:
        yield url
    finally:
        server.should_exit = True
        await task


@contextlib.contextmanager
def serving_in_thread(app: Any) -> Iterator[str]:
    """`serving` on an event loop of its own in a background thread: the app answers while the
    test blocks (a sync test that waits on a subprocess); yields its base URL."""
    server, url = _uvicorn(app)
    # Off the main thread uvicorn leaves signal handling to the test.
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join()


@contextlib.asynccontextmanager
async def api_only(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API of `settings` without an engine (no Temporal), over real HTTP; a client for it."""
    store = await Store.open(settings.resolved_database_url)
    try:
        app = create_app(WorkOrderService(settings, store, None))
        async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            yield client
    finally:
        await store.close()
