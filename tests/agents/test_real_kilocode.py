"""The real Kilo Code CLI 7.x (npm `@kilocode/cli`, installed by `./dev test`) against the scripted
model server's OpenAI Chat Completions API, configured through KILO_CONFIG_CONTENT: its own tool loop
reads a file, edits it, runs a command and finishes; what the adapter makes of it (events, usage,
session, answer, failures) matches the script."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from scripted_model import ScriptedModel, ToolCall, Turn, opencode_config
from shipyard.agents.kilocode import KilocodeAgent
from shipyard.config import AgentProvider, Settings
from shipyard.domain.events import ListSink
from shipyard.domain.models import AgentRequest, AgentResult
from shipyard.sandboxes.workspace import LocalWorkspace
from support import installed_cli, serving

KEY = "sk-scripted-kilo-0123456789"
MODEL = "scripted-model"
PRICES = {"input": 3.0, "output": 15.0, "cache_read": 0.3}  # USD per million tokens


def of_type(sink: ListSink, kind: str) -> list[dict[str, Any]]:
    return [data for t, data, _ in sink.events if t == kind]


@pytest.fixture
def kilo() -> str:
    return installed_cli("kilocode")


@pytest.fixture
async def model() -> AsyncIterator[ScriptedModel]:
    yield ScriptedModel([], model=MODEL)


async def run_kilo(
    kilo: str, model: ScriptedModel, workdir: Path, tmp_path: Path
) -> tuple[AgentResult, ListSink]:
    async with serving(model.app) as url:
        workspace = LocalWorkspace(workdir, env={"HOME": str(tmp_path)})
        # KILO_CONFIG_CONTENT from the worker's environment, as an operator would set it.
        environ = {"KILO_CONFIG_CONTENT": opencode_config(url, MODEL, PRICES)}
        agent = KilocodeAgent(Settings(kilocode_binary=kilo, openai_api_key=KEY), environ=environ)
        sink = ListSink()
        result = await agent.run(AgentRequest(prompt="Fix the greeting.", timeout_s=120), workspace, sink)
        return result, sink


async def test_kilo_reads_edits_runs_and_finishes_as_scripted(
    kilo: str, model: ScriptedModel, workdir: Path, tmp_path: Path
) -> None:
    readme = workdir / "README.md"
    readme.write_text("# Greeting\nhelo world\n")
    edit = {"filePath": "{cwd}/README.md", "oldString": "helo world", "newString": "hello world"}
    count = {"command": "wc -l README.md > lines.txt", "description": "Count lines"}
    model.turns = [
        Turn(text="Let me read it.", tool_calls=[ToolCall("read", {"filePath": "{cwd}/README.md"})],
             input_tokens=100, output_tokens=20),
        Turn(tool_calls=[ToolCall("edit", edit)], input_tokens=200, output_tokens=30,
             cache_read_input_tokens=50),
        Turn(tool_calls=[ToolCall("bash", count)],
             input_tokens=300, output_tokens=40, reasoning_tokens=7),
        Turn(text="Fixed the typo; README.md has 2 lines.", input_tokens=400, output_tokens=50),
    ]  # fmt: skip
    result, sink = await run_kilo(kilo, model, workdir, tmp_path)

    assert result.ok, result.error
    assert readme.read_text() == "# Greeting\nhello world\n"
    assert (workdir / "lines.txt").read_text().split()[0] == "2"
    assert result.output == "Fixed the typo; README.md has 2 lines."
    assert model.turns == []  # every scripted turn was asked for
    # The prompt went in on stdin, and the file's text back to the model as the read call's result.
    assert "Fix the greeting." in json.dumps(model.requests[0]["messages"][-1])
    results = [m for m in model.requests[1]["messages"] if m["role"] == "tool"]
    assert "helo world" in json.dumps(results)
    assert {r["model"] for r in model.requests} == {MODEL}
    assert KEY not in json.dumps(model.requests)  # the key goes in a header only
    messages = [m["text"] for m in of_type(sink, "agent.message")]
    assert messages == ["Let me read it.", "Fixed the typo; README.md has 2 lines."]
    assert [c["name"] for c in of_type(sink, "agent.tool_call")] == ["read", "edit", "bash"]
    tool_results = of_type(sink, "agent.tool_result")
    assert [r["is_error"] for r in tool_results] == [False, False, False]
    assert "helo world" in tool_results[0]["content"] and tool_results[2]["exit_code"] == 0
    assert result.session_id and result.session_id.startswith("ses_")
    assert of_type(sink, "agent.session") == [{"session_id": result.session_id}]
    # Input with its cached part and output with its reasoning, as scripted, one turn per request.
    assert (result.usage.turns, result.usage.input_tokens, result.usage.output_tokens) == (4, 1000, 140)
    running = [u for u in of_type(sink, "agent.usage") if not u["final"]]
    assert [u["input_tokens"] for u in running] == [100, 300, 600, 1000]  # running totals
    assert (result.usage.cached_input_tokens, result.usage.reasoning_tokens) == (50, 7)
    # Kilo's own price for the model's configured rates: 950 input, 50 cached, 140 output.
    assert result.usage.cost_usd == pytest.approx((950 * 3.0 + 50 * 0.3 + 140 * 15.0) / 1e6)
    assert not result.usage.cost_estimated


async def test_a_rejected_key_is_an_auth_failure(
    kilo: str, model: ScriptedModel, workdir: Path, tmp_path: Path
) -> None:
    """Sent to the endpoint by Shipyard's config (`agent_providers`), its key read from a variable
    of the operator's naming and handed over by that name."""
    model.turns = [Turn(error_status=401, error_message="Incorrect API key provided")]
    async with serving(model.app) as url:
        provider = AgentProvider(base_url=f"{url}/v1", model=MODEL, key_env="TEAM_LLM_KEY")
        settings = Settings(kilocode_binary=kilo, openai_api_key=None, agent_providers={"kilocode": provider})
        agent = KilocodeAgent(settings, environ={"TEAM_LLM_KEY": KEY})
        workspace = LocalWorkspace(workdir, env={"HOME": str(tmp_path)})
        request = AgentRequest(prompt="Fix the greeting.", timeout_s=120)
        result = await agent.run(request, workspace, ListSink())

    assert not result.ok
    assert (result.error_kind, result.retryable) == ("auth", False), result.error
    assert result.error == "APIError 401: Incorrect API key provided"
    assert result.session_id and result.session_id.startswith("ses_")
    assert model.turns == []  # asked once: a 401 is not retried
    assert model.keys == {KEY} and {r["model"] for r in model.requests} == {MODEL}


async def test_rate_limits_past_the_clis_retries_are_retryable(
    kilo: str, model: ScriptedModel, workdir: Path, tmp_path: Path
) -> None:
    model.turns = [Turn(error_status=429, error_message="Rate limit reached") for _ in range(7)]
    result, _ = await run_kilo(kilo, model, workdir, tmp_path)

    assert not result.ok
    assert (result.error_kind, result.retryable) == ("rate_limit", True), result.error
    assert result.error == "APIError 429: Rate limit reached"
    assert len(model.requests) == 6  # asked, and retried five times (the server says retry-after: 0)


def test_check_reports_the_version_and_wants_a_provider(kilo: str, tmp_path: Path) -> None:
    no_keys = {"openai_api_key": None, "anthropic_api_key": None}
    bare = KilocodeAgent(
        Settings(kilocode_binary=kilo, **no_keys), environ={"HOME": str(tmp_path / "home"),
                                                             "XDG_DATA_HOME": str(tmp_path)}
    )  # fmt: skip
    configured = KilocodeAgent(
        Settings(kilocode_binary=kilo, **no_keys),
        environ={"KILO_CONFIG_CONTENT": opencode_config("http://127.0.0.1:9", MODEL)},
    )
    missing = KilocodeAgent(Settings(kilocode_binary=str(tmp_path / "no-kilo"), **no_keys))

    before = bare.check()
    (tmp_path / "kilo").mkdir()
    (tmp_path / "kilo" / "auth.json").write_text("{}")
    after = bare.check()

    assert before.state == "no credentials"
    assert before.reason == (
        "set KILO_CONFIG_CONTENT (0.x: KILO_PROVIDER_TYPE and its KILO_* fields) or a provider key, "
        "or log in with `kilo auth login`"
    )
    assert before.version == "7.7.7"
    assert (after.state, configured.check().state) == ("ready", "ready")
    assert missing.check().state == "not installed"
    assert missing.check().reason == "kilocode not installed (shipyard agents install kilocode)"


async def test_kilo_runs_headless_unless_the_operator_says_otherwise(tmp_path: Path) -> None:
    """No self-update, session upload, presence, telemetry, web UI or embeddings index in a run;
    a KILO_* variable of the worker's own wins. (A stand-in binary records what it was given.)"""
    seen = tmp_path / "env.txt"
    stand_in = tmp_path / "kilo"
    stand_in.write_text(
        f'#!/bin/sh\n[ "$1" = --version ] && {{ echo 7.7.7; exit 0; }}\nenv > {seen}\nexit 1\n'
    )
    stand_in.chmod(0o755)
    agent = KilocodeAgent(Settings(kilocode_binary=str(stand_in)), environ={"KILO_TELEMETRY_LEVEL": "error"})
    await agent.run(AgentRequest(prompt="hi", timeout_s=30), LocalWorkspace(tmp_path), ListSink())
    env = dict(line.split("=", 1) for line in seen.read_text().splitlines() if "=" in line)
    assert env["KILO_DISABLE_AUTOUPDATE"] == env["KILO_DISABLE_SESSION_INGEST"] == "1"
    assert env["KILO_DISABLE_CODEBASE_INDEXING"] == env["KILO_DISABLE_EMBEDDED_WEB_UI"] == "1"
    assert env["KILO_TELEMETRY_LEVEL"] == "error"  # the operator's
