"""The API without an engine, served over ASGI: auth and the error shape (no Temporal needed)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from shipyard.api.app import create_app
from shipyard.config import Settings
from shipyard.service.work_orders import WorkOrderService
from shipyard.store.store import Store


@pytest.fixture
async def store(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Store]:
    shutil.copyfile(sqlite_template, tmp_path / "db.sqlite")  # migrated once for the session
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    yield store
    await store.close()


def client_for(settings: Settings, store: Store, **headers: str) -> httpx.AsyncClient:
    app = create_app(WorkOrderService(settings, store, None))
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://localhost", headers=headers
    )


async def test_token_is_required_when_configured(store: Store, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, api_token=SecretStr("s3cret-token"))
    async with client_for(settings, store) as anonymous:
        resp = await anonymous.get("/api/agent-work-orders")
        assert resp.status_code == 401
        assert resp.json()["error"]["code"] == "unauthorized"
        assert "s3cret-token" not in resp.text
    async with client_for(settings, store, Authorization="Bearer wrong") as wrong:
        assert (await wrong.get("/api/agent-work-orders")).status_code == 401
    async with client_for(settings, store, Authorization="Bearer s3cret-token") as good:
        assert (await good.get("/api/agent-work-orders")).status_code == 200


async def test_no_token_needed_by_default(store: Store, tmp_path: Path) -> None:
    async with client_for(Settings(data_dir=tmp_path), store) as api:
        assert (await api.get("/api/agent-work-orders")).json() == {
            "agent_work_orders": [],
            "total_count": 0,
            "has_more": False,
        }


async def test_malformed_bodies_get_the_error_shape(store: Store, tmp_path: Path) -> None:
    async with client_for(Settings(data_dir=tmp_path), store) as api:
        not_json = await api.post(
            "/api/agent-work-orders", content=b"{nope", headers={"content-type": "application/json"}
        )
        assert not_json.status_code == 422 and not_json.json()["error"]["code"] == "invalid_request"
        wrong_type = await api.post("/api/agent-work-orders", json={"repository_url": 5, "inputs": []})
        assert wrong_type.status_code == 422
        assert "repository_url" in wrong_type.json()["error"]["message"]
        limit = await api.get("/api/agent-work-orders", params={"limit": 0})
        assert limit.status_code == 422 and "limit" in limit.json()["error"]["message"]
        unknown_route = await api.get("/api/nothing-here")
        assert unknown_route.status_code == 404 and unknown_route.json()["error"]["code"] == "not_found"


async def test_creating_without_an_engine_is_a_clear_conflict(store: Store, tmp_path: Path) -> None:
    async with client_for(Settings(data_dir=tmp_path), store) as api:
        resp = await api.post(
            "/api/agent-work-orders", json={"repository_url": str(tmp_path), "workflow_type": "x"}
        )
        assert resp.status_code == 409
        assert "shipyard serve" in resp.json()["error"]["message"]
