"""Helpers of the dashboard tests: the served dashboard, seeded work orders, a branch to diff."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import insert

from shipyard.config import Settings
from shipyard.domain.models import SandboxHandle
from shipyard.domain.work_orders import WorkOrder
from shipyard.store.store import Store
from shipyard.store.tables import Event, utc_now
from support import MakeRepo, git


@dataclass
class Dashboard:
    client: httpx.AsyncClient
    store: Store
    settings: Settings


Seed = Callable[..., Awaitable[WorkOrder]]


def branch_with_change(make_repo: MakeRepo, name: str = "repo") -> tuple[Path, SandboxHandle]:
    """A repository whose branch `wo/demo` changes app.py and adds notes.md in one commit."""
    repo = make_repo(name, {"app.py": 'def hello():\n    return "hi"\n', "README.md": "# demo\n"})
    base = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "-b", "wo/demo")
    (repo / "app.py").write_text('def hello():\n    return "hello, world"\n\n\ndef bye():\n    return 1\n')
    (repo / "notes.md").write_text("# Notes\n\n<script>alert(1)</script>\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "build: say hello properly", "-m", "Shipyard-Phase: implementing")
    git(repo, "checkout", "-q", "main")
    handle = SandboxHandle(
        sandbox_type="git_worktree", work_order_id="x", repository_url=str(repo), path=str(repo / "gone"),
        branch="wo/demo", base_branch="main", base_sha=base,
    )  # fmt: skip
    return repo, handle


async def add_log_lines(store: Store, work_order_id: str, lines: list[str]) -> None:
    """Log events for `lines`, written in one transaction (appending them one by one, as a
    running step does, takes seconds for thousands)."""
    now = utc_now()
    rows = [
        {"work_order_id": work_order_id, "step_id": "build", "type": "log", "level": "info", "ts": now,
         "data": {"stream": "stdout", "line": line}}
        for line in lines
    ]  # fmt: skip
    async with store.engine.begin() as conn:
        await conn.execute(insert(Event), rows)
