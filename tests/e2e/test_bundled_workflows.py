"""The bundled workflows beyond seed 003 (`fix_issue`, `review_pr`, `address_review`,
`resolve_conflicts`), end to end: the real engine, real git over HTTP with a token, a fake GitHub
API over real HTTP that checks inline comments against the pull request's real diff, and the
replay agent doing what a model would (its actions per step id in a replay file)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import SecretStr

from forge_kit import GitHub, hosted
from shipyard.config import Settings
from support import MakeRepo, MakeSettings, wait_done

TOKEN = "ghp_canaryBUNDLED0123456789abcdefABCDEF012"
REPO = "acme/widgets"
APP = "".join(f"def f{n}(x):\n    return x + {n}\n\n\n" for n in range(1, 6))  # 20 lines
CHECK = "import app\nassert app.f1(1) == 2\n"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def source(make_repo: MakeRepo) -> Path:
    return make_repo("widgets", {"app.py": APP, "check.py": CHECK, "README.md": "# widgets\n"})


@pytest.fixture
def github(tmp_path: Path, source: Path) -> Iterator[GitHub]:
    with hosted(tmp_path / "git-http", source, TOKEN, REPO) as hub:
        yield hub


def replay_file(tmp_path: Path, actions: dict[str, list[dict[str, Any]]]) -> Path:
    path = tmp_path / "replay.yaml"
    path.write_text(yaml.safe_dump(actions))
    return path


@pytest.fixture
def settings(make_settings: MakeSettings, github: GitHub, tmp_path: Path) -> Settings:
    return make_settings(
        github_token=SecretStr(TOKEN), github_api_url=github.fake.base_url, agent="replay",
        replay_file=tmp_path / "replay.yaml",
    )  # fmt: skip


async def run_bundled(
    api: httpx.AsyncClient, github: GitHub, body: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Create the work order and wait for it to end; it and its step rows."""
    body = {"repository_url": github.url, "forge": "github", **body}
    resp = await api.post("/api/agent-work-orders", json=body)
    assert resp.status_code == 201, resp.text
    wid = resp.json()["agent_work_order"]["agent_work_order_id"]
    wo = await wait_done(api, wid, timeout_s=180)
    return wo, (await api.get(f"/api/agent-work-orders/{wid}/steps")).json()["steps"]


def feature_branch(source: Path, github: GitHub, changes: dict[str, str], branch: str = "feature") -> str:
    """A branch of `source` with `changes` committed, pushed to the git server; its sha."""
    git(source, "checkout", "-q", "-b", branch)
    for name, text in changes.items():
        (source / name).write_text(text)
    git(source, "commit", "-qam", f"change on {branch}")
    github.push_branch(source, branch)
    git(source, "checkout", "-q", "main")
    return github.git_out("rev-parse", branch)


async def test_fix_issue_plans_opens_a_draft_early_fixes_tests_and_marks_it_ready(
    api: httpx.AsyncClient, github: GitHub, tmp_path: Path
) -> None:
    issue = github.fake.add_issue(REPO, "f1 adds the wrong amount", "f1(1) should be 2 but is 3.")
    fixed_once = APP.replace("return x + 1\n", "return x + 50\n", 1)  # a wrong fix: the check fails
    replay_file(tmp_path, {
        "plan": [{"write": "specs/plan.md", "content": "f1 adds 2; make it add 1\n"}, {"message": "planned"}],
        "implement": [{"write": "app.py", "content": fixed_once}, {"message": "fixed"}],
        "test": [{"message": "ran python3 check.py"}],
        "repair#1": [{"write": "app.py", "content": APP}, {"message": "f1 adds 1 now"}],
    })  # fmt: skip
    wo, steps = await run_bundled(
        api, github,
        {"workflow_type": "fix_issue", "github_issue_number": str(issue.number),
         "inputs": {"test_command": "python3 check.py"}, "base_branch": "main"},
    )  # fmt: skip
    assert wo["status"] == "completed", wo["error_message"]
    assert "f1 adds the wrong amount" in wo["inputs"]["issue"]
    [pull] = github.fake.pulls(REPO)
    assert pull.head == wo["git_branch_name"] and pull.base == "main"
    assert not pull.draft  # marked ready at the end …
    opened = [r for r in github.fake.received if r.method == "POST" and r.path.endswith("/pulls")]
    assert len(opened) == 1 and yaml.safe_load(opened[0].body)["draft"] is True  # … opened as a draft
    assert f"Closes #{issue.number}" in (pull.body or "")
    rows = {row["step_id"]: row for row in steps}
    assert rows["check#1"]["status"] == "failed" and rows["check#2"]["status"] == "completed"
    assert rows["repair#1"]["status"] == "completed" and rows["repair#2"]["status"] == "skipped"
    tip = github.git_out("rev-parse", wo["git_branch_name"])
    assert github.git_out("show", f"{tip}:app.py") == APP.strip()
    log = github.git_out("log", "--format=%s", f"main..{wo['git_branch_name']}").splitlines()
    assert [line.split(":")[0] for line in reversed(log)] == ["plan", "fix", "test"]


async def test_review_pr_posts_a_review_with_inline_comments_on_the_diffs_lines(
    api: httpx.AsyncClient, github: GitHub, source: Path, tmp_path: Path
) -> None:
    changed = APP.replace("return x + 2\n", "return x * 2\n")  # line 5 of app.py
    head = feature_branch(source, github, {"app.py": changed})
    pull = github.fake.add_pull(REPO, "feature", "main", "Double in f2", "f2 doubles now.", user="octocat")
    answer = {
        "summary": "One question about f2.",
        "event": "REQUEST_CHANGES",
        "comments": [{"path": "app.py", "line": 5, "body": "Is doubling meant? The name says add."}],
    }
    replay_file(
        tmp_path,
        {"read": [{"run": "git diff --stat origin/main...HEAD"}, {"message": json.dumps(answer)}]},
    )

    wo, _ = await run_bundled(
        api,
        github,
        {"workflow_type": "review_pr", "github_pull_request_number": pull.number},
    )

    assert wo["status"] == "completed", wo["error_message"]
    assert wo["git_branch_name"] == "feature" and wo["base_branch"] == "main"
    assert "Double in f2" in wo["inputs"]["pull_request"]
    [review] = github.fake.repo(REPO).reviews[pull.number]
    assert review["state"] == "CHANGES_REQUESTED" and review["body"].startswith("One question about f2.")
    [comment] = github.fake.review_comments(REPO, pull.number)
    assert (comment.path, comment.line, comment.side) == ("app.py", 5, "RIGHT")
    assert comment.body == "Is doubling meant? The name says add."
    assert github.git_out("rev-parse", "feature") == head  # a review changes nothing on the branch


async def test_a_review_comment_off_the_diff_fails_the_step_naming_the_line(
    api: httpx.AsyncClient, github: GitHub, source: Path, tmp_path: Path
) -> None:
    feature_branch(source, github, {"app.py": APP.replace("return x + 2\n", "return x * 2\n")})
    pull = github.fake.add_pull(REPO, "feature", "main", "Double in f2")
    answer = {"summary": "s", "event": "COMMENT", "comments": [{"path": "app.py", "line": 19, "body": "far"}]}
    replay_file(tmp_path, {"read": [{"message": json.dumps(answer)}]})

    wo, _ = await run_bundled(
        api,
        github,
        {"workflow_type": "review_pr", "github_pull_request_number": pull.number},
    )

    assert wo["status"] == "failed"
    assert "step 'post' failed" in wo["error_message"] and "app.py:19" in wo["error_message"]
    assert github.fake.repo(REPO).reviews.get(pull.number, []) == []


async def test_address_review_pushes_the_fix_to_the_pull_requests_branch_and_answers_each_thread(
    api: httpx.AsyncClient, github: GitHub, source: Path, tmp_path: Path
) -> None:
    head = feature_branch(source, github, {"app.py": APP.replace("return x + 2\n", "return x * 2\n")})
    pull = github.fake.add_pull(REPO, "feature", "main", "Double in f2")
    asked = github.fake.add_review_comment(
        REPO, pull.number, "app.py", 5, "Please keep adding, not doubling."
    )
    fixed = {"replies": [{"comment_id": asked.id, "body": "Done: f2 adds 2 again."}]}
    replay_file(tmp_path, {
        "fix": [{"write": "app.py", "content": APP}, {"message": json.dumps(fixed)}],
    })  # fmt: skip

    wo, _ = await run_bundled(
        api, github,
        {"workflow_type": "address_review", "github_pull_request_number": pull.number,
         "inputs": {"test_command": "python3 check.py"}},
    )  # fmt: skip

    assert wo["status"] == "completed", wo["error_message"]
    quoted = wo["inputs"]["pull_request"]
    assert f"comment {asked.id} by octocat on app.py line 5" in quoted and "keep adding" in quoted
    tip = github.git_out("rev-parse", "feature")
    assert github.git_out("rev-parse", f"{tip}~1") == head  # one commit on top: pushed, not forced
    assert github.git_out("show", f"{tip}:app.py") == APP.strip()
    [reply] = [c for c in github.fake.review_comments(REPO, pull.number) if c.in_reply_to_id == asked.id]
    assert reply.body.startswith("Done: f2 adds 2 again.")
    assert len(github.fake.pulls(REPO)) == 1  # no second pull request


async def test_resolve_conflicts_merges_the_base_in_and_pushes_the_resolution(
    api: httpx.AsyncClient, github: GitHub, source: Path, tmp_path: Path
) -> None:
    feature_branch(source, github, {"app.py": APP.replace("return x + 1\n", "return x + 10\n", 1)})
    (source / "app.py").write_text(APP.replace("return x + 1\n", "return 1 + x\n", 1))
    git(source, "commit", "-qam", "main changes f1 too")
    github.push_branch(source, "main")
    main_tip = github.git_out("rev-parse", "main")
    pull = github.fake.add_pull(REPO, "feature", "main", "Add ten in f1")
    resolved = APP.replace("return x + 1\n", "return 1 + x  # resolved\n", 1)
    replay_file(tmp_path, {"resolve": [{"write": "app.py", "content": resolved}, {"message": "kept main's"}]})

    wo, steps = await run_bundled(
        api, github,
        {"workflow_type": "resolve_conflicts", "github_pull_request_number": pull.number,
         "inputs": {"test_command": "python3 check.py"}},
    )  # fmt: skip

    assert wo["status"] == "completed", wo["error_message"]
    rows = {row["step_id"]: row for row in steps}
    assert rows["merge"]["status"] == "failed" and "CONFLICT" in rows["merge"]["output"]
    assert rows["resolve"]["status"] == "completed"
    tip = github.git_out("rev-parse", "feature")
    parents = github.git_out("show", "-s", "--format=%P", tip).split()
    assert len(parents) == 2 and main_tip in parents  # a real merge of the base
    assert github.git_out("show", f"{tip}:app.py") == resolved.strip()


async def test_a_dry_run_on_a_pull_request_shows_its_comments_and_a_closed_one_is_refused(
    api: httpx.AsyncClient, github: GitHub, source: Path
) -> None:
    feature_branch(source, github, {"app.py": APP.replace("return x + 2\n", "return x * 2\n")})
    pull = github.fake.add_pull(REPO, "feature", "main", "Double in f2", user="octocat")
    asked = github.fake.add_review_comment(REPO, pull.number, "app.py", 5, "Why double?")
    body = {
        "repository_url": github.url, "forge": "github", "workflow_type": "address_review",
        "github_pull_request_number": pull.number,
    }  # fmt: skip

    plan = await api.post("/api/agent-work-orders", json=body | {"dry_run": True})

    assert plan.status_code == 200, plan.text
    assert plan.json()["base_branch"] == "main"
    steps = {step["id"]: step for step in plan.json()["workflow"]["steps"]}
    assert f"comment {asked.id} by octocat on app.py line 5" in steps["fix"]["text"]["rendered"]
    assert steps["answer"]["kind"] == "reply" and steps["answer"]["text"]["rendered"] == str(pull.number)

    pull.state = "closed"
    refused = await api.post("/api/agent-work-orders", json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["message"] == (
        f"pull request #{pull.number} is closed; only an open one is worked on"
    )
    missing = await api.post("/api/agent-work-orders", json=body | {"github_pull_request_number": 999})
    assert missing.status_code == 502  # GitHub's 404 may mean the token cannot see it: the forge's answer
    assert missing.json()["error"]["message"].startswith("pull request #999 of acme/widgets was not found")
    assert (await api.get("/api/agent-work-orders")).json()["total_count"] == 0
