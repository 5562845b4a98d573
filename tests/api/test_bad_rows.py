"""Rows stored before the door's checks (issue 14, item 3): a lone surrogate in a work order's
inputs and in an event, a webhook delivery nested 900 deep. Every reader still answers, quickly."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from cli_kit import shipyard
from shipyard.config import Settings
from shipyard.domain.work_orders import WorkOrderCreate
from shipyard.service.work_orders import WorkOrderService
from shipyard.store.store import Store
from shipyard.web.app import create_app
from support import Migrated, serving

WO = "wo-badrow01"
DEEP = "[" * 900 + "]" * 900
# Raw JSON text as SQLite kept it: json.dumps escapes a lone surrogate, and stores it.
INPUTS = '{"prompt": "fix \\ud800 this", "deep": ' + DEEP + "}"
EVENT = '{"stream": "stdout", "line": "half \\udc00 a pair"}'
PAYLOAD = '{"action": "opened", "note": "\\ud800", "nested": ' + DEEP + "}"


async def store_bad_rows(store: Store) -> None:
    await store.create_work_order(
        WorkOrderCreate(id=WO, repository_url="/tmp/r", workflow_type="w", sandbox_type="git_worktree",
                        agent="shell", git_branch_name=f"wo/{WO}")
    )  # fmt: skip
    async with store.engine.begin() as conn:
        await conn.execute(text("UPDATE work_order SET inputs = :j WHERE id = :id"), {"j": INPUTS, "id": WO})
        await conn.execute(
            text(
                "INSERT INTO event (work_order_id, type, level, ts, data)"  # one log line
                " VALUES (:id, 'log', 'info', :ts, :d)"
            ),
            {"id": WO, "ts": "2026-12-04 12:00:00", "d": EVENT},
        )
        await conn.execute(
            text(
                "INSERT INTO webhook_delivery (source, hook_id, delivery_id, event, action, payload, status,"
                " received_at) VALUES ('github', '1', 'd-1', 'issues', 'opened', :p, 'received', :ts)"
            ),
            {"p": PAYLOAD, "ts": "2026-12-04 12:00:00"},
        )


@pytest.fixture
async def served(tmp_path: Path, migrated: Migrated) -> AsyncIterator[tuple[httpx.AsyncClient, Settings]]:
    settings = migrated(Settings(data_dir=tmp_path / "data", agent="shell"))
    store = await Store.open(settings.resolved_database_url)
    try:
        await store_bad_rows(store)
        app = create_app(WorkOrderService(settings, store, None))
        async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            yield client, settings
    finally:
        await store.close()


async def test_every_endpoint_reads_a_stored_bad_row(served: tuple[httpx.AsyncClient, Settings]) -> None:
    client, _ = served
    for path in [
        "/api/agent-work-orders",
        f"/api/agent-work-orders/{WO}",
        f"/api/agent-work-orders/{WO}/logs",
        f"/api/agent-work-orders/{WO}/steps",
        "/api/webhooks/deliveries",
    ]:
        resp = await client.get(path)  # how long it takes is bench/'s (bad_input), not a test's
        assert resp.status_code == 200, (path, resp.text[:300])
    got = (await client.get(f"/api/agent-work-orders/{WO}")).json()["agent_work_order"]["inputs"]
    assert got["prompt"] == "fix \ufffd this"
    assert "nested too deep" in json.dumps(got["deep"])
    line = (await client.get(f"/api/agent-work-orders/{WO}/logs")).json()["log_entries"][0]["line"]
    assert line == "half \ufffd a pair"
    delivery = (await client.get("/api/webhooks/deliveries")).json()["deliveries"][0]
    one = await client.get(f"/api/webhooks/deliveries/{delivery['id']}")
    assert one.status_code == 200 and one.json()["delivery"]["payload"]["note"] == "\ufffd"


async def test_every_page_reads_a_stored_bad_row(served: tuple[httpx.AsyncClient, Settings]) -> None:
    client, _ = served
    for path in [
        "/",
        "/?part=rows",
        f"/work-orders/{WO}",
        f"/work-orders/{WO}/log",
        f"/work-orders/{WO}/part/head",
    ]:
        resp = await client.get(path)
        assert resp.status_code == 200, (path, resp.text[:300])
    assert "half \ufffd a pair" in (await client.get(f"/work-orders/{WO}")).text


def test_shipyard_ls_reads_a_stored_bad_row(tmp_path: Path, migrated: Migrated) -> None:
    settings = migrated(Settings(data_dir=tmp_path / "data", agent="shell"))

    async def seed() -> None:
        store = await Store.open(settings.resolved_database_url)
        try:
            await store_bad_rows(store)
        finally:
            await store.close()

    asyncio.run(seed())
    done = shipyard(settings.data_dir, "ls")  # no server: the CLI reads the store in-process
    assert done.returncode == 0, done.stdout + done.stderr
    assert WO in done.stdout
