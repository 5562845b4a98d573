"""With an API token set, the dashboard asks for it once and keeps it in a cookie."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from shipyard.config import Settings
from support import Migrated, api_only

TOKEN = "dashboard-canary-token-4f1c"


@pytest.fixture
async def guarded(tmp_path: Path, migrated: Migrated) -> AsyncIterator[httpx.AsyncClient]:
    async with api_only(migrated(Settings(data_dir=tmp_path, api_token=SecretStr(TOKEN)))) as client:
        yield client


async def test_pages_send_a_stranger_to_sign_in_and_the_token_lets_them_in(
    guarded: httpx.AsyncClient,
) -> None:
    first = await guarded.get("/work-orders/new")
    assert first.status_code == 303 and first.headers["location"] == "/login?next=/work-orders/new"
    form = await guarded.get("/login", params={"next": "/work-orders/new"})
    assert form.status_code == 200 and 'type="password"' in form.text
    wrong = await guarded.post("/login", data={"token": "nope", "next": "/work-orders/new"})
    assert (
        wrong.status_code == 401
        and "That is not the token" in wrong.text
        and "shipyard_token" not in wrong.headers.get("set-cookie", "")
    )
    right = await guarded.post("/login", data={"token": TOKEN, "next": "/work-orders/new"})
    assert right.status_code == 303 and right.headers["location"] == "/work-orders/new"
    cookie = right.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert (await guarded.get("/work-orders/new")).status_code == 200  # the client keeps the cookie
    assert TOKEN not in (await guarded.get("/")).text


async def test_the_api_still_wants_its_bearer_token_and_forms_want_the_cookie(
    guarded: httpx.AsyncClient,
) -> None:
    assert (await guarded.get("/api/agent-work-orders")).status_code == 401
    refused = await guarded.post("/work-orders/wo-00000000/cancel")
    assert refused.status_code == 401 and "sign in" in refused.text
    bearer = await guarded.get("/", headers={"Authorization": f"Bearer {TOKEN}"})
    assert bearer.status_code == 200


async def test_signing_in_only_goes_on_to_pages_of_this_server(guarded: httpx.AsyncClient) -> None:
    for target in ("https://evil.example/", "//evil.example/x"):
        resp = await guarded.post("/login", data={"token": TOKEN, "next": target})
        assert resp.headers["location"] == "/"
