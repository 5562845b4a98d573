"""A fan-out with `merge: pr` on the `github` forge: real git over HTTP with a token, a fake GitHub
API over real HTTP. The parent's branch is pushed before each child is made from it, and each
child's pull request targets it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from pydantic import SecretStr

from fakes.git_http import GitHttpServer
from fakes.github_api import FakeGitHub, build_app
from shipyard.config import Settings
from support import MakeRepo, MakeSettings, serving, wait_done

TOKEN = "ghp_canaryCALL0123456789abcdefABCDEF01234"
REPO = "acme/gadgets"
CHILD = """\
name: child
inputs:
  n: {type: string, required: true}
steps:
  - id: write
    run: "echo {{ inputs.n }} > file-{{ inputs.n }}.txt"
    commit: "child {{ inputs.n }}"
"""


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[GitHttpServer]:
    with GitHttpServer(tmp_path / "git-http", tokens={TOKEN}) as server:
        yield server


@pytest.fixture
async def fake_github(
    git_server: GitHttpServer, make_repo: MakeRepo
) -> AsyncIterator[tuple[FakeGitHub, str]]:
    fake = FakeGitHub(tokens={TOKEN})
    fake.add_repo(REPO)
    source = make_repo("gadgets", {"README.md": "# gadgets\n", ".shipyard/workflows/child.yaml": CHILD})
    url = git_server.add_repo(REPO, source=source)
    async with serving(build_app(fake)) as api_url:
        fake.base_url = api_url
        yield fake, url


@pytest.fixture
def settings(make_settings: MakeSettings, fake_github: tuple[FakeGitHub, str]) -> Settings:
    return make_settings(github_token=SecretStr(TOKEN), github_api_url=fake_github[0].base_url)


async def test_a_fan_out_with_merge_pr_opens_one_pull_request_per_child_into_the_parents_branch(
    api: httpx.AsyncClient, fake_github: tuple[FakeGitHub, str], git_server: GitHttpServer
) -> None:
    fake, url = fake_github
    definition = {
        "name": "parent",
        "steps": [
            {
                "id": "fan",
                "call": {"workflow": "child", "inputs": {"n": "{{ n }}"}, "merge": "pr"},
                "fan_out": {"over": "a\nb\nc\nd\ne\n", "as": "n", "max_parallel": 2},
            },
            {"id": "urls", "run": "echo {{ steps.fan.output | map(attribute='pr_url') | join(' ') }}"},
        ],
    }
    body = {"repository_url": url, "workflow_definition": yaml.safe_dump(definition), "forge": "github"}
    resp = await api.post("/api/agent-work-orders", json=body)
    assert resp.status_code == 201, resp.text
    wid = resp.json()["agent_work_order"]["agent_work_order_id"]
    parent = await wait_done(api, wid, timeout_s=180)
    assert parent["status"] == "completed", parent["error_message"]

    children = [
        (await api.get(f"/api/agent-work-orders/{cid}")).json()["agent_work_order"]
        for cid in parent["children"]
    ]
    pulls = fake.pulls(REPO)
    assert len(pulls) == 5
    assert {pull.base for pull in pulls} == {parent["git_branch_name"]}
    assert {pull.head for pull in pulls} == {child["git_branch_name"] for child in children}
    assert not any(pull.draft for pull in pulls)
    assert {child["github_pull_request_url"] for child in children} == {
        f"https://github.com/{REPO}/pull/{pull.number}" for pull in pulls
    }
    assert parent["github_pull_request_url"] is None  # the parent committed nothing of its own
    branches = git_server.branches(REPO)
    assert parent["git_branch_name"] in branches  # pushed before its children were made from it
    rows = (await api.get(f"/api/agent-work-orders/{wid}/steps")).json()["steps"]
    urls = next(row for row in rows if row["step_id"] == "urls")["output"].split()
    by_input = {child["inputs"]["n"]: child["github_pull_request_url"] for child in children}
    assert urls == [by_input[letter] for letter in "abcde"]  # the list's order
