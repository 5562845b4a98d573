"""The real Claude Code CLI (the one claude-agent-sdk ships) against the scripted model server: its
own tool loop reads a file, edits it, runs a command and finishes; what the adapter makes of it
(events, usage, session, result, failures) matches the script."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from scripted_model import ScriptedModel, ToolCall, Turn
from shipyard.agents.claude import ClaudeAgent, bundled_claude
from shipyard.config import Settings
from shipyard.domain.events import ListSink
from shipyard.domain.models import AgentRequest, AgentResult
from shipyard.sandboxes.workspace import LocalWorkspace
from support import serving

KEY = "sk-ant-scripted-0123456789"


def of_type(sink: ListSink, kind: str) -> list[dict[str, Any]]:
    return [data for t, data, _ in sink.events if t == kind]


@pytest.fixture
def claude() -> str:
    binary = bundled_claude()
    assert binary, "claude-agent-sdk ships its CLI in the wheel for this platform; it is missing"
    return binary


@pytest.fixture
async def model() -> AsyncIterator[ScriptedModel]:
    yield ScriptedModel([])


async def run_claude(
    claude: str, model: ScriptedModel, workdir: Path, tmp_path: Path, **request: Any
) -> tuple[AgentResult, ListSink]:
    async with serving(model.app) as url:
        home = tmp_path / "home"
        home.mkdir(exist_ok=True)
        workspace = LocalWorkspace(workdir, env={"HOME": str(home)})
        settings = Settings(claude_binary=claude, anthropic_api_key=KEY, claude_model="claude-sonnet-4-5")
        # One retry of an API error, not the CLI's ten with minutes of backoff.
        agent = ClaudeAgent(settings, environ={"ANTHROPIC_BASE_URL": url, "CLAUDE_CODE_MAX_RETRIES": "1"})
        sink = ListSink()
        prompt = request.pop("prompt", "Fix the greeting in README.md, then count its lines.")
        result = await agent.run(AgentRequest(prompt=prompt, timeout_s=120, **request), workspace, sink)
        return result, sink


async def test_claude_reads_edits_runs_and_finishes_as_scripted(
    claude: str, model: ScriptedModel, workdir: Path, tmp_path: Path
) -> None:
    readme = workdir / "README.md"
    readme.write_text("# Greeting\nhelo world\n")
    model.turns = [
        Turn(text="Let me read it.", tool_calls=[ToolCall("Read", {"file_path": str(readme)})],
             input_tokens=100, output_tokens=20),
        Turn(tool_calls=[ToolCall("Edit", {"file_path": str(readme), "old_string": "helo world",
                                           "new_string": "hello world"})],
             input_tokens=200, output_tokens=30, cache_read_input_tokens=50),
        Turn(tool_calls=[ToolCall("Bash", {"command": "wc -l README.md > lines.txt",
                                           "description": "Count lines"})],
             input_tokens=300, output_tokens=40),
        Turn(text="Fixed the typo; README.md has 2 lines.", input_tokens=400, output_tokens=50),
    ]  # fmt: skip
    result, sink = await run_claude(claude, model, workdir, tmp_path)

    assert result.ok, result.error
    assert readme.read_text() == "# Greeting\nhello world\n"
    assert (workdir / "lines.txt").read_text().split()[0] == "2"
    assert result.output == "Fixed the typo; README.md has 2 lines."
    assert model.turns == []  # every scripted turn was asked for
    # The CLI's tool results went back to the model: the file's text after the Read.
    sent = str(model.requests[1]["messages"])
    assert "helo world" in sent
    calls = [c["name"] for c in of_type(sink, "agent.tool_call")]
    assert calls == ["Read", "Edit", "Bash"]
    assert result.session_id and of_type(sink, "agent.session") == [{"session_id": result.session_id}]
    # Input counts cache reads and writes too: 1,000 + the 50 read from the cache.
    assert (result.usage.input_tokens, result.usage.output_tokens) == (1050, 140)
    assert (result.usage.cached_input_tokens, result.usage.cache_write_tokens) == (50, 0)
    # The CLI prices the run from its own table for the model: $3/M input, $15/M output, $0.30/M read.
    assert result.usage.cost_usd == pytest.approx(1000 * 3e-6 + 140 * 15e-6 + 50 * 0.3e-6)


async def test_a_rejected_key_is_an_auth_failure(
    claude: str, model: ScriptedModel, workdir: Path, tmp_path: Path
) -> None:
    model.turns = [Turn(error_status=401, error_message="invalid x-api-key") for _ in range(2)]
    result, _ = await run_claude(claude, model, workdir, tmp_path)

    assert not result.ok
    assert (result.error_kind, result.retryable) == ("auth", False), result.error
    assert "Invalid API key" in (result.error or "") and KEY not in (result.error or "")


async def test_rate_limits_past_the_clis_retries_are_retryable(
    claude: str, model: ScriptedModel, workdir: Path, tmp_path: Path
) -> None:
    model.turns = [Turn(error_status=429, error_message="rate limited") for _ in range(2)]
    result, _ = await run_claude(claude, model, workdir, tmp_path)

    assert not result.ok
    assert (result.error_kind, result.retryable) == ("rate_limit", True), result.error
    assert model.turns == []  # asked, and retried once
