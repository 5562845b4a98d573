"""QA in an idea run: a failing test run and a required CI check that failed are filed as defects
under their task, each fixed on its own branch and merged into the task's before the task's own
pull request merges (on the fake GitHub: the check read from GitHub's API as QA starts, then heard
from a webhook); a QA tester that keeps finding defects makes the run wait for a person, and
`advance` says what blocks it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import SecretStr
from test_idea_control import started, until
from test_idea_github import REPO, TOKEN, GitHub, fake_github
from test_idea_runs import SPEC, flatten, task, wait_run

from fakes import github_payloads
from shipyard.config import Settings
from shipyard.triggers.github import sign
from support import MakeRepo, MakeSettings

# The repository's test: when hello() is wrong it fails, printing (as a test double's hint) the
# script the developer replays to fix it: the defect's text carries the test's output.
CHECK = """\
import sys
import hello
if hello.hello() != "hello":
    print("hello() must answer 'hello', not " + repr(hello.hello()))
    print("```replay")
    print("- write: hello.py")
    print("  content: \\"def hello():\\\\n    return 'hello'\\\\n\\"")
    print("- message: hello() answers hello")
    print("```")
    sys.exit(1)
"""
PLAN = {
    "features": [
        {"title": "Hello", "tasks": [task("Hello module", "hello.py", "def hello():\n    return 'helo'\n")]}
    ]
}


# What CI says of a commit without a changelog entry: its check run's summary carries (as a test
# double's hint) the script the developer replays to fix it, as the test's output does above.
CI_SAYS = """CHANGELOG.md has no entry for this change.

```replay
- write: CHANGELOG.md
  content: "- hello() answers hello\\n"
- message: changelog written
```
"""
SECRET = "webhook-secret-qa"


@pytest.fixture
def review() -> list[dict[str, Any]]:
    return [{"message": json.dumps({"defects": []})}]


@pytest.fixture
def settings(
    make_settings: MakeSettings, tmp_path: Path, review: list[dict[str, Any]], request: pytest.FixtureRequest
) -> Settings:
    replay = tmp_path / "replay.yaml"
    replay.write_text(
        yaml.safe_dump(
            {
                "spec": [{"write": SPEC, "content": "# spec\n"}, {"message": "ok"}],
                "plan": [{"message": json.dumps(PLAN)}],
                "review": review,
                "notes": [{"message": "notes"}],
            }
        )
    )
    hub: dict[str, Any] = {}
    if "github" in request.fixturenames:  # a test on the fake GitHub: its API, token and webhooks
        url = request.getfixturevalue("github").fake.base_url
        hub = {
            "github_token": SecretStr(TOKEN),
            "github_api_url": url,
            "github_webhook_secret": SecretStr(SECRET),
        }
    return make_settings(agent="replay", replay_file=replay, **hub)


@pytest.fixture
def github(tmp_path: Path, make_repo: MakeRepo) -> Iterator[GitHub]:
    source = make_repo("greet", {"check.py": CHECK, "hello.py": "def hello():\n    return ''\n"})
    with fake_github(tmp_path / "git-http", source) as hub:
        yield hub


def submit_body(repo: Path | str, **options: Any) -> dict[str, Any]:
    options = {"testCommand": "python3 check.py", **options}
    return {"ideaText": "Greeting helpers", "repo": str(repo), "options": options}


async def test_a_failing_test_run_and_a_failed_required_check_are_defects_fixed_before_the_task_merges(
    api: httpx.AsyncClient, github: GitHub
) -> None:
    fake = github.fake
    for bad, field in ((["ci/test", " "], "requiredChecks.1"), ("ci/test", "requiredChecks")):
        refused = await api.post("/api/ideas", json=submit_body(github.url, requiredChecks=bad))
        assert refused.status_code == 422 and field in refused.json()["error"]["message"], refused.text
    held = fake.hold("GET", f"/repos/{REPO}/commits/*/check-runs")
    body = submit_body(github.url, forge="github", requiredChecks=["ci/test"])
    run_id = (await api.post("/api/ideas", json=body)).json()["runId"]

    # Round 1: as its gate starts, QA asks GitHub for the checks on the task's commit. CI failed
    # there before QA was there to be told (no webhook reaches it): GitHub's answer is what counts.
    async with asyncio.timeout(60):
        await held.reached.wait()
    sha = next(r.path for r in fake.received if r.path.endswith("/check-runs")).split("/")[-2]
    failed = fake.add_check_run(REPO, sha, "ci/test", "failure", CI_SAYS, "Changelog")
    held.released.set()

    # Round 2 waits for the check on the fixed commit; CI reports it passed through a webhook.
    run = await until(api, run_id, lambda run: len(started(run, "qa")) == 2 or run["state"] == "FAILED")
    assert run["state"] != "FAILED", run["error"]
    qa = [start["work_order_id"] for start in started(run, "qa")]
    await until_logged(api, qa[1], "workflow.gate.waiting")
    branch = started(run, "qa")[1]["branch"]
    fixed = github.git_out("rev-parse", branch)
    fake.add_check_run(REPO, fixed, "ci/test", "success")
    delivered = await deliver(api, "check_run", check_run_payload(branch, fixed, "success"), "ci-2")
    assert delivered.status_code == 202, delivered.text
    run = await wait_run(api, run_id)

    assert run["state"] == "DONE", run["error"]
    page = (await api.get(f"/ideas/{run_id}")).text  # the task's node says how its required checks went
    assert 'ci-badge">CI passing</span>' in page
    states = [e["data"]["state"] for e in run["timeline"] if e["type"] == "run.state" and e["data"]]
    qa_states = ["QA", "EXECUTION_LOOP"] * 2  # the task's two rounds, the defects fixed in the loop between
    assert states == ["SPEC_WRITING", "ISSUE_TREE", "EXECUTION_LOOP", *qa_states, "MERGE", "RELEASE", "DONE"]
    [epic] = (await api.get(f"/api/runs/{run_id}/issues")).json()["issues"]
    [feature] = epic["children"]
    [hello] = feature["children"]
    tests, check = hello["children"]
    assert [(d["type"], d["status"], "qa-round-1" in d["labels"]) for d in (tests, check)] == [
        ("defect", "DONE", True)
    ] * 2
    assert [tests["title"], check["title"]] == [
        "Tests fail: python3 check.py",
        "Required check ci/test failed",
    ]
    assert check["branch"] == f"defect/{check['id']}-required-check-ci-test-failed"
    assert (
        f"concluded failure on commit {sha[:12]}: https://github.com/{REPO}/runs/{failed.id}" in check["body"]
    )
    assert "What it said:\n\nChangelog\n\nCHANGELOG.md has no entry" in check["body"]
    assert github.git_out("show", f"{hello['branch']}:CHANGELOG.md") == "- hello() answers hello"  # its fix

    # Each round's gate says how the check ended and where it heard it: GitHub's answer, a webhook.
    gates = [await step(api, wid, "ci") for wid in qa]
    assert [(g["status"], g["output_data"]["checks"][0]["conclusion"]) for g in gates] == [
        ("failed", "failure"),
        ("completed", "success"),
    ]
    heard = [[e["source"] for e in await logged(api, wid) if e["event"] == "ci.status"] for wid in qa]
    assert heard == [["forge", "check_run"], ["check_run"]]  # round 2's delivery is noted on round 1 too

    messages = [e["msg"] for e in run["timeline"]]
    filed = messages.index(f"QA round 1 of task #{hello['id']}: 2 defects")
    fixes = [
        next(i for i, m in enumerate(messages) if m.startswith(f"merged #{d['prNumber']} "))
        for d in (tests, check)
    ]
    passed = messages.index(f"QA round 2 of task #{hello['id']} found no defect")
    assert run["timeline"][passed]["data"] == {"issue_id": hello["id"], "round": 2}  # the tree's QA badge
    merged = next(i for i, m in enumerate(messages) if m.startswith(f"merged #{hello['prNumber']} "))
    # The task's pull request merged only once both defects were fixed and a round of QA passed.
    assert filed < min(fixes) and max(fixes) < passed < merged
    assert fake.repo(REPO).pulls[hello["prNumber"]].merged_at is not None
    assert all(i["status"] == "DONE" for i in flatten(epic))


async def step(api: httpx.AsyncClient, wid: str, step_id: str) -> dict[str, Any]:
    steps = (await api.get(f"/api/agent-work-orders/{wid}/steps")).json()["steps"]
    found: dict[str, Any] = next(s for s in steps if s["step_id"] == step_id)
    return found


async def logged(api: httpx.AsyncClient, wid: str) -> list[dict[str, Any]]:
    resp = await api.get(f"/api/agent-work-orders/{wid}/logs", params={"limit": 1000})
    entries: list[dict[str, Any]] = resp.json()["log_entries"]
    return entries


async def until_logged(api: httpx.AsyncClient, wid: str, event: str, timeout_s: float = 60) -> None:
    async with asyncio.timeout(timeout_s):
        while not any(e["event"] == event for e in await logged(api, wid)):
            await asyncio.sleep(0.1)


def check_run_payload(branch: str, sha: str, conclusion: str) -> dict[str, Any]:
    """A `check_run` `completed` delivery, as GitHub sends it for a CI app's run."""
    return {
        "action": "completed",
        "check_run": {"id": 9, "name": "ci/test", "status": "completed", "conclusion": conclusion,
                      "head_sha": sha, "html_url": f"https://github.com/{REPO}/runs/9",
                      "check_suite": {"id": 5, "head_branch": branch, "head_sha": sha}},
        "repository": github_payloads.repository(REPO),
        "sender": github_payloads.user("github-actions[bot]", "Bot"),
    }  # fmt: skip


async def deliver(
    api: httpx.AsyncClient, event: str, payload: dict[str, Any], delivery: str
) -> httpx.Response:
    body = json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": event, "X-GitHub-Delivery": delivery, "X-GitHub-Hook-ID": "77",
        "X-Hub-Signature-256": sign(SECRET, body), "Content-Type": "application/json",
    }  # fmt: skip
    return await api.post("/api/webhooks/github", content=body, headers=headers)


# Each round finds one more defect, whose text carries its fix's script (a ```replay block).
TERSE = {"title": "Too terse", "body": "Say more.\n\n```replay\n- message: said more\n```\n"}


@pytest.mark.parametrize("review", [[{"message": json.dumps({"defects": [TERSE]})}]])
async def test_a_qa_tester_who_keeps_finding_defects_makes_the_run_wait_for_a_person(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    repo = make_repo("greet", {"check.py": "pass\n", "hello.py": "def hello():\n    return 'hello'\n"})
    run_id = (await api.post("/api/ideas", json=submit_body(repo))).json()["runId"]
    run = await until(api, run_id, lambda run: run["interrupt"]["paused"] or run["state"] == "FAILED")
    assert run["state"] != "FAILED", run["error"]

    assert "waiting for a person" in run["interrupt"]["reason"]
    assert run["timeline"][-1]["type"] == "run.held"
    assert len(started(run, "qa")) == 2
    ci = await step(api, started(run, "qa")[0]["work_order_id"], "ci")
    assert (ci["status"], ci["output"]) == ("skipped", "no checks to wait for")  # none required
    refused = await api.post(f"/api/runs/{run_id}/advance")
    assert refused.status_code == 409
    assert "cannot advance: open defects block it: #" in refused.json()["error"]["message"]
    assert "(Too terse)" in refused.json()["error"]["message"]
    cancelled = await api.post(f"/api/runs/{run_id}/interrupt", json={"action": "cancel", "reason": "enough"})
    assert cancelled.status_code == 200
    assert (await wait_run(api, run_id))["state"] == "CANCELLED"
