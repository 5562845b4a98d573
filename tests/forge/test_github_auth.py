"""github_token against the fake GitHub API acting as a GitHub App's server, over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import jwt
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.routing import Mount

from fakes.github_api import FakeGitHub, build_app
from forge_kit import new_app_key
from shipyard.config import Settings
from shipyard.domain.errors import ForgeError
from shipyard.engine.sink import redactor_for
from shipyard.forge.github import GitHubClient, RepoRef
from shipyard.forge.github_auth import _apps, github_token
from support import serving

APP_ID = 424242
INSTALLATION_ID = 11
PAT = "ghp_personalTOKEN0123456789abcdefABCDEF01"
WIDGETS, GADGETS, TOOLS = RepoRef("acme", "widgets"), RepoRef("acme", "gadgets"), RepoRef("other", "tools")


@pytest.fixture(scope="module")
def app_key() -> tuple[str, str]:
    return new_app_key()


@pytest.fixture
async def github(app_key: tuple[str, str]) -> AsyncIterator[FakeGitHub]:
    fake = FakeGitHub(tokens={PAT}, app_id=APP_ID, app_public_key=app_key[1])
    for full_name in ("acme/widgets", "acme/gadgets", "other/tools", "acme/lonely"):
        fake.add_repo(full_name)
        fake.add_issue(full_name, f"An issue of {full_name}")
    fake.install_app("acme/widgets", INSTALLATION_ID)
    fake.install_app("acme/gadgets", INSTALLATION_ID)  # one installation covers both
    fake.install_app("other/tools", 22)
    async with serving(build_app(fake)) as url:
        fake.base_url = url
        yield fake
    # The process caches App tokens by API URL, and a later test's fake may get this one's port.
    _apps().clear()


def app_settings(settings: Settings, github: FakeGitHub, private_pem: str, **update: object) -> Settings:
    """Settings for the App on the fake, with `update` on top."""
    values: dict[str, object] = {
        "github_api_url": github.base_url,
        "github_token": None,
        "github_app_id": str(APP_ID),
        "github_app_private_key": SecretStr(private_pem),
        "github_app_installation_id": INSTALLATION_ID,
    }
    return settings.model_copy(update=values | update)


@pytest.fixture
def with_app(settings: Settings, github: FakeGitHub, app_key: tuple[str, str]) -> Settings:
    return app_settings(settings, github, app_key[0])


async def app_token(settings: Settings, repo: RepoRef | None = None) -> SecretStr:
    token = await github_token(settings, repo)
    assert token is not None
    return token


def authorization(github: FakeGitHub, method: str, path: str) -> list[str]:
    """The Authorization headers of the requests the fake received for `method path`."""
    return [c.headers["authorization"] for c in github.received if (c.method, c.path) == (method, path)]


async def test_an_app_token_is_fetched_and_then_used(with_app: Settings, github: FakeGitHub) -> None:
    before = time.time()
    token = await app_token(with_app)
    assert token.get_secret_value().startswith("ghs_")
    issue = await GitHubClient(with_app, token).get_issue(WIDGETS, 1)
    assert issue.title == "An issue of acme/widgets"
    assert authorization(github, "GET", "/repos/acme/widgets/issues/1") == [
        f"token {token.get_secret_value()}"
    ]
    assert github.installation_lookups == []  # the installation id is configured

    [bearer] = authorization(github, "POST", f"/app/installations/{INSTALLATION_ID}/access_tokens")
    claims = jwt.decode(bearer.removeprefix("Bearer "), options={"verify_signature": False})
    assert claims["iss"] == str(APP_ID)
    assert before - 62 <= claims["iat"] <= time.time() - 58  # a minute back, for clock drift
    assert claims["exp"] - claims["iat"] <= 600 and claims["exp"] > time.time()


async def test_a_token_is_cached_for_sequential_and_concurrent_calls(
    with_app: Settings, github: FakeGitHub
) -> None:
    tokens = await asyncio.gather(*(app_token(with_app) for _ in range(10)))
    tokens += [await app_token(with_app) for _ in range(3)]
    tokens.append(await app_token(with_app, GADGETS))  # the configured installation, whatever the repository
    assert len({t.get_secret_value() for t in tokens}) == 1
    assert github.token_requests == [INSTALLATION_ID]


async def test_a_token_within_five_minutes_of_expiry_is_replaced(
    with_app: Settings, github: FakeGitHub
) -> None:
    github.token_ttl_s = 240
    first, second = await app_token(with_app), await app_token(with_app)
    assert first != second and github.token_requests == [INSTALLATION_ID] * 2

    github.token_ttl_s = 360
    third = await app_token(with_app)
    assert third not in (first, second) and await app_token(with_app) == third
    assert len(github.token_requests) == 3

    github.token_expiry[third.get_secret_value()] = github.token_expiry[third.get_secret_value()].replace(
        year=2000
    )
    with pytest.raises(ForgeError, match=r"rejected the token \(401"):  # the fake refuses expired tokens
        await GitHubClient(with_app, third).get_issue(WIDGETS, 1)


async def test_the_installation_is_looked_up_per_repository(
    settings: Settings, github: FakeGitHub, app_key: tuple[str, str], tmp_path: Path
) -> None:
    key_file = tmp_path / "app.pem"
    key_file.write_text(app_key[0])
    looked_up = app_settings(
        settings,
        github,
        "",
        github_app_private_key=None,
        github_app_private_key_path=key_file,
        github_app_installation_id=None,
    )
    assert await github_token(looked_up) is None  # neither an installation id nor a repository

    widgets = await asyncio.gather(*(app_token(looked_up, WIDGETS) for _ in range(5)))
    gadgets = await app_token(looked_up, GADGETS)
    tools = await app_token(looked_up, TOOLS)
    assert {t.get_secret_value() for t in widgets} == {gadgets.get_secret_value()}
    assert tools != gadgets
    assert await app_token(looked_up, WIDGETS) == gadgets
    assert github.installation_lookups == ["acme/widgets", "acme/gadgets", "other/tools"]
    assert github.token_requests == [INSTALLATION_ID, 22]
    assert (await GitHubClient(looked_up, tools).get_issue(TOOLS, 1)).title == "An issue of other/tools"


async def test_an_app_not_installed_is_named(with_app: Settings, github: FakeGitHub) -> None:
    per_repo = with_app.model_copy(update={"github_app_installation_id": None})
    with pytest.raises(ForgeError) as caught:
        await github_token(per_repo, RepoRef("acme", "lonely"))
    assert caught.value.message == "the GitHub App is not installed on acme/lonely (404)"

    unknown = with_app.model_copy(update={"github_app_installation_id": 99})
    with pytest.raises(ForgeError) as caught:
        await github_token(unknown)
    assert caught.value.message == (
        "GitHub App installation 99 was not found (404): check SHIPYARD_GITHUB_APP_INSTALLATION_ID"
    )


async def test_the_personal_token_is_used_without_an_app(settings: Settings, github: FakeGitHub) -> None:
    personal = settings.model_copy(update={"github_api_url": github.base_url, "github_token": SecretStr(PAT)})
    assert await github_token(personal, WIDGETS) == SecretStr(PAT)
    no_key = personal.model_copy(update={"github_app_id": str(APP_ID)})  # an id without a key is no App
    assert await github_token(no_key, WIDGETS) == SecretStr(PAT)
    assert github.received == []


async def test_a_wrong_key_fails_without_showing_the_key_or_the_jwt(
    settings: Settings, github: FakeGitHub, tmp_path: Path
) -> None:
    other_pem = new_app_key()[0]
    with pytest.raises(ForgeError) as caught:
        await github_token(app_settings(settings, github, other_pem))
    assert "GitHub rejected the GitHub App's JWT (401)" in caught.value.message
    [bearer] = authorization(github, "POST", f"/app/installations/{INSTALLATION_ID}/access_tokens")
    assert_no_secret(caught.value, other_pem, bearer.removeprefix("Bearer "))

    garbage = (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEnotAkeyAtAll0123456789abcdef\n-----END RSA PRIVATE KEY-----\n"
    )
    with pytest.raises(ForgeError, match="not an unencrypted RSA private key in PEM") as caught:
        await github_token(app_settings(settings, github, garbage))
    assert_no_secret(caught.value, garbage)

    missing = app_settings(
        settings, github, "", github_app_private_key=None, github_app_private_key_path=tmp_path / "nope.pem"
    )
    with pytest.raises(ForgeError, match=r"cannot read the GitHub App private key file .*nope\.pem"):
        await github_token(missing)
    assert len(github.received) == 1  # only the well-formed key was tried, and GitHub refused its JWT
    assert github.token_requests == []


def assert_no_secret(err: ForgeError, *secrets: str) -> None:
    """Neither the message nor the exception chain carries any line of the secrets."""
    text = f"{err.message} {err!r} {err.__cause__!r}"
    for secret in secrets:
        for line in secret.splitlines():
            if line and "-----" not in line:
                assert line not in text


async def test_a_key_pasted_on_one_line_works(
    settings: Settings, github: FakeGitHub, app_key: tuple[str, str]
) -> None:
    escaped = app_key[0].strip().replace("\n", "\\n")
    token = await app_token(app_settings(settings, github, escaped))
    assert token.get_secret_value().startswith("ghs_")


async def test_the_app_routes_work_under_github_enterprise_api_v3(
    settings: Settings, app_key: tuple[str, str]
) -> None:
    fake = FakeGitHub(tokens=set(), app_id=APP_ID, app_public_key=app_key[1])
    fake.add_repo("acme/widgets")
    fake.add_issue("acme/widgets", "Hello")
    fake.install_app("acme/widgets", 7)
    async with serving(Starlette(routes=[Mount("/api/v3", app=build_app(fake))])) as url:
        fake.base_url = f"{url}/api/v3"
        per_repo = app_settings(settings, fake, app_key[0], github_app_installation_id=None)
        token = await app_token(per_repo, WIDGETS)
        assert (await GitHubClient(per_repo, token).get_issue(WIDGETS, 1)).title == "Hello"
    assert [c.path for c in fake.received] == [
        "/api/v3/repos/acme/widgets/installation",
        "/api/v3/app/installations/7/access_tokens",
        "/api/v3/repos/acme/widgets/issues/1",
    ]


def test_the_private_key_is_redacted(settings: Settings, app_key: tuple[str, str], tmp_path: Path) -> None:
    pem = app_key[0]
    inline = redactor_for(settings.model_copy(update={"github_app_private_key": SecretStr(pem)}))
    key_file = tmp_path / "app.pem"
    key_file.write_text(pem)
    from_file = redactor_for(settings.model_copy(update={"github_app_private_key_path": key_file}))
    body_line = pem.splitlines()[3]
    for redactor in (inline, from_file):
        assert redactor.text(f"key: {pem}") == "key: ***"
        assert body_line not in redactor.text(f"part of it: {body_line}")


async def test_app_answers_without_fields_shipyard_does_not_use_are_read(
    settings: Settings, github: FakeGitHub, app_key: tuple[str, str]
) -> None:
    github.left_out = {"permissions", "repository_selection", "client_id", "type", "app_slug", "events"}
    looked_up = app_settings(settings, github, app_key[0], github_app_installation_id=None)
    token = await app_token(looked_up, WIDGETS)
    assert token.get_secret_value().startswith("ghs_") and github.installation_lookups == ["acme/widgets"]
