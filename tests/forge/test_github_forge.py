"""The `github` Forge's branches, merges, sub-issues, reviews and check runs, against the fake
GitHub over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from fakes.github_api import FakeGitHub
from fakes.github_git import commit_sha, review_json
from shipyard.config import Settings
from shipyard.domain.errors import Conflict, ForgeError
from shipyard.forge.base import Forge
from shipyard.forge.registry import forge_for


def bodies(github: FakeGitHub, method: str, path: str) -> list[dict[str, object]]:
    return [json.loads(c.body) for c in github.received if (c.method, c.path) == (method, path)]


async def test_a_branch_is_created_from_a_branch_or_a_commit(forge: Forge, github: FakeGitHub) -> None:
    main = commit_sha("acme/widgets")
    made = await forge.create_branch("task/1-parse", "main")
    assert (made.name, made.sha) == ("task/1-parse", main)
    again = await forge.create_branch("task/2-print", main)  # a sha is used as it is: no lookup
    assert again.sha == main
    assert github.repo("acme/widgets").refs["refs/heads/task/2-print"] == main
    assert bodies(github, "POST", "/repos/acme/widgets/git/refs") == [
        {"ref": "refs/heads/task/1-parse", "sha": main},
        {"ref": "refs/heads/task/2-print", "sha": main},
    ]
    assert [c.path for c in github.received if c.method == "GET"] == [
        "/repos/acme/widgets/git/ref/heads/main"
    ]
    with pytest.raises(Conflict, match="already exists"):
        await forge.create_branch("task/1-parse", "main")
    with pytest.raises(ForgeError, match="404"):
        await forge.create_branch("task/3", "no-such-branch")


async def test_a_pull_request_is_merged_once(forge: Forge, github: FakeGitHub) -> None:
    pull = github.add_pull("acme/widgets", "task/1-parse", "main", "Parse")
    merged = await forge.merge_pr(pull.number, "squash")
    assert merged.merged and merged.number == pull.number
    assert github.repo("acme/widgets").refs["refs/heads/main"] == merged.sha
    assert bodies(github, "PUT", f"/repos/acme/widgets/pulls/{pull.number}/merge") == [
        {"merge_method": "squash"}
    ]
    with pytest.raises(Conflict, match="405"):  # closed now: GitHub refuses a second merge
        await forge.merge_pr(pull.number)


async def test_a_sub_issue_is_opened_under_its_parent(forge: Forge, github: FakeGitHub) -> None:
    epic = github.add_issue("acme/widgets", "Epic: widgets")
    task = await forge.create_sub_issue(epic.number, "Parse widgets", "The parser.")
    assert (task.title, task.body, task.is_pull_request) == ("Parse widgets", "The parser.", False)
    assert task.number == epic.number + 1 and task.id == github.repo("acme/widgets").issues[task.number].id
    assert github.repo("acme/widgets").sub_issues == {epic.number: [task.number]}
    path = f"/repos/acme/widgets/issues/{epic.number}/sub_issues"
    assert bodies(github, "POST", path) == [{"sub_issue_id": task.id}]
    since = datetime.now(UTC) - timedelta(hours=1)
    found = await forge.find_issue("The parser.", since)  # GitHub's list names each one's parent
    assert found is not None and (found.number, found.parent_number) == (task.number, epic.number)
    loose = await forge.create_issue("Print widgets", "The printer.")
    assert loose.parent_number is None
    await forge.add_sub_issue(epic.number, loose)
    assert github.repo("acme/widgets").sub_issues == {epic.number: [task.number, loose.number]}
    with pytest.raises(ForgeError, match="404"):
        await forge.create_sub_issue(999, "Orphan", "")


async def test_reviews_are_listed_and_missing_fields_are_tolerated(forge: Forge, github: FakeGitHub) -> None:
    pull = github.add_pull("acme/widgets", "task/1-parse", "main", "Parse")
    repo = github.repo("acme/widgets")
    approved = review_json(repo.json, pull, 71, "octocat", "APPROVED", "Ship it")
    sparse = review_json(repo.json, pull, 72, "hubot", "COMMENTED", "")
    for field in ("body", "submitted_at", "html_url", "_links"):  # as a pending or odd review may come
        sparse.pop(field)
    repo.reviews[pull.number] = [approved, sparse]
    reviews = await forge.list_reviews(pull.number)
    assert [(r.id, r.author, r.state, r.body) for r in reviews] == [
        (71, "octocat", "APPROVED", "Ship it"),
        (72, "hubot", "COMMENTED", ""),
    ]
    assert reviews[0].submitted_at is not None and reviews[1].submitted_at is None
    assert await forge.list_reviews(github.add_pull("acme/widgets", "b", "main", "B").number) == []


async def test_check_runs_are_read_on_a_branchs_head_commit_the_newest_of_each_name(
    forge: Forge, github: FakeGitHub
) -> None:
    main, other = commit_sha("acme/widgets"), "f" * 40
    failed = github.add_check_run("acme/widgets", main, "ci/test", "failure", "2 tests failed", "Tests")
    github.add_check_run("acme/widgets", main, "lint")  # still running
    github.add_check_run("acme/widgets", other, "ci/test", "success")  # another commit's
    for n in range(100):  # a second page
        github.add_check_run("acme/widgets", main, f"shard-{n}", "success")
    runs = {run.name: run for run in await forge.list_check_runs("main")}
    assert len(runs) == 102
    assert runs["ci/test"].model_dump() == {
        "name": "ci/test", "head_sha": main, "status": "completed", "conclusion": "failure",
        "url": f"https://github.com/acme/widgets/runs/{failed.id}", "summary": "Tests\n\n2 tests failed",
    }  # fmt: skip
    assert (runs["lint"].status, runs["lint"].conclusion) == ("in_progress", None)
    listed = [c for c in github.received if c.path == f"/repos/acme/widgets/commits/{main}/check-runs"]
    assert len(listed) == 2  # the branch was read as its commit, then two pages
    assert github.received[0].path == "/repos/acme/widgets/git/ref/heads/main"

    # Another workflow's run of the same name, newer: the later counts. Fields GitHub may leave out
    # (or send null) are tolerated.
    github.add_check_run("acme/widgets", main, "ci/test", "success", suite_id=2)
    github.left_out = {"output", "html_url", "details_url"}
    [again] = [run for run in await forge.list_check_runs(main) if run.name == "ci/test"]
    assert (again.conclusion, again.url, again.summary) == ("success", "", "")
    with pytest.raises(ForgeError, match="404"):
        await forge.list_check_runs("no-such-branch")


async def test_the_forge_protocol_is_met_by_both_adapters(settings: Settings) -> None:
    forges: list[Forge] = [
        forge_for(name, settings, "https://github.com/acme/widgets") for name in ("github", "local")
    ]
    assert [(f.name, f.hosted) for f in forges] == [("github", True), ("local", False)]
    assert await forges[1].git_token(required=True) is None
    assert await forges[1].list_check_runs("main") == []  # no CI reports to the local forge


def test_naming_a_forge_loads_no_githubkit() -> None:
    code = (
        "import shipyard.forge.registry, shipyard.engine.activities, sys; print('githubkit' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
