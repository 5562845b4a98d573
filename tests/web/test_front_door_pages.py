"""The dashboard's front door: a rebinding page is refused, forms from another site are refused
(by Origin, by Referer, and when Host and Origin are both foreign), pages carry the security
headers, and failed sign-ins are throttled."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from dashboard_kit import Dashboard, Seed
from pydantic import SecretStr
from starlette.exceptions import HTTPException
from starlette.requests import Request

from shipyard.config import Settings
from shipyard.web.render import same_origin
from support import Migrated, api_only

REBIND = "rebind.evil.example"
TOKEN = "sign-in-canary-token-3b9d"


async def test_a_rebinding_page_gets_no_page_and_can_send_no_form(dashboard: Dashboard, seed: Seed) -> None:
    wo = await seed(status="running")
    foreign = {"Host": REBIND, "Origin": f"http://{REBIND}"}
    answers = [
        await dashboard.client.get("/", headers=foreign),
        await dashboard.client.get("/live", headers=foreign, timeout=5),  # let through, it streams on
        await dashboard.client.post(f"/work-orders/{wo.id}/cancel", headers=foreign),
        await dashboard.client.post("/work-orders", data={"repository_url": "/tmp/x"}, headers=foreign),
    ]
    for resp in answers:
        assert resp.status_code == 421, resp.text
        assert resp.json()["error"]["code"] == "misdirected_request"
    assert (await dashboard.store.get_work_order(wo.id)).status.value == "running"


def _form_post(settings: Settings, host: str, origin: str) -> Request:
    """A form's POST as the dashboard's routes see it, on an app holding only the settings."""
    app = SimpleNamespace(state=SimpleNamespace(service=SimpleNamespace(settings=settings)))
    headers = [(b"host", host.encode()), (b"origin", origin.encode())]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers, "app": app})


async def test_the_cross_site_check_fails_when_host_and_origin_are_both_foreign(dashboard: Dashboard) -> None:
    """Even without the Host guard in front, a page and a Host that agree but are not this server's
    names are another site."""
    with pytest.raises(HTTPException) as refused:
        await same_origin(_form_post(dashboard.settings, REBIND, f"http://{REBIND}"))
    assert refused.value.status_code == 403
    await same_origin(_form_post(dashboard.settings, "127.0.0.1:8420", "http://127.0.0.1:8420"))


async def test_a_form_whose_only_cross_site_sign_is_its_referer_is_refused(
    dashboard: Dashboard, seed: Seed
) -> None:
    wo = await seed(status="running")
    refused = await dashboard.client.post(
        f"/work-orders/{wo.id}/pause", headers={"Referer": "https://evil.example/page"}
    )
    assert refused.status_code == 403 and "another site" in refused.text
    here = f"{dashboard.client.base_url}/work-orders/{wo.id}"
    same = await dashboard.client.post(f"/work-orders/{wo.id}/pause", headers={"Referer": here})
    assert same.status_code != 403


async def test_pages_carry_the_security_headers(dashboard: Dashboard, seed: Seed) -> None:
    wo = await seed()
    for path in ("/", f"/work-orders/{wo.id}", "/work-orders/wo-00000000", "/metrics"):
        resp = await dashboard.client.get(path)
        assert resp.headers["x-frame-options"] == "DENY", path
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["referrer-policy"] == "same-origin"
        policy = resp.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "connect-src 'self'" in policy


@pytest.fixture
async def guarded(tmp_path: Path, migrated: Migrated) -> AsyncIterator[httpx.AsyncClient]:
    async with api_only(migrated(Settings(data_dir=tmp_path, api_token=SecretStr(TOKEN)))) as client:
        yield client


async def test_failed_sign_ins_are_throttled(guarded: httpx.AsyncClient) -> None:
    for _ in range(10):
        wrong = await guarded.post("/login", data={"token": "guess", "next": "/"})
        assert wrong.status_code == 401
    stopped = await guarded.post("/login", data={"token": TOKEN, "next": "/"})
    assert stopped.status_code == 429 and "shipyard_token" not in stopped.headers.get("set-cookie", "")
    assert int(stopped.headers["retry-after"]) >= 1
    assert "too many wrong tokens" in stopped.text
