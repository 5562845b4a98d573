"""The GitHub App's installation flow and `GET /api/repos`, over real HTTP: Shipyard without an
engine, the fake GitHub acting as the app's server (it checks the app's JWT with the public key)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from fakes.github_api import FakeGitHub, build_app
from forge_kit import new_app_key
from shipyard.config import Settings
from support import Migrated, api_only, serving

APP_ID = 515151
API_TOKEN = "an-api-token-of-sixteen-characters"
SIGNED_IN = {"Authorization": f"Bearer {API_TOKEN}"}
AS_JSON = {"Accept": "application/json"}
JSON_BODY = {"Content-Type": "application/json"}
CALLBACK = "/auth/github-app/callback"
OTHERS = [f"other/repo-{n:03d}" for n in range(101)]  # two pages of GitHub's 100

Open = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture(scope="module")
def app_key() -> tuple[str, str]:
    return new_app_key()


@pytest.fixture
async def github(app_key: tuple[str, str]) -> AsyncIterator[FakeGitHub]:
    fake = FakeGitHub(tokens=set(), app_id=APP_ID, app_public_key=app_key[1], app_slug="shipyard-test")
    for full_name in ("acme/widgets", "acme/gadgets", "acme/lonely"):
        fake.add_repo(full_name, default_branch="trunk" if full_name == "acme/gadgets" else "main")
    fake.install_app("acme/widgets", 11)
    fake.install_app("acme/gadgets", 11)
    for full_name in OTHERS:
        fake.add_repo(full_name, private=True)
        fake.install_app(full_name, 22)
    async with serving(build_app(fake)) as url:
        fake.base_url = url
        yield fake


@pytest.fixture
def shipyard(tmp_path: Path, github: FakeGitHub, app_key: tuple[str, str], migrated: Migrated) -> Open:
    """Shipyard with the app (or, `app=False`, without one) and an API token."""

    @asynccontextmanager
    async def open_client(app: bool = True, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        fields: dict[str, Any] = {
            "data_dir": tmp_path / "data", "github_api_url": github.base_url, "github_token": None,
            "api_token": SecretStr(API_TOKEN),
        }  # fmt: skip
        if app:
            fields |= {"github_app_id": str(APP_ID), "github_app_private_key": SecretStr(app_key[0])}
        async with api_only(migrated(Settings(**fields | overrides))) as client:
            yield client

    return open_client


async def start(client: httpx.AsyncClient) -> str:
    """Go to the installation page as a signed-in browser; the state GitHub will carry back."""
    answer = await client.get("/auth/github-app/install", headers=SIGNED_IN)
    assert answer.status_code == 303, answer.text
    [state] = parse_qs(urlsplit(answer.headers["location"]).query)["state"]
    return state


def asked(github: FakeGitHub, path: str) -> int:
    return sum(1 for r in github.received if r.path == path)


def offered(form: str) -> list[str]:
    """The repositories the project form's datalist offers."""
    datalist = re.search(r'<datalist id="reachable-repositories">(.*?)</datalist>', form, re.S)
    return re.findall(r'<option value="([^"]+)">', datalist.group(1)) if datalist else []


async def repos(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.get("/api/repos", headers=SIGNED_IN)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_install_sends_a_signed_in_browser_to_github_with_a_state_it_keeps(
    shipyard: Open, github: FakeGitHub
) -> None:
    async with shipyard() as client:
        anonymous = await client.get("/auth/github-app/install")
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login?next=")
        answer = await client.get("/auth/github-app/install", headers=SIGNED_IN)
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith("https://github.com/apps/shipyard-test/installations/new?state=")
    assert asked(github, "/app") == 1  # the slug, asked with the app's JWT (the fake checks it)
    cookie = answer.headers["set-cookie"]
    state = parse_qs(urlsplit(location).query)["state"][0]
    assert f"shipyard_github_app_state={state}" in cookie
    assert all(part in cookie.lower() for part in ("httponly", "samesite=lax", "path=/auth/github-app"))

    async with shipyard(github_app_slug="our-app", github_web_url="https://ghe.example/") as client:
        answer = await client.get("/auth/github-app/install", headers=SIGNED_IN)
    assert answer.headers["location"].startswith("https://ghe.example/apps/our-app/installations/new?state=")
    assert asked(github, "/app") == 1  # a slug configured: GitHub is not asked


async def test_the_callback_refuses_forged_installations_and_states(
    shipyard: Open, github: FakeGitHub
) -> None:
    async with shipyard() as client:
        state = await start(client)
        forged = await client.get(CALLBACK, params={"installation_id": 999, "state": state}, headers=AS_JSON)
        assert forged.status_code == 404, forged.text
        assert "installation 999 is not an installation of this app" in forged.json()["error"]["message"]
        refusals: list[tuple[dict[str, Any], str]] = [
            ({"installation_id": 11}, "carries no state"),
            ({"installation_id": 11, "state": state[:-4] + "AAAA"}, "not one this server gave"),
        ]
        for params, reason in refusals:
            answer = await client.get(CALLBACK, params=params)
            assert answer.status_code == 403 and reason in answer.text, answer.text
            assert "<html" in answer.text  # a browser reads a page
        async with httpx.AsyncClient(base_url=str(client.base_url)) as elsewhere:  # not this browser's state
            answer = await elsewhere.get(
                CALLBACK, params={"installation_id": 11, "state": state}, headers=AS_JSON
            )
        assert (
            answer.status_code == 403
            and "not the one this browser was given" in answer.json()["error"]["message"]
        )
        bad_id = await client.get(CALLBACK, params={"installation_id": "eleven", "state": state})
        assert bad_id.status_code == 422 and "installation_id" in bad_id.text
        surrogate = b'{"installation_id": 11, "state": "\\ud800"}'
        bad_text = await client.post(CALLBACK, content=surrogate, headers=AS_JSON | JSON_BODY)
        assert bad_text.status_code == 422 and "surrogate" in bad_text.json()["error"]["message"]
        assert asked(github, "/app/installations/11") == 0  # GitHub is asked only with a good state
        assert (await repos(client)) == {"repositories": [], "installations": []}  # nothing stored


async def test_installations_are_recorded_and_their_repositories_listed(
    shipyard: Open, github: FakeGitHub
) -> None:
    async with shipyard() as client:
        state = await start(client)
        # GitHub's redirect carries no Shipyard token: the state and the app's JWT are the check
        done = await client.get(
            CALLBACK, params={"installation_id": 11, "setup_action": "install", "state": state}
        )
        assert done.status_code == 303 and done.headers["location"] == "/projects/new?installed=11"
        form = (await client.get(done.headers["location"], headers=SIGNED_IN)).text
        assert "installed on <strong>acme</strong> (installation 11)" in form
        assert offered(form) == [
            "https://github.com/acme/gadgets", "https://github.com/acme/widgets",
        ]  # fmt: skip
        assert 'list="reachable-repositories"' in form and 'href="/auth/github-app/install"' in form

        state = await start(client)
        body = {"installation_id": 22, "setup_action": "install", "state": state}
        answer = await client.post(CALLBACK, json=body, headers=AS_JSON)  # an API client's callback
        assert answer.status_code == 200, answer.text
        assert answer.json()["installation"] == {
            "installationId": 22, "account": "other", "accountType": "Organization",
            "repositorySelection": "selected", "htmlUrl": "https://github.com/organizations/other/settings/installations/22",
        }  # fmt: skip
        assert (await client.get("/api/repos")).status_code == 401  # the list needs the token

        listed = await repos(client)
    names = [repo["fullName"] for repo in listed["repositories"]]
    assert names == ["acme/gadgets", "acme/widgets", *OTHERS]  # every page of installation 22's
    assert listed["repositories"][0] == {
        "fullName": "acme/gadgets", "private": False, "installationId": 11, "defaultBranch": "trunk",
        "htmlUrl": "https://github.com/acme/gadgets",
    }  # fmt: skip
    assert {r["installationId"] for r in listed["repositories"] if r["private"]} == {22}
    assert [(i["installationId"], i["error"]) for i in listed["installations"]] == [(11, None), (22, None)]


async def test_a_requested_or_vanished_installation(shipyard: Open, github: FakeGitHub) -> None:
    async with shipyard() as client:
        state = await start(client)
        requested = await client.get(CALLBACK, params={"setup_action": "request", "state": state})
        assert requested.headers["location"] == "/projects/new?install_requested=1"
        shown = await client.get(requested.headers["location"], headers=SIGNED_IN)
        assert "an owner of the account approves it" in shown.text
        assert (await repos(client))["installations"] == []  # nothing to record yet

        state = await start(client)
        await client.get(CALLBACK, params={"installation_id": 11, "state": state})
        github.installations = {k: v for k, v in github.installations.items() if v != 11}  # uninstalled
        listed = await repos(client)
        form = (await client.get("/projects/new", headers=SIGNED_IN)).text
    [gone] = listed["installations"]
    assert listed["repositories"] == [] and "installation 11 was not found (404)" in gone["error"]
    assert "GitHub App installation 11 (acme):" in form and "reaches no repository yet" in form


async def test_without_an_app_each_endpoint_names_the_settings(shipyard: Open) -> None:
    async with shipyard(app=False) as client:
        install = await client.get("/auth/github-app/install", headers=SIGNED_IN)
        callback = await client.get(CALLBACK, params={"installation_id": 11, "state": "x"}, headers=AS_JSON)
        listed = await client.get("/api/repos", headers=SIGNED_IN)
        form = await client.get("/projects/new", headers=SIGNED_IN)
    for answer in (install, callback, listed):
        assert answer.status_code == 409
        assert "SHIPYARD_GITHUB_APP_ID" in answer.text and "SHIPYARD_GITHUB_APP_PRIVATE_KEY" in answer.text
    assert "<html" in install.text and callback.json()["error"]["code"] == "conflict"
    assert form.status_code == 200 and "reachable-repositories" not in form.text
    assert "/auth/github-app/install" not in form.text
