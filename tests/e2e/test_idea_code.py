"""Seed 002's code module as a user calls it over HTTP, behind the API token: a project on a
repository on disk (the local forge), its branches and pull requests made, merged and refused
with real git; the issue hierarchy of its runs and defects filed by hand (the tree made through
the store); a code run started on it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from fakes.github_api import FakeGitHub, build_app
from shipyard.cli.server import RunningServer
from shipyard.config import Settings
from shipyard.domain.ideas import IssueStatus, IssueType
from shipyard.store.records import IdeaRunCreate, IssueNodeRecord, PlannedIssue
from support import MakeRepo, MakeSettings, git, serving

TOKEN = "code-module-token-0123456789abcdef"
GITHUB_TOKEN = "ghp_codeE2E0123456789abcdefABCDEF012345"
HUB = "acme/widgets"


@dataclass
class GitHub:
    fake: FakeGitHub
    bare: Path  # the repository's git data, which the fake's branches and merges are


@pytest.fixture
async def github(tmp_path: Path, make_repo: MakeRepo) -> AsyncIterator[GitHub]:
    bare = tmp_path / "hub.git"
    git(make_repo("hub", {"greet.txt": "hello\n"}), "clone", "-q", "--bare", ".", str(bare))
    fake = FakeGitHub(tokens={GITHUB_TOKEN}, git_dirs={HUB: bare})
    fake.add_repo(HUB)
    async with serving(build_app(fake)) as url:
        fake.base_url = url
        yield GitHub(fake, bare)


@pytest.fixture
def settings(make_settings: MakeSettings, github: GitHub) -> Settings:
    return make_settings(
        api_token=SecretStr(TOKEN), github_token=SecretStr(GITHUB_TOKEN), github_api_url=github.fake.base_url
    )


@pytest.fixture
async def user(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as client:
        yield client


async def project_on(user: httpx.AsyncClient, name: str, repo: Path | str) -> dict[str, Any]:
    made = await user.post("/api/projects", json={"name": name, "repository_url": str(repo)})
    assert made.status_code == 201, made.text
    project: dict[str, Any] = made.json()["project"]
    assert project["forge"] == ("github" if str(repo).startswith("https:") else "local")
    return project


def error(resp: httpx.Response, status: int) -> str:
    assert resp.status_code == status, resp.text
    message: str = resp.json()["error"]["message"]
    return message


def commit_on(repo: Path, branch: str, path: str, text: str) -> str:
    """A commit on `branch` writing `path`, made with git in a worktree of its own (the
    repository's own checkout stays on main); the commit's sha."""
    worktree = repo.parent / f"wt-{branch.replace('/', '-')}"
    git(repo, "worktree", "add", "-q", str(worktree), branch)
    (worktree / path).write_text(text)
    git(worktree, "add", "-A")
    git(
        worktree,
        "-c",
        "user.name=Test",
        "-c",
        "user.email=t@example.com",
        "commit",
        "-q",
        "-m",
        f"write {path}",
    )
    git(repo, "worktree", "remove", str(worktree))
    return git(repo, "rev-parse", branch).strip()


async def test_branches_are_listed_and_made_and_pull_requests_opened_and_merged(
    user: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    repo = make_repo("widgets")
    await project_on(user, "widgets", repo)
    main = git(repo, "rev-parse", "main").strip()
    base = "/api/projects/widgets"

    assert (await user.get(f"{base}/branches", headers={"Authorization": ""})).status_code == 401
    assert (await user.get(f"{base}/branches")).json() == {"branches": [{"name": "main", "sha": main}]}
    made = await user.post(f"{base}/branches", json={"branchName": "develop", "baseBranch": "main"})
    assert made.status_code == 201, made.text
    assert made.json() == {"name": "develop", "sha": main}
    taken = await user.post(f"{base}/branches", json={"branchName": "develop", "baseBranch": "main"})
    assert "branch develop already exists" in error(taken, 409)
    unknown = await user.post(f"{base}/branches", json={"branchName": "x", "baseBranch": "nope"})
    assert "baseBranch" in error(unknown, 422) and "no branch nope" in error(unknown, 422)
    bad = await user.post(f"{base}/branches", json={"branchName": "a..b", "baseBranch": "main"})
    assert "not a valid branch name" in error(bad, 422)
    assert "branchName" in error(await user.post(f"{base}/branches", json={"baseBranch": "main"}), 422)
    assert "not found" in error(await user.get("/api/projects/nothing/branches"), 404)

    await user.post(f"{base}/branches", json={"branchName": "feature/greet", "baseBranch": "develop"})
    tip = commit_on(repo, "feature/greet", "greet.txt", "hello\n")
    names = [(b["name"], b["sha"]) for b in (await user.get(f"{base}/branches")).json()["branches"]]
    assert names == [("develop", main), ("feature/greet", tip), ("main", main)]

    assert (await user.get(f"{base}/prs")).json() == {"pullRequests": []}
    body = {"branch": "feature/greet", "base": "develop", "title": "Greet", "body": "Says hello."}
    opened = await user.post(f"{base}/prs", json=body)
    assert opened.status_code == 201, opened.text
    pull = opened.json()
    number = pull["number"]
    assert pull == {
        "number": number, "title": "Greet", "body": "Says hello.", "head": "feature/greet",
        "base": "develop", "state": "open", "draft": False, "url": f"/api/pull-requests/{number}",
    }  # fmt: skip
    assert f"#{number}" in error(await user.post(f"{base}/prs", json=body), 409)
    same = body | {"branch": "develop"}
    assert "no commits between develop and develop" in error(await user.post(f"{base}/prs", json=same), 422)
    assert "title" in error(await user.post(f"{base}/prs", json=body | {"title": ""}), 422)
    assert (await user.get(f"{base}/prs/{number}")).json() == pull
    assert "not found" in error(await user.get(f"{base}/prs/9999"), 404)
    assert (await user.get(f"{base}/prs")).json() == {"pullRequests": [pull]}
    assert (await user.get(f"{base}/prs", params={"state": "closed"})).json() == {"pullRequests": []}
    assert error(await user.get(f"{base}/prs", params={"state": "shut"}), 422)

    merged = await user.post(f"{base}/prs/{number}/merge")
    assert merged.status_code == 200, merged.text
    assert merged.json() == {"number": number, "sha": git(repo, "rev-parse", "develop").strip()}
    assert git(repo, "show", "develop:greet.txt") == "hello\n"
    assert git(repo, "rev-parse", "main").strip() == main  # the checkout is left alone
    assert f"pull request #{number} is merged" in error(await user.post(f"{base}/prs/{number}/merge"), 409)
    closed = (await user.get(f"{base}/prs", params={"state": "closed"})).json()["pullRequests"]
    assert [(p["number"], p["state"]) for p in closed] == [(number, "merged")]
    assert "not found" in error(await user.post(f"{base}/prs/9999/merge"), 404)


async def test_changes_that_do_not_merge_cleanly_are_refused_naming_them(
    user: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    repo = make_repo("clash", {"greet.txt": "hello\n"})
    await project_on(user, "clash", repo)
    base = "/api/projects/clash"
    numbers = []
    for branch, text in (("develop", None), ("warm", "hello, friend\n"), ("cold", "go away\n")):
        await user.post(f"{base}/branches", json={"branchName": branch, "baseBranch": "main"})
        if text is not None:
            commit_on(repo, branch, "greet.txt", text)
            opened = await user.post(
                f"{base}/prs", json={"branch": branch, "base": "develop", "title": branch}
            )
            numbers.append(opened.json()["number"])
    warm, cold = numbers
    missing = await user.post(f"{base}/prs", json={"branch": "warm", "base": "release", "title": "Release"})
    assert "branch release does not exist" in error(missing, 422)

    assert (await user.post(f"{base}/prs/{warm}/merge", json={"method": "squash"})).status_code == 200
    refused = error(await user.post(f"{base}/prs/{cold}/merge"), 409)
    assert "cold does not merge cleanly into develop" in refused and "greet.txt" in refused
    assert git(repo, "show", "develop:greet.txt") == "hello, friend\n"
    assert (await user.get(f"{base}/prs/{cold}")).json()["state"] == "open"
    assert "method" in error(await user.post(f"{base}/prs/{cold}/merge", json={"method": "octopus"}), 422)


async def test_a_github_projects_pull_requests_are_opened_and_merged_through_github(
    user: httpx.AsyncClient, github: GitHub
) -> None:
    await project_on(user, "hub", f"https://github.com/{HUB}")
    base = "/api/projects/hub"
    main = git(github.bare, "rev-parse", "main").strip()
    assert (await user.get(f"{base}/branches")).json() == {"branches": [{"name": "main", "sha": main}]}
    numbers = []
    for branch, text in (("develop", None), ("warm", "hello, friend\n"), ("cold", "go away\n")):
        made = await user.post(f"{base}/branches", json={"branchName": branch, "baseBranch": "main"})
        assert made.json() == {"name": branch, "sha": main}
        if text is not None:
            commit_on(github.bare, branch, "greet.txt", text)
            opened = await user.post(
                f"{base}/prs", json={"branch": branch, "base": "develop", "title": branch}
            )
            assert opened.json()["url"] == f"https://github.com/{HUB}/pull/{opened.json()['number']}"
            numbers.append(opened.json()["number"])
    warm, cold = numbers
    taken = await user.post(f"{base}/branches", json={"branchName": "warm", "baseBranch": "main"})
    assert "branch warm already exists" in error(taken, 409)
    listed = (await user.get(f"{base}/prs")).json()["pullRequests"]
    assert [(p["number"], p["head"], p["base"], p["state"]) for p in listed] == [
        (cold, "cold", "develop", "open"), (warm, "warm", "develop", "open"),
    ]  # fmt: skip
    assert "was not found" in error(await user.get(f"{base}/prs/9999"), 404)

    merged = await user.post(f"{base}/prs/{warm}/merge")
    assert merged.json() == {"number": warm, "sha": git(github.bare, "rev-parse", "develop").strip()}
    assert git(github.bare, "show", "develop:greet.txt") == "hello, friend\n"
    assert f"pull request #{warm} is merged" in error(await user.post(f"{base}/prs/{warm}/merge"), 409)
    assert "not mergeable" in error(await user.post(f"{base}/prs/{cold}/merge"), 409)  # GitHub's 405
    draft = github.fake.add_pull(HUB, "cold", "main", "Cold, as a draft", draft=True)
    assert "is a draft" in error(await user.post(f"{base}/prs/{draft.number}/merge"), 409)


async def plant(server: RunningServer, project: dict[str, Any]) -> dict[str, IssueNodeRecord]:
    """A run of the project with an epic, two features and their tasks, as the planner leaves it."""
    store = server.service.store
    run = await store.create_run(
        IdeaRunCreate(
            idea_text="Widgets", repository_url=project["repository_url"], project_id=project["id"],
            forge="local", correlation_id="c-1",
        )
    )  # fmt: skip
    epic = await store.create_issue(run.id, PlannedIssue(type=IssueType.EPIC, title="Widgets"))

    def task(title: str) -> PlannedIssue:
        return PlannedIssue(type=IssueType.TASK, title=title)

    features = [
        PlannedIssue(type=IssueType.FEATURE, title="Parse", children=[task("Lex"), task("Read")]),
        PlannedIssue(type=IssueType.FEATURE, title="Print", children=[task("Format")]),
    ]
    issues = {i.title: i for i in await store.plant_tree(run.id, epic.id, features)} | {"Widgets": epic}
    issues["Lex"] = await store.update_issue(issues["Lex"].id, status=IssueStatus.DONE)
    return issues


def titles(view: dict[str, Any]) -> list[Any]:
    """The tree's titles, each issue's children in a list after it."""
    return [view["title"], [titles(child) for child in view["children"]]]


async def test_an_issues_hierarchy_is_read_and_defects_are_filed_under_it_by_hand(
    user: httpx.AsyncClient, server: RunningServer, make_repo: MakeRepo
) -> None:
    project = await project_on(user, "widgets", make_repo("widgets"))
    await project_on(user, "other", make_repo("other"))
    issues = await plant(server, project)
    epic, parse, read = (issues[t].id for t in ("Widgets", "Parse", "Read"))
    base = "/api/projects/widgets/issues"

    top = (await user.get(f"{base}/{epic}/hierarchy")).json()
    assert (top["runId"], top["ancestorIds"]) == (issues["Widgets"].run_id, [])
    assert titles(top["issue"]) == [
        "Widgets",
        [["Parse", [["Lex", []], ["Read", []]]], ["Print", [["Format", []]]]],
    ]
    leaf = (await user.get(f"{base}/{read}/hierarchy")).json()
    assert leaf["ancestorIds"] == [epic, parse]
    assert (leaf["issue"]["id"], leaf["issue"]["type"], leaf["issue"]["parentId"]) == (read, "task", parse)

    filed = await user.post(
        f"{base}/{read}/defects", json={"title": "Crashes on empty input", "body": "Try ''."}
    )
    assert filed.status_code == 201, filed.text
    defect = filed.json()
    assert (defect["type"], defect["parentId"], defect["status"], defect["orderIndex"]) == (
        "defect", read, "NEW", 0
    )  # fmt: skip
    assert (defect["title"], defect["body"], defect["labels"]) == (
        "Crashes on empty input",
        "Try ''.",
        ["filed-by-hand"],
    )
    assert titles((await user.get(f"{base}/{read}/hierarchy")).json()["issue"]) == [
        "Read", [["Crashes on empty input", []]]
    ]  # fmt: skip
    assert (await user.get(f"{base}/{defect['id']}/hierarchy")).json()["ancestorIds"] == [epic, parse, read]
    after = (await user.post(f"{base}/{parse}/defects", json={"title": "Slow"})).json()
    assert after["orderIndex"] == 2  # after Lex and Read
    timeline = (await user.get(f"/api/runs/{defect['runId']}")).json()["timeline"]
    assert f"defect #{defect['id']} filed by hand under #{read}: Crashes on empty input" in [
        e["msg"] for e in timeline
    ]

    assert "is done" in error(await user.post(f"{base}/{issues['Lex'].id}/defects", json={"title": "x"}), 422)
    assert "is a defect" in error(await user.post(f"{base}/{defect['id']}/defects", json={"title": "x"}), 422)
    assert "title" in error(await user.post(f"{base}/{read}/defects", json={"title": ""}), 422)
    elsewhere = "/api/projects/other/issues"
    assert "not in a run of project 'other'" in error(await user.get(f"{elsewhere}/{read}/hierarchy"), 404)
    assert "not in a run" in error(await user.post(f"{elsewhere}/{read}/defects", json={"title": "x"}), 404)
    assert "not found" in error(await user.get(f"{base}/99999/hierarchy"), 404)
    assert error(await user.get(f"{base}/0/hierarchy"), 422)


async def test_a_code_run_is_an_idea_run_on_the_projects_repository(
    user: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    repo = make_repo("widgets")
    project = await project_on(user, "widgets", repo)

    assert "size" in error(
        await user.post("/api/projects/widgets/code", json={"description": "x", "size": "huge"}), 422
    )
    started = await user.post(
        "/api/projects/widgets/code", json={"description": "Add a greeting", "size": "small"}
    )
    assert started.status_code == 201, started.text
    run_id = started.json()["runId"]
    run = (await user.get(f"/api/runs/{run_id}")).json()
    assert (run["ideaText"], run["repo"], run["projectId"], run["forge"]) == (
        "Add a greeting", str(repo), project["id"], "local"
    )  # fmt: skip
    assert run["options"]["size"] == "small"
    async with asyncio.timeout(60):  # the engine took it up
        while run["state"] == "IDEA_SUBMITTED":
            await asyncio.sleep(0.2)
            run = (await user.get(f"/api/runs/{run_id}")).json()
    if run["state"] not in ("DONE", "FAILED", "CANCELLED"):
        await user.post(f"/api/runs/{run_id}/interrupt", json={"action": "cancel", "reason": "test over"})
