"""`output_schema` on prompt and run steps, through the real API, engine, Temporal dev server and
git, with the built-in `openai` agent on the scripted model server: an agent's invalid JSON gets one
correction turn, a valid object is read as an object by later templates and `when` conditions (also
after a retry of the work order), and output still invalid fails the step with the schema's message."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import SecretStr

from scripted_model import ScriptedModel, ToolCall, Turn
from shipyard.agents.claude import bundled_claude
from shipyard.cli.server import running_server
from shipyard.config import Settings
from support import MakeRepo, MakeSettings, serving, wait_done

KEY = "sk-scripted-typed-outputs"
PLAN = {
    "type": "object",
    "required": ["tasks"],
    "properties": {"tasks": {"type": "array", "items": {"type": "string"}}},
}


@pytest.fixture
async def model() -> AsyncIterator[tuple[ScriptedModel, str]]:
    scripted = ScriptedModel([], model="scripted-model")
    async with serving(scripted.app) as url:
        yield scripted, url


@pytest.fixture
def settings(make_settings: MakeSettings, model: tuple[ScriptedModel, str]) -> Settings:
    return make_settings(
        agent="openai", openai_base_url=f"{model[1]}/v1", openai_api_key=SecretStr(KEY), openai_model="m"
    )


async def run(
    api: httpx.AsyncClient, repo: Path, steps: list[dict[str, Any]], **workflow: Any
) -> dict[str, Any]:
    definition = {"name": "typed", "steps": steps, **workflow}
    body = {"repository_url": str(repo), "workflow_definition": yaml.safe_dump(definition)}
    resp = await api.post("/api/agent-work-orders", json=body)
    assert resp.status_code == 201, resp.text
    return await wait_done(api, resp.json()["agent_work_order"]["agent_work_order_id"])


async def steps_of(api: httpx.AsyncClient, work_order_id: str) -> dict[str, dict[str, Any]]:
    rows = (await api.get(f"/api/agent-work-orders/{work_order_id}/steps")).json()["steps"]
    return {row["step_id"]: row for row in rows}


def user_prompt(request: dict[str, Any]) -> str:
    return str(next(m["content"] for m in request["messages"] if m["role"] == "user"))


def finish(summary: str) -> Turn:
    return Turn(tool_calls=[ToolCall("finish", {"summary": summary})], input_tokens=100, output_tokens=20)


PLAN_STEPS: list[dict[str, Any]] = [
    {"id": "plan", "prompt": "Plan the release.", "output_schema": PLAN},
    {
        "id": "count",
        "run": "echo {{ steps.plan.output.tasks | length }}: {{ steps.plan.output.tasks | join('+') }}",
    },
    {"id": "many", "when": "steps.plan.output.tasks | length > 1", "run": "echo many"},
    {"id": "none", "when": "steps.plan.output.tasks | length == 0", "run": "echo none"},
]


async def test_invalid_json_gets_one_correction_turn_and_later_steps_read_the_object(
    api: httpx.AsyncClient, make_repo: MakeRepo, model: tuple[ScriptedModel, str]
) -> None:
    scripted = model[0]
    scripted.turns = [
        finish('Planned.\n```json\n{"tasks": "write the notes"}\n```'),
        Turn(text='Sorry:\n```json\n{"tasks": ["write the notes", "tag v2"]}\n```', input_tokens=50),
    ]
    wo = await run(api, make_repo(), PLAN_STEPS)
    steps = await steps_of(api, wo["agent_work_order_id"])
    events = (await api.get(f"/api/agent-work-orders/{wo['agent_work_order_id']}/events")).text

    assert wo["status"] == "completed", wo["error_message"]
    assert steps["plan"]["output_data"] == {"tasks": ["write the notes", "tag v2"]}
    assert steps["plan"]["output"].startswith("Sorry:")  # the text stays the answer's
    assert steps["count"]["output"] == "2: write the notes+tag v2"
    assert (steps["many"]["status"], steps["none"]["status"]) == ("completed", "skipped")
    assert steps["count"]["output_data"] is None  # a step without a schema keeps text only
    # Exactly one correction turn. The first prompt showed the schema; the agent gives no session
    # to resume, so the correction carries the task, the answer and what was wrong with it.
    assert scripted.turns == [] and len(scripted.requests) == 2
    first, fix = user_prompt(scripted.requests[0]), user_prompt(scripted.requests[1])
    assert first.startswith("Plan the release.") and '"required": [\n    "tasks"\n  ]' in first
    assert "<task>\nPlan the release." in fix and '{"tasks": "write the notes"}' in fix
    assert "'write the notes' is not of type 'array' (at tasks)" in fix and '"required"' in fix
    assert steps["plan"]["usage_turns"] == 2 and steps["plan"]["usage_input_tokens"] == 150  # both runs
    assert "workflow.step.output_invalid" in events


async def test_json_still_invalid_after_the_correction_fails_the_step_with_the_schemas_message(
    api: httpx.AsyncClient, make_repo: MakeRepo, model: tuple[ScriptedModel, str]
) -> None:
    scripted = model[0]
    scripted.turns = [Turn(text="I planned it all."), Turn(text='```json\n{"steps": ["a"]}\n```')]
    wo = await run(api, make_repo(), PLAN_STEPS)
    steps = await steps_of(api, wo["agent_work_order_id"])

    assert wo["status"] == "failed"
    message = "output does not match output_schema: 'tasks' is a required property"
    assert wo["error_message"] == f"step 'plan' failed: {message}"
    assert steps["plan"]["error"] == message and steps["plan"]["output_data"] is None
    assert "no JSON found" in user_prompt(scripted.requests[1])  # what the correction was told
    assert scripted.turns == [] and len(scripted.requests) == 2  # one correction, not more
    assert "count" not in steps


async def test_the_correction_turn_counts_against_the_budget_with_the_first(
    api: httpx.AsyncClient, make_repo: MakeRepo, model: tuple[ScriptedModel, str]
) -> None:
    model[0].turns = [Turn(text="Planned, no JSON."), Turn(text='{"tasks": ["a"]}')]
    wo = await run(api, make_repo(), PLAN_STEPS[:2], budget={"max_turns": 1})
    steps = await steps_of(api, wo["agent_work_order_id"])

    assert wo["status"] == "failed"
    assert "budget_exceeded: max_turns 1 crossed (spent 2 turns" in wo["error_message"]
    assert steps["plan"]["usage_turns"] == 2


async def test_a_run_steps_json_is_validated_and_read_by_later_steps_after_a_retry_too(
    api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    schema = {"type": "object", "required": ["files"], "properties": {"files": {"type": "integer"}}}
    fixed = tmp_path / "fixed"
    repo = make_repo()
    measure = {
        "id": "measure",
        "run": """echo measuring; printf '{\\n  "files": 3,\\n  "names": ["a", "b", "c"]\\n}\\n'""",
        "output_schema": schema,
    }
    use = {"id": "use", "run": f"test -f {fixed} && echo {{{{ steps.measure.output.files + 1 }}}}"}
    wo = await run(api, repo, [measure, use])
    wid = wo["agent_work_order_id"]
    assert wo["status"] == "failed" and "step 'use' failed" in wo["error_message"]
    assert (await steps_of(api, wid))["measure"]["output_data"] == {"files": 3, "names": ["a", "b", "c"]}

    fixed.touch()
    assert (await api.post(f"/api/agent-work-orders/{wid}/retry", json={})).status_code == 200
    done = await wait_done(api, wid)
    steps = await steps_of(api, wid)
    assert done["status"] == "completed", done["error_message"]
    assert steps["use"]["output"] == "4"  # the object rebuilt from the stored step, not re-run
    assert steps["measure"]["attempt"] == 1

    bad = {"name": "bad", "steps": [{**measure, "output_schema": {"type": "integer", "minimum": "3"}}]}
    refused = await api.post(
        "/api/agent-work-orders",
        json={"repository_url": str(repo), "workflow_definition": yaml.safe_dump(bad)},
    )
    assert refused.status_code == 422 and refused.json()["error"]["message"] == (
        "<inline>: steps[0] (measure): output_schema: not a valid JSON Schema: '3' is not of type 'number'"
        " (at minimum)"
    )
    wrong = await run(api, repo, [{**measure, "run": """echo '{"files": "three"}'"""}, use])
    assert wrong["status"] == "failed"
    assert wrong["error_message"] == (
        "step 'measure' failed: output does not match output_schema:"
        " 'three' is not of type 'integer' (at files)"
    )


async def test_claude_code_corrects_its_json_in_its_resumed_session(
    make_settings: MakeSettings,
    model: tuple[ScriptedModel, str],
    make_repo: MakeRepo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real Claude Code CLI gives a session id: the correction turn resumes that session, so
    its prompt is only what was wrong, and the CLI sends the conversation so far itself."""
    scripted, url = model
    scripted.model = "claude-sonnet-4-5"
    scripted.turns = [
        Turn(text="The plan: write the notes, then tag."),
        Turn(text='{"tasks": ["notes", "tag"]}'),
    ]
    monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude-config"))
    monkeypatch.setenv("CLAUDE_CODE_MAX_RETRIES", "1")
    settings = make_settings(
        agent="claude",
        claude_binary=bundled_claude(),
        anthropic_api_key=KEY,
        claude_model="claude-sonnet-4-5",
    )
    async with (
        running_server(settings, persistent=False, port=0, announce=False) as server,
        httpx.AsyncClient(base_url=server.url, timeout=30) as api,
    ):
        wo = await run(api, make_repo(), PLAN_STEPS[:2])
        steps = await steps_of(api, wo["agent_work_order_id"])

    assert wo["status"] == "completed", wo["error_message"]
    assert steps["count"]["output"] == "2: notes+tag"
    assert scripted.turns == [] and len(scripted.requests) == 2
    resumed = json.dumps(scripted.requests[1]["messages"])
    assert "The plan: write the notes, then tag." in resumed  # the session's earlier answer
    assert "Plan the release." in resumed and "no JSON found in the output" in resumed
    assert "<task>" not in resumed  # the conversation came from the session, not the prompt
