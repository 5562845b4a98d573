"""POST /api/github/dispatch against a fake GitHub over real HTTP: one send per dispatch id."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from fakes.github_api import FakeGitHub, build_app
from shipyard.config import Settings
from shipyard.domain.ids import new_dispatch_id
from support import Migrated, api_only, serving

TOKEN = "ghp_canaryDISPATCH0123456789abcdefABCDEF"


@pytest.fixture
async def github() -> AsyncIterator[FakeGitHub]:
    fake = FakeGitHub(tokens={TOKEN})
    fake.add_repo("acme/widgets")
    async with serving(build_app(fake)) as url:
        fake.base_url = url
        yield fake


@pytest.fixture
async def client(tmp_path: Path, github: FakeGitHub, migrated: Migrated) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(data_dir=tmp_path, github_api_url=github.base_url, github_token=SecretStr(TOKEN))
    async with api_only(migrated(settings)) as api:
        yield api


def test_dispatch_ids_are_uuid7_and_sort_by_time() -> None:
    ids = [new_dispatch_id() for _ in range(50)]
    parsed = [uuid.UUID(i) for i in ids]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in parsed)
    assert len(set(ids)) == 50
    stamps = [u.int >> 80 for u in parsed]
    assert stamps == sorted(stamps)


async def test_a_dispatch_is_sent_once_per_id(client: httpx.AsyncClient, github: FakeGitHub) -> None:
    body = {
        "repository": "acme/widgets",
        "event_type": "orchestrator.start",
        "client_payload": {"runId": "r-1"},
    }
    first = await client.post("/api/github/dispatch", json=body)
    assert first.status_code == 201, first.text
    sent = first.json()["dispatch"]
    assert re.fullmatch(r"[0-9a-f-]{36}", sent["id"]) and uuid.UUID(sent["id"]).version == 7
    assert sent["status"] == "sent" and TOKEN not in first.text
    [dispatch] = github.dispatches
    assert dispatch.client_payload == {"runId": "r-1", "dispatch_id": sent["id"]}

    again = await client.post("/api/github/dispatch", json={**body, "dispatch_id": sent["id"]})
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert len(github.dispatches) == 1
    other = await client.post("/api/github/dispatch", json=body)  # no id: a new dispatch
    assert other.status_code == 201 and len(github.dispatches) == 2


async def test_bad_dispatches_are_refused_before_anything_is_sent(
    client: httpx.AsyncClient, github: FakeGitHub
) -> None:
    eleven = {f"k{i}": i for i in range(10)}  # with dispatch_id: 11 keys, over GitHub's limit
    cases = [
        ({"repository": "acme/widgets", "event_type": "x", "client_payload": eleven}, 422, "10"),
        ({"repository": "not a repo", "event_type": "x"}, 422, "GitHub repository"),
        (
            {"repository": "acme/widgets", "event_type": "x", "work_order_id": "wo-00000000"},
            404,
            "wo-00000000",
        ),
        (
            {"repository": "acme/widgets", "event_type": "x", "dispatch_id": "no spaces allowed"},
            422,
            "dispatch_id",
        ),
        ({"repository": "acme/nothing", "event_type": "x"}, 502, "404"),
    ]
    for body, status, text in cases:
        resp = await client.post("/api/github/dispatch", json=body)
        assert resp.status_code == status, (body, resp.text)
        assert text in resp.json()["error"]["message"]
    assert github.dispatches == []
