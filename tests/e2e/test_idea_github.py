"""An idea run (seed 002) on the `github` forge end to end: the real engine, real git over HTTP
with a token, a fake GitHub API over real HTTP whose branches and merges are that git's, the
replay agent as in test_idea_runs. Every issue of the tree is a GitHub issue (children as
sub-issues, in order; type and status as labels), made once, though the run failed on its last
task and was retried from it."""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
import yaml
from pydantic import SecretStr
from test_idea_runs import IDEA, PLAN, SPEC, wait_run

from fakes.github_api import FakeGitHub
from forge_kit import GitHub, hosted
from shipyard.cli.server import RunningServer
from shipyard.config import Settings
from shipyard.forge.registry import forge_for
from shipyard.ideas.mirror import marker, sync_issue
from shipyard.store.records import IssueNodeRecord
from support import MakeRepo, MakeSettings

TOKEN = "ghp_canaryIDEAS0123456789abcdefABCDEF0123"
REPO = "acme/greet"


def fake_github(root: Path, source: Path) -> contextlib.AbstractContextManager[GitHub]:
    """REPO, a bare clone of `source` under `root`, on git over HTTP and the fake GitHub's API."""
    return hosted(root, source, TOKEN, REPO)


@pytest.fixture
def github(tmp_path: Path, make_repo: MakeRepo) -> Iterator[GitHub]:
    with fake_github(tmp_path / "git-http", make_repo("greet", {"README.md": "# greet\n"})) as made:
        yield made


@pytest.fixture
def go_ahead(tmp_path: Path) -> Path:
    return tmp_path / "go-ahead"


@pytest.fixture
def settings(make_settings: MakeSettings, github: GitHub, tmp_path: Path, go_ahead: Path) -> Settings:
    plan = copy.deepcopy(PLAN)
    [bye] = plan["features"][1]["tasks"]  # fails until go_ahead exists: the run is retried from it
    bye["body"] = bye["body"].replace("```replay\n", f"```replay\n- run: test -f {go_ahead}\n")
    replay = tmp_path / "replay.yaml"
    replay.write_text(
        yaml.safe_dump(
            {
                "spec": [{"write": SPEC, "content": "# Greeting helpers\n"}, {"message": "spec written"}],
                "plan": [{"message": json.dumps(plan)}],
                "review": [{"message": json.dumps({"defects": []})}],
                "notes": [{"write": "RELEASE_NOTES.md", "content": "# Notes\n"}, {"message": "Hi and bye."}],
            }
        )
    )
    return make_settings(
        github_token=SecretStr(TOKEN), github_api_url=github.fake.base_url, agent="replay", replay_file=replay
    )


def removed_labels(fake: FakeGitHub, number: int) -> list[str]:
    """The labels Shipyard took off issue `number`, in order."""
    prefix = f"/repos/{REPO}/issues/{number}/labels/"
    return [
        unquote(r.path[len(prefix) :])
        for r in fake.received
        if r.method == "DELETE" and r.path.startswith(prefix)
    ]


async def test_an_idea_on_github_is_mirrored_as_sub_issues_and_merged_through_the_api(
    api: httpx.AsyncClient, server: RunningServer, github: GitHub, settings: Settings, go_ahead: Path
) -> None:
    fake, repo, store = github.fake, github.fake.repo(REPO), server.service.store
    created = await api.post(
        "/api/ideas",
        json={"ideaText": IDEA, "repo": github.url, "options": {"forge": "github", "qaRounds": 0}},
    )
    assert created.status_code == 201, created.text
    run_id = created.json()["runId"]
    failed = await wait_run(api, run_id)
    assert failed["state"] == "FAILED" and "(Bye module)" in failed["error"], failed["error"]
    [bye] = [issue for issue in await store.list_issues(run_id) if issue.title == "Bye module"]
    go_ahead.touch()
    retried = await api.post(f"/api/runs/{run_id}/retry/{bye.id}")
    assert retried.status_code == 200, retried.text
    run_view = await wait_run(api, run_id)
    assert run_view["state"] == "DONE", run_view["error"]

    run = await store.get_run(run_view["runId"])
    issues = await store.list_issues(run.id)  # tree order
    epic, hello, hello_module, hello_tests, goodbye, bye_module = issues
    assert [i.title for i in issues] == [
        "Greeting helpers", "Hello", "Hello module", "Hello tests", "Goodbye", "Bye module"
    ]  # fmt: skip

    # One GitHub issue per node, saying what it is, the tree as sub-issues in order.
    numbers = [i.forge_issue_number for i in issues]
    assert sorted(repo.issues) == sorted(n for n in numbers if n is not None)
    by_id: dict[int, int] = {i.id: n for i, n in zip(issues, numbers, strict=True) if n is not None}
    assert repo.sub_issues == {
        by_id[epic.id]: [by_id[hello.id], by_id[goodbye.id]],
        by_id[hello.id]: [by_id[hello_module.id], by_id[hello_tests.id]],
        by_id[goodbye.id]: [by_id[bye_module.id]],
    }
    for issue in issues:
        on_github = repo.issues[by_id[issue.id]]
        assert on_github.title == issue.title
        assert on_github.body is not None and marker(run, issue) in on_github.body
        assert run.id in on_github.body
        assert sorted(on_github.labels) == ["status:DONE", f"type:{issue.type.value}"]
        assert sorted(issue.labels) == sorted(on_github.labels)  # the store's column in step
    assert "- [ ] hello.py exists" in (repo.issues[by_id[hello_module.id]].body or "")
    # The run page's node of an issue shows its conversation on GitHub as it opens.
    github.fake.add_comment(REPO, by_id[hello.id], "Looks good to me.", user="octocat")
    talk = (await api.get(f"/ideas/{run.id}/issues/{hello.id}/conversation")).text
    assert "Looks good to me." in talk and "octocat" in talk and f"issue #{by_id[hello.id]}" in talk
    # Each status label replaced the one before it as the issue moved on.
    assert removed_labels(fake, by_id[hello_module.id]) == [
        "status:NEW",
        "status:IN_PROGRESS",
        "status:REVIEW",
    ]
    assert removed_labels(fake, by_id[epic.id]) == ["status:IN_PROGRESS", "status:REVIEW"]

    # Each node's pull request targets its parent's branch, and was merged through GitHub's API.
    parents: dict[int, IssueNodeRecord] = {i.id: i for i in issues}
    for issue in issues:
        assert issue.pr_number is not None and issue.branch is not None
        pull = repo.pulls[issue.pr_number]
        base = "integration" if issue.parent_id is None else parents[issue.parent_id].branch
        assert (pull.head, pull.base, pull.draft) == (issue.branch, base, False)
        assert pull.merged_at is not None
    merges = [r.path for r in fake.received if r.method == "PUT" and r.path.endswith("/merge")]
    assert sorted(merges) == sorted(f"/repos/{REPO}/pulls/{i.pr_number}/merge" for i in issues)
    assert len(fake.pulls(REPO)) == len(issues)  # the release's commits on integration open none

    # The merges were real: integration holds every file, and the release tags its tip.
    files = github.git_out("ls-tree", "-r", "--name-only", "integration").splitlines()
    assert {"hello.py", "test_hello.py", "bye.py", SPEC, "RELEASE_NOTES.md"} <= set(files)
    [release] = fake.releases(REPO)
    assert release.tag_name == f"release/{run.id}" and release.body == "Hi and bye."
    assert github.git_out("rev-parse", f"{release.tag_name}^{{commit}}") == github.git_out(
        "rev-parse", "integration"
    )

    # Made once: syncing every issue again makes nothing and asks GitHub nothing.
    forge = forge_for("github", settings, github.url, store)
    asked = len(fake.received)
    for issue in issues:
        assert await sync_issue(forge, store, run, issue) == issue
    assert len(fake.received) == asked

    # An attempt that made the GitHub issue but died before noting its number finds it again.
    lost = await store.update_issue(bye_module.id, forge_issue_number=None)
    found = await sync_issue(forge, store, run, lost)
    assert found.forge_issue_number == by_id[bye_module.id]
    assert sorted(repo.issues) == sorted(by_id.values())
    assert not [r for r in fake.received[asked:] if r.method == "POST"]

    # One that died between opening it and attaching it to its parent attaches the one it finds.
    bye, parent = by_id[bye_module.id], by_id[goodbye.id]
    repo.sub_issues[parent].remove(bye)
    repo.issues[bye].parent = None
    lost = await store.update_issue(bye_module.id, forge_issue_number=None)
    assert (await sync_issue(forge, store, run, lost)).forge_issue_number == bye
    assert repo.sub_issues[parent] == [bye] and sorted(repo.issues) == sorted(by_id.values())
    posts = [r.path for r in fake.received[asked:] if r.method == "POST"]
    assert posts == [f"/repos/{REPO}/issues/{parent}/sub_issues"]
