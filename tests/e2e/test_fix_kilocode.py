"""Seed 004 end to end with the product's default runner, `sandbox_kilo`: the real Kilo Code CLI,
its model the scripted model server (Chat Completions), on the fake GitHub. Kilo makes the
cluster's plan (its final answer the plan as JSON, read as the step's typed output); a person edits
it; on `start_fix` the draft pull request opens before Kilo is asked anything, Kilo gets the edited
plan and edits the file with its own tool, Shipyard commits that, runs the plan's validation, marks
the pull request ready and records what Kilo's model calls used."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from fakes.github_api import Hold
from fix_kit import EDITED, ENDED, PLAN, commits, new_cluster, until
from forge_kit import REPO, TOKEN, GitHub, hosted
from scripted_model import ScriptedModel, ToolCall, Turn
from shipyard.config import Settings
from support import MakeRepo


@pytest.fixture
def github(tmp_path: Path, make_repo: MakeRepo) -> Iterator[GitHub]:
    source = make_repo("widgets", {"greet.py": "print('go away')\n"})
    with hosted(tmp_path / "git-http", source, TOKEN) as hub:
        yield hub


@pytest.fixture
def settings(kilocode_settings: Settings, github: GitHub) -> Settings:
    # No runner configured: jobs get the built-in one, kilocode in the default sandbox.
    github_api = {"github_token": SecretStr(TOKEN), "github_api_url": github.fake.base_url}
    return kilocode_settings.model_copy(update=github_api)


def read_greeting(input_tokens: int) -> Turn:
    read = ToolCall("read", {"filePath": "{cwd}/greet.py"})
    return Turn(tool_calls=[read], input_tokens=input_tokens, output_tokens=10)


def mentions(request: dict[str, Any], text: str) -> bool:
    return text in json.dumps(request["messages"])


async def test_kilocode_plans_a_cluster_and_fixes_it_from_the_edited_plan_in_a_pull_request(
    api: httpx.AsyncClient, model: tuple[ScriptedModel, str], github: GitHub
) -> None:
    scripted, _ = model
    cid = (await new_cluster(api, github))["id"]

    # The plan: Kilo reads the code, then answers with the plan as the fenced JSON it was asked for.
    answer = f"The greeting is in greet.py.\n\n```json\n{json.dumps(PLAN)}\n```"
    scripted.turns = [read_greeting(110), Turn(text=answer, input_tokens=210, output_tokens=60)]
    assert (await api.post(f"/api/clusters/{cid}/plan")).status_code == 202
    cluster = await until(api, f"/api/clusters/{cid}", "status", {"plan_ready", "failed"}, timeout_s=180)
    assert cluster["status"] == "plan_ready", cluster["error"]
    plan = (await api.get(f"/api/clusters/{cid}/plan")).json()
    assert {k: plan[k] for k in PLAN} == PLAN
    assert (plan["metadata"]["source"], plan["metadata"]["agent"]) == ("generated", "kilocode")
    assert scripted.turns == [] and mentions(scripted.requests[0], "Rude greeting on start")
    planned = len(scripted.requests)

    edited = await api.put(f"/api/clusters/{cid}/plan", json=EDITED)
    assert edited.status_code == 200 and edited.json()["version"] == 2, edited.text

    edit = {"filePath": "{cwd}/greet.py", "oldString": "go away", "newString": "hello"}
    scripted.turns = [
        read_greeting(120),
        Turn(tool_calls=[ToolCall("edit", edit)], input_tokens=230, output_tokens=20),
        Turn(text="The greeting says hello now.", input_tokens=340, output_tokens=30),
    ]
    held = Hold("POST", f"/repos/{REPO}/pulls")
    github.fake.holds.append(held)
    started = await api.post(f"/api/clusters/{cid}/start_fix", json={})
    assert started.status_code == 202, started.text
    assert started.json()["runner"] == "sandbox_kilo"

    # The draft is asked for on the empty commit, before Kilo is asked anything about the fix.
    await asyncio.wait_for(held.reached.wait(), 120)
    [opened] = [r for r in github.fake.received if r.method == "POST" and r.path.endswith("/pulls")]
    branch = json.loads(opened.body)["head"]
    assert json.loads(opened.body)["draft"] is True and commits(github, branch) == ["fix: Rude greeting"]
    assert len(scripted.requests) == planned
    held.released.set()

    job = await until(api, f"/api/jobs/{started.json()['job_id']}", "status", ENDED, timeout_s=180)
    assert job["status"] == "succeeded", job
    assert scripted.turns == []
    # The edited plan reached Kilo, in the prompt of its first request.
    assert mentions(scripted.requests[planned], EDITED["summary"])
    assert not mentions(scripted.requests[planned], PLAN["summary"])
    # Kilo's edit, committed on the branch after the empty one; the pull request ready, saying so.
    assert github.git_out("show", f"{branch}:greet.py") == "print('hello')"
    assert len(commits(github, branch)) == 2
    assert github.git_out("diff", "--name-only", f"{branch}~1", branch) == "greet.py"
    [pull] = github.fake.pulls(REPO)
    assert job["pr_url"] == f"https://github.com/{REPO}/pull/{pull.number}" and not pull.draft
    assert EDITED["summary"] in (pull.body or "")
    assert "0 of 2 validation steps failed" in (pull.body or "")
    cluster = (await api.get(f"/api/clusters/{cid}")).json()
    assert cluster["status"] == "pr_opened" and cluster["latest_job"]["pr_url"] == job["pr_url"]

    # What Kilo reported for the fix's three model calls, priced at its config's $3/M in, $15/M out.
    wo = (await api.get(f"/api/agent-work-orders/{job['work_order_id']}")).json()["agent_work_order"]
    usage = wo["usage"]
    assert (usage["input_tokens"], usage["output_tokens"]) == (120 + 230 + 340, 10 + 20 + 30)
    assert usage["cost_usd"] == pytest.approx(690 * 3e-6 + 60 * 15e-6)
