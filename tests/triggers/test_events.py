from __future__ import annotations

from typing import Any

import pytest

from fakes.github_payloads import AFTER, BEFORE, issue, issue_comment, push, repository, user
from shipyard.triggers.events import normalise


def test_push_gives_branch_commit_range_and_changed_paths() -> None:
    event = normalise("push", "d-1", push())
    assert (event.repository, event.branch, event.sender) == ("acme/widgets", "main", "mona")
    assert (event.before, event.after) == (BEFORE, AFTER)
    assert event.commit_range == f"{BEFORE}..{AFTER}"
    assert event.changed_paths == ["README.md", "docs/new.md"]
    assert not event.deleted


def test_tag_push_has_no_branch() -> None:
    payload = push()
    payload["ref"] = "refs/tags/v1.0"
    assert normalise("push", "d", payload).branch is None


def test_labelled_issue() -> None:
    payload = {
        "action": "labeled", "issue": issue(labels=("bug", "agent")), "label": {"name": "agent"},
        "repository": repository(), "sender": user(),
    }  # fmt: skip
    event = normalise("issues", "d", payload)
    assert (event.number, event.title, event.label) == (7, "Login fails", "agent")
    assert event.labels == ["bug", "agent"]
    assert not event.is_pull_request


def test_comment_on_a_pull_request_from_a_bot() -> None:
    payload = issue_comment("/shipyard run x", login="ci[bot]", type="Bot")
    payload["issue"]["pull_request"] = {"url": "https://api.github.com/repos/acme/widgets/pulls/7"}
    event = normalise("issue_comment", "d", payload)
    assert event.is_pull_request and event.sender_is_bot
    assert (event.comment_id, event.comment) == (9001, "/shipyard run x")


def test_repository_dispatch_and_check_run() -> None:
    dispatch = {"action": "deploy", "branch": "main",
                "client_payload": {"env": "prod"}, "repository": repository(), "sender": user()}  # fmt: skip
    event = normalise("repository_dispatch", "d", dispatch)
    assert (event.dispatch_type, event.client_payload, event.branch) == ("deploy", {"env": "prod"}, "main")
    check = {"action": "completed", "repository": repository(), "sender": user(),
             "check_run": {"name": "tests", "status": "completed", "conclusion": "failure",
                           "head_sha": AFTER, "html_url": "https://github.com/acme/widgets/runs/4",
                           "pull_requests": [{"number": 12, "head": {"ref": "wo/x"}}]}}  # fmt: skip
    ci = normalise("check_run", "d", check)
    assert (ci.ci_name, ci.ci_status, ci.ci_conclusion, ci.head_sha, ci.number) == (
        "tests", "completed", "failure", AFTER, 12,
    )  # fmt: skip


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"zen": "Keep it logically awesome.", "hook_id": 1},
        {"ref": 5, "commits": "nope", "repository": [], "sender": None},
        {"issue": {"labels": [None, 3, {"name": 4}]}, "comment": "text"},
        {"check_run": {"pull_requests": [{"number": "x"}]}},
    ],
)
@pytest.mark.parametrize(
    "name", ["push", "issues", "issue_comment", "pull_request", "check_run", "status", "ping"]
)
def test_any_json_object_normalises_without_error(name: str, payload: dict[str, Any]) -> None:
    assert normalise(name, "d", payload).event == name


def test_text_people_wrote_arrives_cleaned() -> None:
    payload = issue_comment("/shipyard run x<!-- hidden -->\u200b")
    payload["issue"]["title"] = "Fix\u202e it"
    event = normalise("issue_comment", "d", payload)
    assert (event.comment, event.title) == ("/shipyard run x", "Fix it")


def test_each_ci_event_names_its_branch() -> None:
    common = {"repository": repository(), "sender": user()}
    check_run = {"check_run": {"name": "ci", "head_sha": AFTER, "check_suite": {"head_branch": "wo/a"}}}
    suite = {"check_suite": {"head_branch": "wo/b", "head_sha": AFTER, "status": "completed"}}
    run = {"workflow_run": {"name": "CI", "head_branch": "wo/c", "conclusion": "success"}}
    status = {"sha": AFTER, "state": "success", "context": "ci/lint", "branches": [{"name": "wo/d"}]}
    names = [("check_run", check_run), ("check_suite", suite), ("workflow_run", run), ("status", status)]
    branches = [normalise(name, "d", {**common, **payload}).head_branch for name, payload in names]
    assert branches == ["wo/a", "wo/b", "wo/c", "wo/d"]
    assert normalise("status", "d", {**common, **status}).ci_name == "ci/lint"
