"""GitHubClient against the fake GitHub API, over real HTTP on loopback."""

from __future__ import annotations

import json
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from githubkit.exception import RequestFailed
from githubkit.response import Response
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.routing import Mount

from fakes.github_api import FakeGitHub, build_app
from shipyard.config import Settings
from shipyard.domain.errors import ForgeError, InvalidInput
from shipyard.engine.devserver import free_port
from shipyard.forge.github import GitHubClient, GitHubFailed, RepoRef
from support import serving

TOKEN = "ghp_goodTOKEN0123456789abcdefABCDEF0123"
CANARY = "ghp_canaryTOKEN0123456789abcdefABCDEF01"
REPO = RepoRef("acme", "widgets")


@pytest.fixture
async def github() -> AsyncIterator[FakeGitHub]:
    fake = FakeGitHub(tokens={TOKEN})
    fake.add_repo("acme/widgets")
    async with serving(build_app(fake)) as url:
        fake.base_url = url
        yield fake


def client_for(settings: Settings, api_url: str, token: str = TOKEN) -> GitHubClient:
    return GitHubClient(settings.model_copy(update={"github_api_url": api_url}), SecretStr(token))


@pytest.fixture
def client(settings: Settings, github: FakeGitHub) -> GitHubClient:
    return client_for(settings, github.base_url)


def sent(github: FakeGitHub, method: str, path: str) -> list[dict[str, Any]]:
    """The JSON bodies of the requests the fake received for `method path`."""
    calls = [c for c in github.received if (c.method, c.path) == (method, path)]
    return [json.loads(c.body) if c.body else {} for c in calls]


async def test_a_pull_request_is_opened_found_and_updated(client: GitHubClient, github: FakeGitHub) -> None:
    pull = await client.create_pull(REPO, "shipyard/wo-1", "main", "Add widgets", "Body text", draft=True)
    assert (pull.number, pull.state, pull.draft, pull.head_branch, pull.base_branch) == (
        1,
        "open",
        True,
        "shipyard/wo-1",
        "main",
    )
    assert (pull.title, pull.body, pull.html_url) == (
        "Add widgets",
        "Body text",
        "https://github.com/acme/widgets/pull/1",
    )
    assert pull.node_id == github.pulls("acme/widgets")[0].node_id
    assert sent(github, "POST", "/repos/acme/widgets/pulls") == [
        {"title": "Add widgets", "head": "shipyard/wo-1", "base": "main", "body": "Body text", "draft": True}
    ]
    await client.create_pull(REPO, "other", "main", "Other", "")
    assert await client.find_open_pull(REPO, "shipyard/wo-1") == pull  # owner-qualified head: not "other"
    assert await client.find_open_pull(REPO, "missing") is None

    updated = await client.update_pull(REPO, pull.number, title="Add more widgets")
    assert (updated.title, updated.body) == ("Add more widgets", "Body text")
    updated = await client.update_pull(REPO, pull.number, body="")
    assert (updated.title, updated.body) == ("Add more widgets", "")
    assert sent(github, "PATCH", "/repos/acme/widgets/pulls/1") == [
        {"title": "Add more widgets"},
        {"body": ""},
    ]


async def test_opening_twice_returns_the_open_pull_request(client: GitHubClient, github: FakeGitHub) -> None:
    first = await client.create_pull(REPO, "feature", "main", "Feature", "one")
    second = await client.create_pull(REPO, "feature", "main", "Feature again", "two")
    assert second == first
    assert len(github.pulls("acme/widgets")) == 1
    assert [(c.method, c.path) for c in github.received[-2:]] == [
        ("POST", "/repos/acme/widgets/pulls"),  # answered 422 "A pull request already exists"
        ("GET", "/repos/acme/widgets/pulls"),
    ]
    other_base = await client.create_pull(REPO, "feature", "release", "Feature for release", "")
    assert other_base.number != first.number and len(github.pulls("acme/widgets")) == 2


async def test_a_draft_is_marked_ready_through_graphql(client: GitHubClient, github: FakeGitHub) -> None:
    pull = await client.create_pull(REPO, "feature", "main", "Feature", "", draft=True)
    await client.mark_ready(pull.node_id)
    assert github.pulls("acme/widgets")[0].draft is False
    call = github.received[-1]
    assert (call.method, call.path) == ("POST", "/graphql")
    assert json.loads(call.body)["variables"] == {"id": pull.node_id}
    assert (await client.find_open_pull(REPO, "feature")) == pull.model_copy(update={"draft": False})

    with pytest.raises(ForgeError) as caught:
        await client.mark_ready("PR_kwDOnothing")
    assert (
        "NOT_FOUND: Could not resolve to a node with the global id of 'PR_kwDOnothing'"
        in caught.value.message
    )


async def test_graphql_goes_to_api_graphql_on_github_enterprise(settings: Settings) -> None:
    fake = FakeGitHub(tokens={TOKEN})
    fake.add_repo("acme/widgets")
    app = build_app(fake)
    enterprise = Starlette(routes=[Mount("/api/v3", app=app), Mount("/api", app=app)])
    async with serving(enterprise) as url:
        client = client_for(settings, f"{url}/api/v3")
        pull = await client.create_pull(REPO, "feature", "main", "Feature", "", draft=True)
        await client.mark_ready(pull.node_id)
    assert fake.pulls("acme/widgets")[0].draft is False
    assert [c.path for c in fake.received] == ["/api/v3/repos/acme/widgets/pulls", "/api/graphql"]


async def test_issues_and_pull_requests_share_numbers(client: GitHubClient, github: FakeGitHub) -> None:
    issue = github.add_issue("acme/widgets", "Crash on start", None, ["bug", "shipyard"], user="alice")
    pull = await client.create_pull(REPO, "fix", "main", "Fix the crash", "Fixes #1")
    assert (issue.number, pull.number) == (1, 2)

    info = await client.get_issue(REPO, 1)
    assert (info.number, info.title, info.body, info.labels) == (1, "Crash on start", "", ["bug", "shipyard"])
    assert (info.state, info.author, info.is_pull_request) == ("open", "alice", False)
    assert info.html_url == "https://github.com/acme/widgets/issues/1"
    as_issue = await client.get_issue(REPO, 2)
    assert (as_issue.is_pull_request, as_issue.author, as_issue.body) == (True, github.login, "Fixes #1")

    with pytest.raises(GitHubFailed) as caught:
        await client.get_issue(REPO, 99)
    assert caught.value.status == 404
    assert caught.value.message == "issue #99 of acme/widgets was not found, or the token cannot see it (404)"


async def test_comments_are_created_and_updated(client: GitHubClient, github: FakeGitHub) -> None:
    github.add_issue("acme/widgets", "Please add widgets")
    comment = await client.create_comment(REPO, 1, "Working on it")
    assert comment.html_url == f"https://github.com/acme/widgets/issues/1#issuecomment-{comment.id}"
    updated = await client.update_comment(REPO, comment.id, "Done: see the pull request")
    assert updated == comment
    assert [c.body for c in github.comments("acme/widgets", 1)] == ["Done: see the pull request"]
    with pytest.raises(GitHubFailed) as caught:
        await client.create_comment(REPO, 7, "nowhere")
    assert caught.value.status == 404


async def test_permission_of_collaborators_and_strangers(client: GitHubClient, github: FakeGitHub) -> None:
    github.set_permission("acme/widgets", "alice", "admin")
    github.set_permission("acme/widgets", "bob", "maintain")
    github.set_permission("acme/widgets", "carol", "triage")
    assert await client.permission(REPO, "alice") == "admin"
    assert await client.permission(REPO, "bob") == "write"
    assert await client.permission(REPO, "carol") == "read"
    assert await client.permission(REPO, "mallory") == "none"


async def test_dispatch_is_sent_and_checked_first(client: GitHubClient, github: FakeGitHub) -> None:
    await client.dispatch(REPO, "shipyard-run", {"work_order_id": "wo_1", "nested": {"a": [1, 2]}})
    assert [(d.full_name, d.event_type, d.client_payload) for d in github.dispatches] == [
        ("acme/widgets", "shipyard-run", {"work_order_id": "wo_1", "nested": {"a": [1, 2]}})
    ]
    before = len(github.received)
    with pytest.raises(InvalidInput, match="11 top-level keys"):
        await client.dispatch(REPO, "shipyard-run", {f"k{i}": i for i in range(11)})
    with pytest.raises(InvalidInput, match="event_type"):
        await client.dispatch(REPO, "x" * 101, {})
    with pytest.raises(InvalidInput, match="64 KB"):
        await client.dispatch(REPO, "big", {"blob": "x" * 70_000})
    assert len(github.received) == before and len(github.dispatches) == 1


async def test_labels_are_added_and_removed(client: GitHubClient, github: FakeGitHub) -> None:
    issue = github.add_issue("acme/widgets", "Tidy", labels=["bug"])
    assert await client.add_labels(REPO, 1, ["shipyard: running", "bug"]) == ["bug", "shipyard: running"]
    await client.remove_label(REPO, 1, "shipyard: running")
    await client.remove_label(REPO, 1, "never there")  # GitHub's 404 here is fine
    assert issue.labels == ["bug"]


def _calls(client: GitHubClient) -> list[Callable[[], Awaitable[object]]]:
    return [
        lambda: client.find_open_pull(REPO, "feature"),
        lambda: client.create_pull(REPO, "feature", "main", "t", "b"),
        lambda: client.update_pull(REPO, 1, title="t"),
        lambda: client.mark_ready("PR_kwDO00000001"),
        lambda: client.get_issue(REPO, 1),
        lambda: client.create_comment(REPO, 1, "b"),
        lambda: client.update_comment(REPO, 1, "b"),
        lambda: client.permission(REPO, "alice"),
        lambda: client.dispatch(REPO, "go", {}),
        lambda: client.add_labels(REPO, 1, ["x"]),
        lambda: client.remove_label(REPO, 1, "x"),
    ]


async def test_a_rejected_token_never_appears_in_errors(settings: Settings, github: FakeGitHub) -> None:
    client = client_for(settings, github.base_url, token=CANARY)
    for call in _calls(client):
        with pytest.raises(ForgeError) as caught:
            await call()
        told = "".join(traceback.format_exception(caught.value)) + repr(caught.value)
        assert "401 Bad credentials" in caught.value.message
        assert CANARY not in told and CANARY[4:20] not in told
    assert all(c.headers["authorization"].split()[-1] == CANARY for c in github.received)


async def test_an_unreachable_api_is_a_forge_error(settings: Settings) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    client = client_for(settings, closed)
    for call in _calls(client)[:4]:
        with pytest.raises(ForgeError, match=f"cannot reach the GitHub API at {closed}"):
            await call()


def test_a_token_that_github_echoes_back_is_scrubbed(settings: Settings) -> None:
    client = client_for(settings, "https://api.github.com", token=CANARY)
    body = {"message": "Validation Failed", "errors": [{"message": f"title may not contain {CANARY}"}]}
    raw = httpx.Response(422, json=body, request=httpx.Request("POST", "https://api.github.com/x"))
    told = client.describe(RequestFailed(Response(raw, Any)), "a pull request")
    assert told == "GitHub answered 422 for a pull request (Validation Failed: title may not contain ***)"


LEFT_OUT = {
    "archived_by",
    "archived_at",
    "has_discussions",
    "type",
    "author_association",
    "_links",
    "site_admin",
}


async def test_answers_without_fields_shipyard_does_not_use_are_read(
    client: GitHubClient, github: FakeGitHub
) -> None:
    """GitHub's answers under API version 2022-11-28 lack fields githubkit's newer schema requires."""
    github.left_out = LEFT_OUT
    github.set_permission("acme/widgets", "octocat", "write")
    pull = await client.create_pull(REPO, "shipyard/wo-1", "main", "Add widgets", "Body", draft=True)
    assert (pull.number, pull.head_branch, pull.draft) == (1, "shipyard/wo-1", True)
    assert await client.find_open_pull(REPO, "shipyard/wo-1") == pull
    assert (await client.update_pull(REPO, 1, body="New")).body == "New"
    assert await client.add_labels(REPO, 1, ["shipyard"]) == ["shipyard"]
    await client.remove_label(REPO, 1, "shipyard")
    comment = await client.create_comment(REPO, 1, "Hello")
    assert (await client.update_comment(REPO, comment.id, "Bye")).id == comment.id
    assert (await client.get_issue(REPO, 1)).is_pull_request
    assert await client.permission(REPO, "octocat") == "write"
    check, why = await client.check_repository("https://github.com/acme/widgets", REPO)
    assert why is None and check.default_branch == "main"
