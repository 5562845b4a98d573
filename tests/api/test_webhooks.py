"""POST /api/webhooks/github over real HTTP: signatures, dedupe, size limit, any payload stored."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from pydantic import SecretStr

from shipyard.cli.server import running_server
from shipyard.config import Settings
from shipyard.triggers.github import sign
from support import Migrated, api_only

SECRET = "webhook-canary-7f3a"
TOKEN = "api-token-canary-91c2"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LIMIT = 64 * 1024


@pytest.fixture
async def hook(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A server (its worker processes deliveries) with a webhook secret and an API token; the
    client sends no token by default."""
    secured = settings.model_copy(
        update={
            "github_webhook_secret": SecretStr(SECRET),
            "api_token": SecretStr(TOKEN),
            "webhook_max_bytes": LIMIT,
        }
    )
    async with (
        running_server(secured, persistent=False, port=0, announce=False) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=30) as client,
    ):
        yield client


def headers(body: bytes, event: str = "push", delivery: str | None = None, **extra: str) -> dict[str, str]:
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "4242",
        "X-Hub-Signature-256": sign(SECRET, body),
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/abc123",
        **extra,
    }


PUSH = {
    "ref": "refs/heads/main",
    "before": "a" * 40,
    "after": "b" * 40,
    "repository": {"full_name": "acme/widgets", "default_branch": "main"},
    "sender": {"login": "octocat", "type": "User"},
}


async def deliveries(hook: httpx.AsyncClient) -> list[dict[str, Any]]:
    resp = await hook.get("/api/webhooks/deliveries", headers=AUTH)
    assert resp.status_code == 200, resp.text
    found: list[dict[str, Any]] = resp.json()["deliveries"]
    return found


async def processed(hook: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    async with asyncio.timeout(30):
        while True:
            found = await deliveries(hook)
            if len(found) >= count and all(d["status"] not in ("received", "processing") for d in found):
                return found
            await asyncio.sleep(0.05)


def test_signature_matches_githubs_documented_test_vector() -> None:
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign("It's a Secret to Everybody", b"Hello, World!") == expected


async def test_signed_delivery_is_stored_and_a_redelivery_is_a_duplicate(hook: httpx.AsyncClient) -> None:
    body = json.dumps(PUSH).encode()
    sent = headers(body, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    first = await hook.post("/api/webhooks/github", content=body, headers=sent)  # no API token: not needed
    assert first.status_code == 202, first.text
    assert first.json() == {"delivery_id": sent["X-GitHub-Delivery"], "event": "push", "accepted": True}
    again = await hook.post("/api/webhooks/github", content=body, headers=sent)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    other_hook = await hook.post(
        "/api/webhooks/github", content=body, headers={**sent, "X-GitHub-Hook-ID": "7"}
    )
    assert other_hook.status_code == 202  # the same delivery id from another hook is another delivery
    stored = await processed(hook, 2)
    assert len(stored) == 2 and not any("payload" in d for d in stored)  # a list leaves payloads out
    first = stored[-1]
    assert first["hook_id"] == "4242" and first["status"] == "ignored" and first["processed_at"]
    one = await hook.get(f"/api/webhooks/deliveries/{first['id']}", headers=AUTH)
    assert one.status_code == 200 and one.json()["delivery"] == {**first, "payload": PUSH}
    for missing, status in ((stored[0]["id"] + 100, 404), (2**63, 422)):  # 422: past the database's integers
        gone = await hook.get(f"/api/webhooks/deliveries/{missing}", headers=AUTH)
        assert gone.status_code == status and gone.json()["error"]["message"], gone.text
    assert (await hook.get(f"/api/webhooks/deliveries/{first['id']}")).status_code == 401


async def test_missing_or_wrong_signature_is_401_and_nothing_is_stored(hook: httpx.AsyncClient) -> None:
    body = json.dumps(PUSH).encode()
    for signature in (None, "sha256=" + "0" * 64, sign("another secret", body), "garbage"):
        sent = headers(body)
        if signature is None:
            del sent["X-Hub-Signature-256"]
        else:
            sent["X-Hub-Signature-256"] = signature
        resp = await hook.post("/api/webhooks/github", content=body, headers=sent)
        assert resp.status_code == 401 and resp.json()["error"]["code"] == "unauthorized"
        assert SECRET not in resp.text
    tampered = await hook.post("/api/webhooks/github", content=body + b" ", headers=headers(body))
    assert tampered.status_code == 401
    assert await deliveries(hook) == []


async def test_any_signed_json_object_is_accepted_and_random_bytes_are_not(hook: httpx.AsyncClient) -> None:
    payloads: list[tuple[str, dict[str, Any]]] = [
        ("ping", {"zen": "Design for failure.", "hook_id": 4242, "hook": {"type": "Repository"}}),
        ("issues", {"action": "labeled", "issue": {"number": 7, "title": "Bug\u0000\u202e"}, "label": {}}),
        ("some_future_event", {"action": "sparkled", "nested": [[[{"deep": None}]]], "n": 1.5e300}),
        ("star", {}),
    ]
    for event, payload in payloads:
        body = json.dumps(payload).encode()
        resp = await hook.post("/api/webhooks/github", content=body, headers=headers(body, event))
        assert resp.status_code == 202, (event, resp.text)
    for body in (os.urandom(512), b"[1, 2, 3]", b"", b'{"unterminated": '):
        resp = await hook.post("/api/webhooks/github", content=body, headers=headers(body))
        assert resp.status_code == 400, resp.text
    unsigned = await hook.post("/api/webhooks/github", content=os.urandom(64))
    assert unsigned.status_code == 401
    stored = await processed(hook, len(payloads))
    assert sorted(d["event"] for d in stored) == sorted(e for e, _ in payloads)
    assert next(d for d in stored if d["event"] == "issues")["action"] == "labeled"


async def test_form_encoded_delivery_carries_its_json_in_payload(hook: httpx.AsyncClient) -> None:
    body = urlencode({"payload": json.dumps(PUSH)}).encode()
    form = headers(body, **{"Content-Type": "application/x-www-form-urlencoded"})
    resp = await hook.post("/api/webhooks/github", content=body, headers=form)
    assert resp.status_code == 202, resp.text
    [delivery] = await processed(hook, 1)
    one = await hook.get(f"/api/webhooks/deliveries/{delivery['id']}", headers=AUTH)
    assert one.json()["delivery"]["payload"] == PUSH


async def test_a_body_over_the_limit_is_413(hook: httpx.AsyncClient) -> None:
    body = json.dumps({**PUSH, "padding": "x" * LIMIT}).encode()
    resp = await hook.post("/api/webhooks/github", content=body, headers=headers(body))
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "payload_too_large"

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: the limit still holds
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    streamed = await hook.post("/api/webhooks/github", content=chunked(), headers=headers(body))
    assert streamed.status_code == 413
    assert await deliveries(hook) == []


async def test_webhooks_are_refused_until_a_secret_is_set(tmp_path: Path, migrated: Migrated) -> None:
    body = json.dumps(PUSH).encode()
    async with api_only(migrated(Settings(data_dir=tmp_path))) as client:
        resp = await client.post("/api/webhooks/github", content=body, headers=headers(body))
    assert resp.status_code == 401
    assert "SHIPYARD_GITHUB_WEBHOOK_SECRET" in resp.json()["error"]["message"]


# Any JSON value, and objects that mix the keys GitHub's payloads carry with anything at all:
# a payload an event usually shapes one way may arrive with any field missing or of another type.
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=24,
)
_GITHUB_KEYS = [
    "action",
    "ref",
    "before",
    "after",
    "commits",
    "repository",
    "sender",
    "issue",
    "comment",
    "pull_request",
    "label",
    "labels",
    "client_payload",
    "check_run",
    "check_suite",
    "workflow_run",
    "branches",
    "sha",
    "state",
    "installation",
    "full_name",
    "body",
    "number",
]
_PAYLOADS = st.dictionaries(st.sampled_from(_GITHUB_KEYS) | st.text(max_size=12), _JSON, max_size=8)
_EVENTS = st.sampled_from(
    ["push", "issues", "issue_comment", "pull_request", "repository_dispatch", "check_run",
     "check_suite", "workflow_run", "status", "ping", "installation"]
) | st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=24)  # fmt: skip


@examples(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=_EVENTS, payload=_PAYLOADS)
async def test_every_signed_json_object_is_acknowledged_and_processed(
    hook: httpx.AsyncClient, event: str, payload: dict[str, Any]
) -> None:
    body = json.dumps(payload).encode()
    delivery = str(uuid.uuid4())
    resp = await hook.post("/api/webhooks/github", content=body, headers=headers(body, event, delivery))
    assert resp.status_code == 202, resp.text
    async with asyncio.timeout(30):
        while True:
            found = next(d for d in await deliveries(hook) if d["delivery_id"] == delivery)
            if found["status"] not in ("received", "processing"):
                break
            await asyncio.sleep(0.02)
    assert found["status"] in ("processed", "ignored"), found  # processing never trips over a shape
