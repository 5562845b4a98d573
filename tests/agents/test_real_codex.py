"""The real Codex CLI (npm `@openai/codex`, installed by `./dev test`) against the scripted model
server's OpenAI Responses API: its own tool loop reads a file, patches it, runs a command and
finishes; what the adapter makes of it (events, usage, thread, answer, failures) matches the script."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from scripted_model import CODEX_MODEL, ScriptedModel, ToolCall, Turn, codex_home
from shipyard.agents.codex import CodexAgent
from shipyard.config import Settings
from shipyard.domain.events import ListSink
from shipyard.domain.models import AgentRequest, AgentResult
from shipyard.sandboxes.workspace import LocalWorkspace
from support import installed_cli, serving

KEY = "sk-scripted-codex-0123456789"
PATCH = """*** Begin Patch
*** Update File: README.md
@@
 # Greeting
-helo world
+hello world
*** End Patch
"""


def of_type(sink: ListSink, kind: str) -> list[dict[str, Any]]:
    return [data for t, data, _ in sink.events if t == kind]


@pytest.fixture
def codex() -> str:
    return installed_cli("codex")


@pytest.fixture
async def model() -> AsyncIterator[ScriptedModel]:
    yield ScriptedModel([], model=CODEX_MODEL)


async def run_codex(
    codex: str, model: ScriptedModel, workdir: Path, tmp_path: Path, prompt: str = "Fix the greeting."
) -> tuple[AgentResult, ListSink]:
    async with serving(model.app) as url:
        home = codex_home(tmp_path / "codex-home", url)
        workspace = LocalWorkspace(workdir, env={"HOME": str(tmp_path)})
        # CODEX_HOME from the worker's environment, as an operator would set it.
        settings = Settings(codex_binary=codex, openai_api_key=KEY)
        agent = CodexAgent(settings, environ={"CODEX_HOME": str(home)})
        sink = ListSink()
        result = await agent.run(AgentRequest(prompt=prompt, timeout_s=120), workspace, sink)
        return result, sink


async def test_codex_reads_patches_runs_and_finishes_as_scripted(
    codex: str, model: ScriptedModel, workdir: Path, tmp_path: Path
) -> None:
    readme = workdir / "README.md"
    readme.write_text("# Greeting\nhelo world\n")
    model.turns = [
        Turn(text="Let me read it.", tool_calls=[ToolCall("exec_command", {"cmd": "cat README.md"})],
             input_tokens=100, output_tokens=20),
        Turn(tool_calls=[ToolCall("apply_patch", PATCH)], input_tokens=200, output_tokens=30,
             cache_read_input_tokens=50),
        Turn(tool_calls=[ToolCall("exec_command", {"cmd": "wc -l README.md > lines.txt"})],
             input_tokens=300, output_tokens=40, reasoning_tokens=7),
        Turn(text="Fixed the typo; README.md has 2 lines.", input_tokens=400, output_tokens=50),
    ]  # fmt: skip
    result, sink = await run_codex(codex, model, workdir, tmp_path)

    assert result.ok, result.error
    assert readme.read_text() == "# Greeting\nhello world\n"
    assert (workdir / "lines.txt").read_text().split()[0] == "2"
    assert result.output == "Fixed the typo; README.md has 2 lines."
    assert model.turns == []  # every scripted turn was asked for
    # The command's output went back to the model as the call's output.
    outputs = [i for i in model.requests[1]["input"] if i.get("type") == "function_call_output"]
    assert "helo world" in json.dumps(outputs)
    assert {r["model"] for r in model.requests} == {CODEX_MODEL}
    assert f"Bearer {KEY}" not in json.dumps(model.requests)  # the key goes in a header only
    calls = [c["name"] for c in of_type(sink, "agent.tool_call")]
    assert calls == ["command_execution", "file_change", "command_execution"]
    assert result.session_id and of_type(sink, "agent.session") == [{"session_id": result.session_id}]
    # OpenAI's input counts include the cached part; Codex sums the turn's requests.
    assert (result.usage.input_tokens, result.usage.output_tokens) == (1000, 140)
    assert [u["cached_input_tokens"] for u in of_type(sink, "agent.usage") if not u["final"]] == [50]
    assert (result.usage.cached_input_tokens, result.usage.reasoning_tokens) == (50, 7)
    # Codex reports no price: Shipyard's estimate at genai-prices' gpt-5.5 rates (the model of
    # CODEX_HOME's config.toml): $5/M input, $0.5/M cached, $30/M output.
    assert result.usage.cost_usd == pytest.approx((950 * 5 + 50 * 0.5 + 140 * 30) / 1e6)
    assert result.usage.cost_estimated


async def test_a_rejected_key_is_an_auth_failure(
    codex: str, model: ScriptedModel, workdir: Path, tmp_path: Path
) -> None:
    model.turns = [Turn(error_status=401, error_message="Incorrect API key provided") for _ in range(2)]
    result, _ = await run_codex(codex, model, workdir, tmp_path)

    assert not result.ok
    assert (result.error_kind, result.retryable) == ("auth", False), result.error
    assert "401 Unauthorized: Incorrect API key provided" in (result.error or "")
    assert KEY not in (result.error or "")
    assert model.turns == []  # Codex retries a 401 too


async def test_rate_limits_past_the_clis_retries_are_retryable(
    codex: str, model: ScriptedModel, workdir: Path, tmp_path: Path
) -> None:
    model.turns = [Turn(error_status=429, error_message="Rate limit reached") for _ in range(2)]
    result, _ = await run_codex(codex, model, workdir, tmp_path)

    assert not result.ok
    assert (result.error_kind, result.retryable) == ("rate_limit", True), result.error
    assert "exceeded retry limit, last status: 429" in (result.error or "")
    assert model.turns == []  # asked, and retried once


def test_check_reports_the_version_and_finds_the_login_in_codex_home(codex: str, tmp_path: Path) -> None:
    home = codex_home(tmp_path / "codex-home", "http://127.0.0.1:9")
    agent = CodexAgent(Settings(codex_binary=codex, openai_api_key=None), environ={"CODEX_HOME": str(home)})

    before = agent.check()
    (home / "auth.json").write_text("{}")
    after = agent.check()

    assert (before.state, before.reason) == (
        "no credentials",
        "set OPENAI_API_KEY, or log in with `codex login`",
    )
    assert (before.version or "").startswith("codex-cli ")
    assert (after.state, after.reason) == ("ready", "")
