"""POST /api/github/verify-repository against a fake GitHub API over real HTTP, and local paths."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from cli_kit import shipyard as shipyard_cli
from fakes.github_api import FakeGitHub, build_app
from shipyard.config import Settings
from shipyard.engine.devserver import free_port
from shipyard.forge.github import parse_repository
from support import MakeRepo, Migrated, api_only, serving

CANARY = "ghp_canaryTOKEN0123456789abcdefABCDEF01"

Verify = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
async def github() -> AsyncIterator[FakeGitHub]:
    fake = FakeGitHub(tokens={CANARY})
    fake.add_repo("acme/widgets", default_branch="trunk")
    async with serving(build_app(fake)) as url:
        fake.base_url = url
        yield fake


@pytest.fixture
def shipyard(tmp_path: Path, github: FakeGitHub, migrated: Migrated) -> Verify:
    @asynccontextmanager
    async def open_client(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        fields: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "github_api_url": github.base_url,
            "github_token": SecretStr(CANARY),
            **overrides,
        }
        async with api_only(migrated(Settings(**fields))) as client:
            yield client

    return open_client


async def verify(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    resp = await client.post("/api/github/verify-repository", json={"repository_url": url})
    assert resp.status_code == 200, resp.text
    assert CANARY not in resp.text
    body: dict[str, Any] = resp.json()
    return body


def test_repository_urls_name_owner_and_repository() -> None:
    for url in (
        "https://github.com/acme/widgets.git",
        "https://github.com/acme/widgets",
        "git@github.com:acme/widgets.git",
        "ssh://git@github.com/acme/widgets.git",
        "acme/widgets",
    ):
        ref = parse_repository(url)
        assert ref is not None and ref.full_name == "acme/widgets", url
    assert parse_repository("https://github.com/acme") is None
    assert parse_repository("not a repository") is None


async def test_an_accessible_repository_is_verified(shipyard: Verify, github: FakeGitHub) -> None:
    async with shipyard() as client:
        body = await verify(client, "https://github.com/acme/widgets.git")
    assert body["verification_success"] is True and body["error_message"] is None
    repo = body["repository"]
    assert (repo["repository_owner"], repo["repository_name"], repo["default_branch"]) == (
        "acme",
        "widgets",
        "trunk",
    )
    assert repo["is_accessible"] is True and repo["access_verified_at"]
    assert repo["repository_url"] == "https://github.com/acme/widgets.git"
    call = github.received[-1]
    assert (call.method, call.path) == ("GET", "/repos/acme/widgets")
    assert call.headers["authorization"].split()[-1] == CANARY  # sent to GitHub, and only there


async def test_missing_repository_bad_token_and_unreachable_api_are_explained(shipyard: Verify) -> None:
    async with shipyard() as client:
        missing = await verify(client, "https://github.com/acme/gadgets")
    assert missing["verification_success"] is False
    assert missing["error_message"] == "acme/gadgets was not found, or the token cannot see it (404)"
    assert missing["repository"]["is_accessible"] is False
    async with shipyard(github_token=SecretStr("ghp_wrong-" + CANARY[::-1])) as client:
        rejected = await verify(client, "acme/widgets")
    assert "401 Bad credentials" in rejected["error_message"] and "ghp_wrong" not in str(rejected)
    closed = f"http://127.0.0.1:{free_port()}"
    async with shipyard(github_api_url=closed) as client:
        unreachable = await verify(client, "acme/widgets")
    assert unreachable["error_message"].startswith(f"cannot reach the GitHub API at {closed}")


async def test_without_a_token_verification_says_how_to_get_one(
    shipyard: Verify, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no `gh` to ask for a token
    async with shipyard(github_token=None) as client:
        body = await verify(client, "acme/widgets")
    assert body["verification_success"] is False and "GITHUB_TOKEN" in body["error_message"]


async def test_local_repositories_and_bad_input(
    shipyard: Verify, make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = make_repo()
    plain = tmp_path / "plain"
    plain.mkdir()
    async with shipyard() as client:
        local = await verify(client, str(repo))
        not_git = await verify(client, str(plain))
        garbage = await client.post("/api/github/verify-repository", json={"repository_url": "not a repo!"})
        missing_field = await client.post("/api/github/verify-repository", json={})
    assert local["verification_success"] is True
    assert (local["repository"]["repository_name"], local["repository"]["default_branch"]) == ("repo", "main")
    assert not_git["verification_success"] is False and "not a git repository" in not_git["error_message"]
    assert garbage.status_code == 422 and "neither a local directory" in garbage.json()["error"]["message"]
    assert missing_field.status_code == 422


def test_cli_verifies_a_repository(make_repo: MakeRepo, tmp_path: Path) -> None:
    data = tmp_path / "cli"
    ok = shipyard_cli(data, "github", "verify-repository", str(make_repo()), GITHUB_TOKEN=None)
    assert ok.returncode == 0 and "local/repo  default branch: main" in ok.stdout, ok.stderr
    bad = shipyard_cli(data, "github", "verify-repository", "x y", GITHUB_TOKEN=None)
    assert bad.returncode == 2 and "neither a local directory" in bad.stderr and "Traceback" not in bad.stderr
