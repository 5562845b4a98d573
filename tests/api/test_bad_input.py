"""Input that used to answer 5xx or store a poisoned row (issue 14, items 3, 4 and 6), over real
HTTP on loopback: lone surrogates, NUL characters, numbers beyond SQLite's INTEGER, deep nesting,
bodies and prompts over their limits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from shipyard.api.app import create_app
from shipyard.config import Settings
from shipyard.domain.models import RequestModel
from shipyard.domain.work_orders import WorkOrderCreate
from shipyard.service.work_orders import WorkOrderService
from shipyard.store.store import Store
from support import Migrated, serving

WO = "wo-badinput"
HUGE = str(2**63)  # one past SQLite's INTEGER
LIMIT = 256 * 1024
JSON = {"content-type": "application/json"}


@dataclass
class Api:
    client: httpx.AsyncClient
    store: Store
    repo: Path


@pytest.fixture
async def api(tmp_path: Path, migrated: Migrated, make_repo: Any) -> AsyncIterator[Api]:
    settings = migrated(Settings(data_dir=tmp_path / "data", agent="shell", max_body_bytes=LIMIT))
    store = await Store.open(settings.resolved_database_url)
    await store.create_work_order(
        WorkOrderCreate(
            id=WO, repository_url="/tmp/r", workflow_type="w", sandbox_type="git_worktree", agent="shell"
        )
    )
    try:
        app = create_app(WorkOrderService(settings, store, None))
        async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            yield Api(client, store, make_repo())
    finally:
        await store.close()


def json_routes(bad: str) -> list[tuple[str, str, dict[str, Any]]]:
    """A request to every route that takes a JSON body, with `bad` in one of its strings."""
    base = f"/api/agent-work-orders/{WO}"
    return [
        ("POST", "/api/agent-work-orders", {"repository_url": "/tmp/r", "inputs": {"prompt": bad}}),
        ("POST", "/api/agent-work-orders", {"repository_url": bad, "workflow_type": "x"}),
        ("POST", "/api/projects", {"name": "p", "repository_url": bad}),
        ("POST", f"{base}/interrupt", {"action": "cancel", "reason": bad}),
        ("POST", f"{base}/retry", {"step_id": bad}),
        ("POST", f"{base}/prompt", {"prompt_text": bad}),
        ("POST", f"{base}/approve", {"response": bad}),
        ("POST", f"{base}/report", {"type": "progress", "data": {bad: 1}}),
        ("POST", "/api/github/verify-repository", {"repository_url": bad}),
        (
            "POST",
            "/api/github/dispatch",
            {"repository": "a/b", "event_type": "e", "client_payload": {"x": bad}},
        ),
    ]


def raw(body: dict[str, Any]) -> bytes:
    """JSON as a client may send it: `\\ud800` escapes are valid JSON syntax."""
    return json.dumps(body).encode()


@pytest.mark.parametrize("bad", ["\ud800", "a\udfffb", "nul\x00byte"], ids=["surrogate", "low", "nul"])
async def test_lone_surrogates_and_nul_are_refused_on_every_json_route(api: Api, bad: str) -> None:
    for method, path, body in json_routes(bad):
        resp = await api.client.request(method, path, content=raw(body), headers=JSON)
        assert resp.status_code == 422, (path, resp.text)
        assert resp.json()["error"]["code"] == "invalid_request"
        assert ("surrogate" if "\x00" not in bad else "NUL") in resp.json()["error"]["message"]
    listed = await api.client.get("/api/agent-work-orders")
    assert listed.status_code == 200 and listed.json()["total_count"] == 1  # nothing was stored


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # FastAPI includes routers lazily
            yield from api_routes(route.original_router.routes)


def test_every_json_body_the_api_takes_is_checked(settings: Settings) -> None:
    app = create_app(WorkOrderService(settings, None, None))  # type: ignore[arg-type]
    bodies = [
        (route.path, param.field_info.annotation)
        for route in api_routes(app.routes)
        for param in route.dependant.body_params
    ]
    assert len(bodies) >= 10
    for path, annotation in bodies:
        models = [a for a in getattr(annotation, "__args__", (annotation,)) if a is not type(None)]
        assert all(issubclass(m, RequestModel) for m in models), (path, annotation)


async def test_numbers_past_sqlite_integer_are_refused(api: Api) -> None:
    for path, params in [
        ("/api/agent-work-orders", {"offset": HUGE}),
        (f"/api/agent-work-orders/{WO}/logs", {"offset": HUGE}),
        (f"/api/pull-requests/{HUGE}", {}),
        (f"/api/pull-requests/{2**31}", {}),  # PostgreSQL's INTEGER
        (f"/api/agent-work-orders/{WO}/events", {"after": HUGE}),
        ("/api/events", {"after": HUGE}),
    ]:
        resp = await api.client.get(path, params=params)
        assert resp.status_code == 422, (path, resp.text)
        assert resp.json()["error"]["code"] == "invalid_request"
    resp = await api.client.get(f"/api/agent-work-orders/{WO}/events", headers={"Last-Event-ID": HUGE})
    assert resp.status_code == 422 and "Last-Event-ID" in resp.json()["error"]["message"]


async def test_a_project_under_an_unknown_users_home_is_refused_with_the_name(api: Api) -> None:
    # `~name` expands to that user's home; with no such user, pathlib raised and the create gave a 500.
    # (The create's own case is in tests/e2e/test_refused_at_creation.py: it needs an engine.)
    body = {"name": "p", "repository_url": "~no-such-user-here/app"}
    resp = await api.client.post("/api/projects", json=body)
    assert resp.status_code == 422, resp.text
    assert "no home directory is known for '~no-such-user-here'" in resp.json()["error"]["message"]
    assert (await api.client.get("/api/projects")).json()["projects"] == []


async def test_a_repository_path_no_file_system_holds_is_not_found_not_a_500(api: Api) -> None:
    # A name over 255 bytes: `Path.exists` raised ENAMETOOLONG (the OpenAPI fuzz found it).
    long = "/tmp/" + "x" * 300
    for path, body in (
        ("/api/github/verify-repository", {"repository_url": long}),
        ("/api/projects", {"name": "p", "repository_url": long}),
    ):
        resp = await api.client.post(path, json=body)
        assert resp.status_code == 422, (path, resp.text)
        assert long in resp.json()["error"]["message"]


async def test_a_nul_in_a_list_filter_is_refused(api: Api) -> None:
    # PostgreSQL cannot take a NUL in a query's text: the list answered 500 there (the dashboard's
    # list too: tests/web/test_pages.py).
    for name in ("q", "repository"):
        resp = await api.client.get("/api/agent-work-orders", params={name: "a\x00b"})
        assert resp.status_code == 422, (name, resp.text)
        assert resp.json()["error"]["message"] == f"{name} contains a NUL character"


async def test_numbers_nesting_and_lengths_are_bounded_with_their_names(api: Api) -> None:
    cases = [
        ({"inputs": {"prompt": "x" * 100_001}}, "inputs.prompt is longer than 100000 characters"),
        ({"initial_prompt": "x" * 100_001}, "initial_prompt is longer than 100000 characters"),
        ({"inputs": {"deep": json.loads("[" * 40 + "]" * 40)}}, "nested deeper than 32 levels"),
        ({"budget": {"max_cost_usd": float("inf")}}, "budget.max_cost_usd is not a finite number"),
        ({"inputs": {"n": 2**64}}, "inputs.n is beyond a 64-bit integer"),
    ]
    for extra, message in cases:
        body = {"repository_url": str(api.repo), "workflow_type": "agent_workflow_build", **extra}
        resp = await api.client.post("/api/agent-work-orders", content=raw(body), headers=JSON)
        assert resp.status_code == 422, (message, resp.text)
        assert message in resp.json()["error"]["message"]
    prompt = await api.client.post(f"/api/agent-work-orders/{WO}/prompt", json={"prompt_text": "y" * 100_001})
    assert "prompt_text is longer than 100000 characters" in prompt.json()["error"]["message"]


async def test_json_bodies_over_the_limit_are_413_declared_or_streamed(api: Api) -> None:
    body = raw({"repository_url": "/tmp/r", "inputs": {f"k{n}": "v" * 1000 for n in range(300)}})
    declared = await api.client.post("/api/agent-work-orders", content=body, headers=JSON)
    assert declared.status_code == 413
    assert declared.json()["error"] == {
        "code": "payload_too_large",
        "message": f"the request body is over {LIMIT} bytes (SHIPYARD_MAX_BODY_BYTES)",
    }

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the server counts
        for n in range(0, len(body), 8192):
            yield body[n : n + 8192]

    streamed = await api.client.post("/api/projects", content=chunks(), headers=JSON)
    assert streamed.status_code == 413 and streamed.json()["error"]["code"] == "payload_too_large"
    small = await api.client.post("/api/agent-work-orders", json={"repository_url": str(api.repo)})
    assert small.status_code == 409  # under the limit: on to the service (no engine here)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_KEYS = st.sampled_from(
    ["repository_url", "workflow_type", "inputs", "budget", "sandbox_type", "agent",
     "initial_prompt", "github_issue_number", "base_branch", "forge", "project"]
)  # fmt: skip


@examples(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(_KEYS | st.text(max_size=8), _JSON, max_size=6) | _JSON)
async def test_no_json_body_to_create_gives_a_5xx(api: Api, body: Any) -> None:
    content = json.dumps(body).encode()
    resp = await api.client.post("/api/agent-work-orders", content=content, headers=JSON)
    assert resp.status_code < 500, resp.text
    assert "error" in resp.json()
