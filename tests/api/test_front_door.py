"""The API's front door over real HTTP on loopback: only the hosts the server is reached by (DNS
rebinding), the health check open to load balancers, security headers, safe artifact downloads,
and throttled wrong tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from shipyard.api.throttle import Throttle
from shipyard.config import Settings
from shipyard.domain.ids import new_work_order_id
from shipyard.domain.work_orders import WorkOrderCreate
from shipyard.store.store import Store
from support import Migrated, api_only

TOKEN = "front-door-canary-token-7e2a"
REBIND = "rebind.evil.example"


@pytest.fixture
async def open_api(tmp_path: Path, migrated: Migrated) -> AsyncIterator[httpx.AsyncClient]:
    """The loopback default: no token set."""
    async with api_only(migrated(Settings(data_dir=tmp_path))) as client:
        yield client


@pytest.fixture
async def guarded_api(tmp_path: Path, migrated: Migrated) -> AsyncIterator[httpx.AsyncClient]:
    async with api_only(migrated(Settings(data_dir=tmp_path, api_token=SecretStr(TOKEN)))) as client:
        yield client


def assert_misdirected(resp: httpx.Response) -> None:
    assert resp.status_code == 421, resp.text
    error = resp.json()["error"]
    assert error["code"] == "misdirected_request" and REBIND in error["message"]


async def test_a_rebinding_page_cannot_create_or_read_work_orders(
    open_api: httpx.AsyncClient, tmp_path: Path
) -> None:
    foreign = {"Host": REBIND, "Origin": f"http://{REBIND}"}
    body = {"repository_url": str(tmp_path), "workflow_type": "x", "inputs": {"command": "id"}}
    assert_misdirected(await open_api.post("/api/agent-work-orders", json=body, headers=foreign))
    assert_misdirected(await open_api.get("/api/agent-work-orders", headers=foreign))
    # The SSE stream; let through, it would stream for ever (heartbeats every 15 s).
    assert_misdirected(await open_api.get("/api/events", headers=foreign, timeout=5))
    assert_misdirected(await open_api.post("/api/webhooks/github", content=b"{}", headers=foreign))
    assert_misdirected(await open_api.get("/api/health", headers={"Host": f"{REBIND}:8420"}))
    listed = (await open_api.get("/api/agent-work-orders")).json()
    assert listed["total_count"] == 0


async def test_loopback_names_and_addresses_are_accepted(open_api: httpx.AsyncClient) -> None:
    port = open_api.base_url.port
    for host in (f"localhost:{port}", "LOCALHOST", "127.0.0.2", f"[::1]:{port}", "shipyard.localhost"):
        resp = await open_api.get("/api/agent-work-orders", headers={"Host": host})
        assert resp.status_code == 200, (host, resp.text)
    for host in ("localhost.evil.example", "127.0.0.1.evil.example", "[::1", "127.0.0.1:port"):
        assert (await open_api.get("/api/health", headers={"Host": host})).status_code == 421, host


async def test_the_public_url_s_host_and_the_listed_names_are_accepted(
    tmp_path: Path, migrated: Migrated, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPYARD_ALLOWED_HOSTS", "Ship.Example.com, 10.1.2.3 ,")
    settings = migrated(Settings(data_dir=tmp_path, public_url="https://ci.example.org/shipyard"))
    assert settings.allowed_hosts == ["Ship.Example.com", "10.1.2.3"]
    async with api_only(settings) as api:
        for host in ("ship.example.com", "10.1.2.3:8420", "ci.example.org", "ci.example.org."):
            assert (await api.get("/api/health", headers={"Host": host})).status_code == 200, host
        assert (await api.get("/api/health", headers={"Host": "example.com"})).status_code == 421


async def test_health_is_open_in_token_mode_and_says_nothing_secret(guarded_api: httpx.AsyncClient) -> None:
    health = await guarded_api.get("/api/health")
    assert health.status_code == 200
    assert set(health.json()) == {
        "status", "version", "database", "temporal", "temporal_restarts", "disk", "disk_free_bytes",
        "disk_total_bytes",
    }  # fmt: skip
    assert TOKEN not in health.text
    assert (await guarded_api.get("/api/metrics")).status_code == 401  # the rest still wants it


async def test_every_answer_carries_the_security_headers(open_api: httpx.AsyncClient) -> None:
    answers = [
        await open_api.get("/api/health"),
        await open_api.get("/api/nothing-here"),
        await open_api.get("/api/health", headers={"Host": REBIND}),
        await open_api.get("/static/shipyard.css"),
    ]
    for resp in answers:
        assert resp.headers["x-frame-options"] == "DENY"
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["referrer-policy"] == "same-origin"
        policy = resp.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    docs = await open_api.get("/docs")  # Swagger UI comes from its CDN
    assert "https://cdn.jsdelivr.net" in docs.headers["content-security-policy"]


async def _stored_work_order(settings: Settings) -> str:
    store = await Store.open(settings.resolved_database_url)
    try:
        wid = new_work_order_id()
        await store.create_work_order(
            WorkOrderCreate(id=wid, repository_url="/tmp/r", workflow_type="w", sandbox_type="git_worktree",
                            agent="shell", git_branch_name=f"wo/{wid}")
        )  # fmt: skip
        return wid
    finally:
        await store.close()


async def test_artifacts_are_downloaded_as_text_or_bytes_never_as_the_uploader_said(
    tmp_path: Path, migrated: Migrated
) -> None:
    settings = migrated(Settings(data_dir=tmp_path))
    wid = await _stored_work_order(settings)
    uploads = [
        ("page.html", b"<script>alert(document.cookie)</script>", "text/html", "text/plain; charset=utf-8"),
        ("logo.svg", b"<svg onload='alert(1)'/>", "image/svg+xml", "text/plain; charset=utf-8"),
        ("blob.bin", b"\x00\xff\xfe<script>", "text/html", "application/octet-stream"),
    ]
    async with api_only(settings) as api:
        for name, content, claimed, served in uploads:
            path = f"/api/agent-work-orders/{wid}/artifacts/{name}"
            put = await api.put(path, content=content, headers={"Content-Type": claimed})
            assert put.status_code == 201, put.text
            got = await api.get(path)
            assert got.content == content
            assert got.headers["content-type"] == served
            assert got.headers["content-disposition"] == f'attachment; filename="{name}"'
            assert "sandbox" in got.headers["content-security-policy"]


async def test_wrong_tokens_are_throttled_per_address(guarded_api: httpx.AsyncClient) -> None:
    for _ in range(10):
        wrong = await guarded_api.get("/api/agent-work-orders", headers={"Authorization": "Bearer guess"})
        assert wrong.status_code == 401
    stopped = await guarded_api.get("/api/agent-work-orders", headers={"Authorization": f"Bearer {TOKEN}"})
    assert stopped.status_code == 429 and stopped.json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(stopped.headers["retry-after"]) <= 60
    assert (await guarded_api.get("/api/health")).status_code == 200  # no token asked, none refused


async def test_a_guess_at_the_api_token_on_a_report_route_counts_too(
    tmp_path: Path, migrated: Migrated
) -> None:
    settings = migrated(Settings(data_dir=tmp_path, api_token=SecretStr(TOKEN)))
    wid = await _stored_work_order(settings)
    async with api_only(settings) as api:
        for _ in range(10):
            resp = await api.post(
                f"/api/agent-work-orders/{wid}/report",
                json={"type": "x"},
                headers={"Authorization": "Bearer a"},
            )
            assert resp.status_code == 403
        right = {"Authorization": f"Bearer {TOKEN}"}
        assert (await api.get("/api/agent-work-orders", headers=right)).status_code == 429


def test_the_throttle_forgets_failures_older_than_its_window() -> None:
    now = [1000.0]
    throttle = Throttle(limit=3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.retry_after_s("10.0.0.1") == 0
        throttle.failed("10.0.0.1")
        now[0] += 10
    assert throttle.retry_after_s("10.0.0.1") == 30  # the first failure leaves the window at 1060
    assert throttle.retry_after_s("10.0.0.2") == 0  # per address
    now[0] = 1060.5
    assert throttle.retry_after_s("10.0.0.1") == 0
