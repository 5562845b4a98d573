"""The real Gemini CLI (npm `@google/gemini-cli`, installed by `./dev test`) against the scripted
model server's Gemini API (`GOOGLE_GEMINI_BASE_URL`): its own tool loop reads a file, edits it,
runs a command and finishes; what the adapter makes of it (events, usage, session, answer,
failures) matches the script."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scripted_model import ScriptedModel, ToolCall, Turn
from shipyard.agents.gemini import GeminiAgent
from shipyard.config import Settings
from shipyard.domain.events import ListSink
from shipyard.domain.models import AgentRequest, AgentResult
from shipyard.sandboxes.workspace import LocalWorkspace
from support import installed_cli, serving

KEY = "scripted-gemini-key-0123456789"
MODEL = "gemini-2.5-pro"  # named, so that the CLI does not ask its router first


def of_type(sink: ListSink, kind: str) -> list[dict[str, Any]]:
    return [data for t, data, _ in sink.events if t == kind]


@pytest.fixture
def gemini() -> str:
    return installed_cli("gemini")


async def run_gemini(
    gemini: str, model: ScriptedModel, workdir: Path, tmp_path: Path, prompt: str = "Fix the greeting."
) -> tuple[AgentResult, ListSink]:
    async with serving(model.app) as url:
        workspace = LocalWorkspace(workdir, env={"HOME": str(tmp_path)})
        agent = GeminiAgent(
            Settings(gemini_binary=gemini, gemini_api_key=KEY), environ={"GOOGLE_GEMINI_BASE_URL": url}
        )
        sink = ListSink()
        result = await agent.run(AgentRequest(prompt=prompt, model=MODEL, timeout_s=120), workspace, sink)
        return result, sink


async def test_gemini_reads_edits_runs_and_finishes_as_scripted(
    gemini: str, workdir: Path, tmp_path: Path
) -> None:
    readme = workdir / "README.md"
    readme.write_text("# Greeting\nhelo world\n")
    edit = {
        "file_path": "{cwd}/README.md",
        "instruction": "Fix the typo in the greeting.",
        "old_string": "helo world",
        "new_string": "hello world",
    }
    count = {"command": "wc -l README.md > lines.txt", "description": "Count lines"}
    model = ScriptedModel([
        Turn(text="Let me read it.", tool_calls=[ToolCall("read_file", {"file_path": "{cwd}/README.md"})],
             input_tokens=100, output_tokens=20),
        Turn(tool_calls=[ToolCall("replace", edit)], input_tokens=200, output_tokens=30,
             cache_read_input_tokens=50),
        Turn(tool_calls=[ToolCall("run_shell_command", count)],
             input_tokens=300, output_tokens=40, reasoning_tokens=7),
        Turn(text="Fixed the typo; README.md has 2 lines.", input_tokens=400, output_tokens=50),
    ])  # fmt: skip
    result, sink = await run_gemini(gemini, model, workdir, tmp_path)

    assert result.ok, result.error
    assert readme.read_text() == "# Greeting\nhello world\n"
    assert (workdir / "lines.txt").read_text().split()[0] == "2"
    assert result.output == "Fixed the typo; README.md has 2 lines."
    assert model.turns == []  # every scripted turn was asked for
    # The file's text went back to the model as the read call's result.
    assert "helo world" in json.dumps(model.requests[1]["contents"][-1])
    assert KEY not in json.dumps(model.requests)  # the key goes in a header only
    messages = [m["text"] for m in of_type(sink, "agent.message")]
    assert messages == ["Let me read it.", "Fixed the typo; README.md has 2 lines."]
    assert [c["name"] for c in of_type(sink, "agent.tool_call")] == [
        "read_file",
        "replace",
        "run_shell_command",
    ]
    tool_results = of_type(sink, "agent.tool_result")
    assert [r["is_error"] for r in tool_results] == [False, False, False]
    assert result.session_id and len(result.session_id) == 36  # a UUID
    assert of_type(sink, "agent.session") == [{"session_id": result.session_id}]
    # Input with its cached part and output with the thoughts, as scripted.
    usage = result.usage
    assert (usage.turns, usage.input_tokens, usage.output_tokens) == (4, 1000, 140)
    assert (usage.cached_input_tokens, usage.reasoning_tokens) == (50, 7)
    # The CLI reports no cost: Shipyard's estimate at genai-prices' gemini-2.5-pro rates ($1.25/M
    # input, $0.125/M cached, $10/M output with the thoughts).
    assert usage.cost_usd == pytest.approx((950 * 1.25 + 50 * 0.125 + 140 * 10) / 1e6)
    assert usage.cost_estimated


async def test_a_rejected_key_is_an_auth_failure(gemini: str, workdir: Path, tmp_path: Path) -> None:
    model = ScriptedModel([Turn(error_status=401, error_message="API key not valid")], model=MODEL)
    result, _ = await run_gemini(gemini, model, workdir, tmp_path)

    assert not result.ok
    assert (result.error_kind, result.retryable) == ("auth", False), result.error
    assert result.error == "API Error 401: API key not valid (UNAUTHENTICATED)"
    assert result.session_id and len(result.session_id) == 36
    assert model.turns == []  # asked once: the CLI does not retry a 401


def test_check_reports_the_version_and_wants_a_key(gemini: str) -> None:
    bare = GeminiAgent(Settings(gemini_binary=gemini, gemini_api_key=None), environ={})
    keyed = GeminiAgent(Settings(gemini_binary=gemini, gemini_api_key=KEY), environ={})

    before = bare.check()

    assert (before.state, before.reason, before.version) == ("no credentials", "set GEMINI_API_KEY", "0.61.0")
    assert keyed.check().state == "ready"


async def test_rate_limits_past_the_clis_retries_are_retryable(
    gemini: str, workdir: Path, tmp_path: Path
) -> None:
    model = ScriptedModel([Turn(error_status=429, error_message="Quota exceeded") for _ in range(5)])
    result, _ = await run_gemini(gemini, model, workdir, tmp_path)

    assert not result.ok
    assert (result.error_kind, result.retryable) == ("rate_limit", True), result.error
    assert result.error == "API Error 429: Quota exceeded"
    # The adapter's settings allow 3 attempts, not the CLI's 10; it waits 5 s, then 10 s, whatever
    # the server's retry-after, so this test takes some 15 s.
    assert len(model.requests) == 3


async def test_a_run_given_the_session_id_resumes_that_chat(
    gemini: str, workdir: Path, tmp_path: Path
) -> None:
    model = ScriptedModel([Turn(text="The first answer.", input_tokens=10, output_tokens=5)], model=MODEL)
    first, _ = await run_gemini(gemini, model, workdir, tmp_path, prompt="First question.")
    model.turns = [Turn(text="The second answer.", input_tokens=20, output_tokens=5)]
    async with serving(model.app) as url:
        agent = GeminiAgent(
            Settings(gemini_binary=gemini, gemini_api_key=KEY), environ={"GOOGLE_GEMINI_BASE_URL": url}
        )
        request = AgentRequest(
            prompt="Second question.", model=MODEL, session_id=first.session_id, timeout_s=120
        )
        second = await agent.run(request, LocalWorkspace(workdir, env={"HOME": str(tmp_path)}), ListSink())

    assert first.ok and second.ok, (first.error, second.error)
    assert second.session_id == first.session_id
    # The resumed chat's history went to the model with the new question.
    asked = json.dumps(model.requests[-1]["contents"])
    assert "First question." in asked and "The first answer." in asked and "Second question." in asked
