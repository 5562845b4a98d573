"""Work orders run by real agent CLIs against the scripted model server, through the whole of
Shipyard: the engine, a git worktree sandbox, the step's commit and the pull request at the end."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli_kit import shipyard
from scripted_model import CODEX_MODEL, ScriptedModel, ToolCall, Turn, codex_home, opencode_config
from shipyard.agents.claude import bundled_claude
from shipyard.cli.server import RunningServer, running_server
from shipyard.config import Settings
from support import MakeRepo, MakeSettings, git, installed_cli, wait_done

KEY = "sk-ant-scripted-e2e-0123456789"
OPENAI_KEY = "sk-scripted-codex-e2e-0123456789"
GEMINI_KEY = "scripted-gemini-e2e-0123456789"
# What aider's --model-metadata-file says of a model litellm does not know: USD per token.
AIDER_METADATA = {
    "openai/scripted-model": {
        "max_input_tokens": 128000,
        "max_output_tokens": 4096,
        "input_cost_per_token": 3e-6,
        "output_cost_per_token": 15e-6,
        "litellm_provider": "openai",
        "mode": "chat",
    }
}


@pytest.fixture
def claude_settings(
    make_settings: MakeSettings,
    model: tuple[ScriptedModel, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    claude = bundled_claude()
    assert claude, "claude-agent-sdk ships its CLI in the wheel for this platform; it is missing"
    # What an operator sets in the worker's environment for the CLI: the endpoint, a config dir of
    # its own, and one retry of an API error.
    monkeypatch.setenv("ANTHROPIC_BASE_URL", model[1])
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude-config"))
    monkeypatch.setenv("CLAUDE_CODE_MAX_RETRIES", "1")
    return make_settings(
        agent="claude", claude_binary=claude, anthropic_api_key=KEY, claude_model="claude-sonnet-4-5"
    )


@pytest.fixture
def codex_settings(
    make_settings: MakeSettings,
    model: tuple[ScriptedModel, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    # What an operator sets in the worker's environment for the CLI: a config dir whose config.toml
    # names the endpoint as its model provider, with one retry of an API error.
    monkeypatch.setenv("CODEX_HOME", str(codex_home(tmp_path / "codex-home", model[1])))
    model[0].model = CODEX_MODEL
    return make_settings(agent="codex", codex_binary=installed_cli("codex"), openai_api_key=OPENAI_KEY)


@pytest.fixture
def opencode_settings(
    make_settings: MakeSettings, model: tuple[ScriptedModel, str], monkeypatch: pytest.MonkeyPatch
) -> Settings:
    # What an operator sets in the worker's environment for the CLI: its config, whose provider is
    # the endpoint (its key read from OPENAI_API_KEY) and whose default model is that provider's.
    model[0].model = "scripted-model"
    prices = {"input": 3.0, "output": 15.0}
    monkeypatch.setenv("OPENCODE_CONFIG_CONTENT", opencode_config(model[1], "scripted-model", prices))
    return make_settings(
        agent="opencode", opencode_binary=installed_cli("opencode"), openai_api_key=OPENAI_KEY
    )


@pytest.fixture
def gemini_settings(
    make_settings: MakeSettings, model: tuple[ScriptedModel, str], monkeypatch: pytest.MonkeyPatch
) -> Settings:
    # What an operator sets in the worker's environment for the CLI: the Gemini API endpoint.
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", model[1])
    # A model named, so that the CLI does not ask its router model first (a side call per turn).
    return make_settings(
        agent="gemini",
        gemini_binary=installed_cli("gemini"),
        gemini_api_key=GEMINI_KEY,
        gemini_model="gemini-2.5-pro",
    )


@pytest.fixture
def aider_settings(
    make_settings: MakeSettings,
    model: tuple[ScriptedModel, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    # What an operator sets in the worker's environment for the CLI: the metadata (prices, context
    # window) of a model litellm does not know. Aider offers no tools: each request takes a turn.
    metadata = tmp_path / "aider-models.json"
    metadata.write_text(json.dumps(AIDER_METADATA))
    monkeypatch.setenv("AIDER_MODEL_METADATA_FILE", str(metadata))
    scripted, url = model
    scripted.model, scripted.main_loop_offers_tools = "scripted-model", False
    return make_settings(
        agent="aider",
        aider_binary=installed_cli("aider", pypi=True),
        aider_model="openai/scripted-model",
        openai_api_key=OPENAI_KEY,
        openai_base_url=f"{url}/v1",
    )


@contextlib.asynccontextmanager
async def api_of(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Shipyard (API, worker, engine) on `settings`, and a client of its API."""
    server: RunningServer
    async with (
        running_server(settings, persistent=False, port=0, announce=False) as server,
        httpx.AsyncClient(base_url=server.url, timeout=30) as client,
    ):
        yield client


def greeting_repo(make_repo: MakeRepo) -> Path:
    """A repository whose README has a typo in its greeting."""
    repo = make_repo()
    (repo / "README.md").write_text("# Greeting\nhelo world\n")
    git(repo, "add", "README.md")
    git(repo, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "readme")
    return repo


async def fix_the_greeting(api: httpx.AsyncClient, repo: Path, session: bool = True) -> dict[str, Any]:
    """Run the build workflow on `repo`; check that it committed the fix and opened its pull
    request (and that the agent's session was kept, for an agent that has one); return the work
    order."""
    body = {
        "repository_url": str(repo),
        "workflow_type": "agent_workflow_build",
        "inputs": {"prompt": "Fix the typo in the greeting"},
    }
    created = (await api.post("/api/agent-work-orders", json=body)).raise_for_status().json()
    wo = await wait_done(api, created["agent_work_order"]["agent_work_order_id"], timeout_s=180)

    assert wo["status"] == "completed", wo["error_message"]
    branch = wo["git_branch_name"]
    assert git(repo, "show", f"{branch}:README.md") == "# Greeting\nhello world\n"
    assert git(repo, "log", "-1", "--format=%s", branch).startswith("build: Fix the typo in the greeting")
    steps = (await api.get(f"/api/agent-work-orders/{wo['agent_work_order_id']}/steps")).json()["steps"]
    build = next(s for s in steps if s["step_id"] == "build")
    assert build["status"] == "completed"
    assert bool(wo["agent_session_id"]) == session
    assert wo["github_pull_request_url"]
    return wo


async def tool_calls(api: httpx.AsyncClient, wo: dict[str, Any]) -> list[str]:
    """The names of the agent's tool calls, from the work order's log."""
    logs = (
        await api.get(f"/api/agent-work-orders/{wo['agent_work_order_id']}/logs", params={"limit": 500})
    ).json()
    return [e["name"] for e in logs["log_entries"] if e["event"] == "agent.tool_call"]


async def test_claude_fixes_a_file_and_the_work_order_commits_it_and_opens_a_pull_request(
    claude_settings: Settings, model: tuple[ScriptedModel, str], make_repo: MakeRepo
) -> None:
    scripted, _ = model
    repo = greeting_repo(make_repo)
    scripted.turns = [
        Turn(text="Reading it.", tool_calls=[ToolCall("Read", {"file_path": "{cwd}/README.md"})],
             input_tokens=120, output_tokens=10),
        Turn(tool_calls=[ToolCall("Edit", {"file_path": "{cwd}/README.md", "old_string": "helo",
                                           "new_string": "hello"})], input_tokens=220, output_tokens=20),
        Turn(tool_calls=[ToolCall("Bash", {"command": "grep -c hello README.md", "description": "Check"})],
             input_tokens=320, output_tokens=30),
        Turn(text="Fixed the greeting.", input_tokens=420, output_tokens=40),
    ]  # fmt: skip
    async with api_of(claude_settings) as api:
        wo = await fix_the_greeting(api, repo)
        calls = await tool_calls(api, wo)

    assert scripted.turns == []
    usage = wo["usage"]
    assert (usage["input_tokens"], usage["output_tokens"]) == (1080, 100)
    assert {r["model"] for r in scripted.requests} == {"claude-sonnet-4-5"}
    # The CLI prices the run from its own table for the model: $3/M input, $15/M output.
    assert usage["cost_usd"] == pytest.approx(1080 * 3e-6 + 100 * 15e-6)
    assert calls == ["Read", "Edit", "Bash"]


async def test_codex_fixes_a_file_and_the_work_order_commits_it_and_opens_a_pull_request(
    codex_settings: Settings, model: tuple[ScriptedModel, str], make_repo: MakeRepo
) -> None:
    scripted, _ = model
    repo = greeting_repo(make_repo)
    patch = "*** Begin Patch\n*** Update File: README.md\n@@\n-helo world\n+hello world\n*** End Patch\n"
    scripted.turns = [
        Turn(text="Reading it.", tool_calls=[ToolCall("exec_command", {"cmd": "cat README.md"})],
             input_tokens=120, output_tokens=10),
        Turn(tool_calls=[ToolCall("apply_patch", patch)], input_tokens=220, output_tokens=20),
        Turn(tool_calls=[ToolCall("exec_command", {"cmd": "grep -c hello README.md"})],
             input_tokens=320, output_tokens=30),
        Turn(text="Fixed the greeting.", input_tokens=420, output_tokens=40),
    ]  # fmt: skip
    async with api_of(codex_settings) as api:
        wo = await fix_the_greeting(api, repo)
        calls = await tool_calls(api, wo)

    assert scripted.turns == []
    usage = wo["usage"]
    assert (usage["input_tokens"], usage["output_tokens"]) == (1080, 100)
    assert {r["model"] for r in scripted.requests} == {CODEX_MODEL}
    # Codex reports no price: Shipyard's estimate at genai-prices' gpt-5.5 rates, $5/M in, $30/M out.
    assert usage["cost_usd"] == pytest.approx(1080 * 5e-6 + 100 * 30e-6) and usage["cost_estimated"]
    assert calls == ["command_execution", "file_change", "command_execution"]


async def test_opencode_fixes_a_file_and_the_work_order_commits_it_and_opens_a_pull_request(
    opencode_settings: Settings, model: tuple[ScriptedModel, str], make_repo: MakeRepo
) -> None:
    scripted, _ = model
    repo = greeting_repo(make_repo)
    edit = {"filePath": "{cwd}/README.md", "oldString": "helo", "newString": "hello"}
    scripted.turns = [
        Turn(text="Reading it.", tool_calls=[ToolCall("read", {"filePath": "{cwd}/README.md"})],
             input_tokens=120, output_tokens=10),
        Turn(tool_calls=[ToolCall("edit", edit)], input_tokens=220, output_tokens=20),
        Turn(tool_calls=[ToolCall("bash", {"command": "grep -c hello README.md", "description": "Check"})],
             input_tokens=320, output_tokens=30),
        Turn(text="Fixed the greeting.", input_tokens=420, output_tokens=40),
    ]  # fmt: skip
    async with api_of(opencode_settings) as api:
        wo = await fix_the_greeting(api, repo)
        calls = await tool_calls(api, wo)

    assert scripted.turns == []
    usage = wo["usage"]
    assert (usage["input_tokens"], usage["output_tokens"]) == (1080, 100)
    assert {r["model"] for r in scripted.requests} == {"scripted-model"}
    # opencode prices the run itself at the rates its config gives the model: $3/M in, $15/M out.
    assert usage["cost_usd"] == pytest.approx(1080 * 3e-6 + 100 * 15e-6)
    assert calls == ["read", "edit", "bash"]


async def test_kilocode_fixes_a_file_and_the_work_order_commits_it_and_opens_a_pull_request(
    kilocode_settings: Settings, model: tuple[ScriptedModel, str], make_repo: MakeRepo
) -> None:
    scripted, _ = model
    repo = greeting_repo(make_repo)
    edit = {"filePath": "{cwd}/README.md", "oldString": "helo", "newString": "hello"}
    scripted.turns = [
        Turn(text="Reading it.", tool_calls=[ToolCall("read", {"filePath": "{cwd}/README.md"})],
             input_tokens=130, output_tokens=10),
        Turn(tool_calls=[ToolCall("edit", edit)], input_tokens=230, output_tokens=20),
        Turn(tool_calls=[ToolCall("bash", {"command": "grep -c hello README.md", "description": "Check"})],
             input_tokens=330, output_tokens=30),
        Turn(text="Fixed the greeting.", input_tokens=430, output_tokens=40),
    ]  # fmt: skip
    async with api_of(kilocode_settings) as api:
        wo = await fix_the_greeting(api, repo)
        calls = await tool_calls(api, wo)

    assert scripted.turns == []
    assert "Fix the typo in the greeting" in str(scripted.requests[0]["messages"])
    usage = wo["usage"]
    assert (usage["input_tokens"], usage["output_tokens"]) == (1120, 100)
    assert {r["model"] for r in scripted.requests} == {"scripted-model"}
    # Kilo prices the run itself at the rates its config gives the model: $3/M in, $15/M out.
    assert usage["cost_usd"] == pytest.approx(1120 * 3e-6 + 100 * 15e-6)
    assert calls == ["read", "edit", "bash"]
    assert wo["agent_session_id"].startswith("ses_")


async def test_gemini_fixes_a_file_and_the_work_order_commits_it_and_opens_a_pull_request(
    gemini_settings: Settings, model: tuple[ScriptedModel, str], make_repo: MakeRepo
) -> None:
    scripted, _ = model
    repo = greeting_repo(make_repo)
    edit = {"file_path": "{cwd}/README.md", "instruction": "Fix the typo.", "old_string": "helo",
            "new_string": "hello"}  # fmt: skip
    check = {"command": "grep -c hello README.md", "description": "Check"}
    scripted.turns = [
        Turn(text="Reading it.", tool_calls=[ToolCall("read_file", {"file_path": "{cwd}/README.md"})],
             input_tokens=120, output_tokens=10),
        Turn(tool_calls=[ToolCall("replace", edit)], input_tokens=220, output_tokens=20),
        Turn(tool_calls=[ToolCall("run_shell_command", check)], input_tokens=320, output_tokens=30),
        Turn(text="Fixed the greeting.", input_tokens=420, output_tokens=40),
    ]  # fmt: skip
    async with api_of(gemini_settings) as api:
        wo = await fix_the_greeting(api, repo)
        calls = await tool_calls(api, wo)

    assert scripted.turns == []
    usage = wo["usage"]
    assert (usage["input_tokens"], usage["output_tokens"]) == (1080, 100)
    assert scripted.side_requests == []  # the model named: no router call first
    # Gemini CLI reports no price: Shipyard's estimate at gemini-2.5-pro's $1.25/M in, $10/M out.
    assert usage["cost_usd"] == pytest.approx(1080 * 1.25e-6 + 100 * 10e-6) and usage["cost_estimated"]
    assert calls == ["read_file", "replace", "run_shell_command"]


async def test_aider_fixes_a_file_and_the_work_order_commits_it_and_opens_a_pull_request(
    aider_settings: Settings, model: tuple[ScriptedModel, str], make_repo: MakeRepo
) -> None:
    scripted, _ = model
    repo = greeting_repo(make_repo)
    # Unknown to aider, the model gets its `whole` edit format: the file's new text in a fence.
    scripted.turns = [
        Turn(text="The greeting is in README.md.", input_tokens=120, output_tokens=10),
        Turn(text="README.md\n```\n# Greeting\nhello world\n```\n\nFixed the greeting.",
             input_tokens=220, output_tokens=20),
    ]  # fmt: skip
    async with api_of(aider_settings) as api:
        wo = await fix_the_greeting(api, repo, session=False)
        calls = await tool_calls(api, wo)

    assert scripted.turns == []
    usage = wo["usage"]
    assert (usage["turns"], usage["input_tokens"], usage["output_tokens"]) == (2, 340, 30)
    # Aider prices the run itself, at the rates of its metadata file: $3/M in, $15/M out.
    assert usage["cost_usd"] == pytest.approx(340 * 3e-6 + 30 * 15e-6)
    assert calls == ["edit"]
    # Shipyard committed aider's edit, and nothing of aider's own (its repo map's cache).
    assert git(repo, "ls-tree", "-r", "--name-only", wo["git_branch_name"]).split() == ["README.md"]


async def test_a_cost_budget_stops_claude_at_the_message_that_crosses_it_and_keeps_the_session(
    claude_settings: Settings, model: tuple[ScriptedModel, str], make_repo: MakeRepo, tmp_path: Path
) -> None:
    scripted, _ = model
    # Each turn costs $0.03 at Sonnet 4.5's $3/M input: the second crosses a $0.05 budget. The CLI
    # gives its own total only at the end, so Shipyard prices each message as it streams.
    check = ToolCall("Bash", {"command": "true", "description": "Check"})
    scripted.turns = [Turn(tool_calls=[check], input_tokens=10_000, output_tokens=1) for _ in range(4)]
    scripted.turns.append(Turn(text="Done."))
    body = {
        "repository_url": str(make_repo()),
        "workflow_type": "agent_workflow_build",
        "inputs": {"prompt": "Check things"},
        "budget": {"max_cost_usd": 0.05},
    }
    async with api_of(claude_settings) as api:
        created = (await api.post("/api/agent-work-orders", json=body)).raise_for_status().json()
        wo = await wait_done(api, created["agent_work_order"]["agent_work_order_id"], timeout_s=180)
        wo_id, server = wo["agent_work_order_id"], str(api.base_url)
        shown = await asyncio.to_thread(shipyard, tmp_path / "cli", "show", wo_id, SHIPYARD_SERVER=server)

    assert wo["status"] == "failed"
    assert "budget_exceeded" in wo["error_message"] and "max_cost_usd" in wo["error_message"]
    assert len(scripted.requests) <= 3  # stopped at the second answer (the CLI may have asked once more)
    assert wo["agent_session_id"]  # kept, to resume from
    assert wo["usage"]["cost_usd"] == pytest.approx(2 * (10_000 * 3e-6 + 1 * 15e-6))
    assert wo["usage"]["cost_estimated"] is True
    assert "~$0.06 (estimated)" in shown.stdout, shown.stdout
