"""The `acp` agent driving a real ACP agent: Gemini CLI in ACP mode (`gemini --acp`, npm
`@google/gemini-cli`, installed by `./dev test`) against the scripted model server's Gemini API.
Its own tool loop reads a file through the bridge's fs/read_text_file, edits it through
fs/write_text_file after asking leave, runs a command, and ends its turn."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from scripted_model import ScriptedModel, ToolCall, Turn
from shipyard.agents.acp import AcpAgent
from shipyard.agents.gemini import SETTINGS
from shipyard.config import Settings
from shipyard.domain.events import ListSink
from shipyard.domain.models import AgentRequest, AgentResult
from shipyard.sandboxes.workspace import LocalWorkspace
from support import installed_cli, serving

KEY = "scripted-gemini-key-0123456789"
MODEL = "gemini-2.5-pro"  # named, so that the CLI does not ask its router first


def of_type(sink: ListSink, kind: str) -> list[dict[str, Any]]:
    return [data for t, data, _ in sink.events if t == kind]


def raw(sink: ListSink, kind: str) -> list[dict[str, Any]]:
    return [d["data"] for d in of_type(sink, "agent.raw") if d["data"].get("type") == kind]


@pytest.fixture
def gemini() -> str:
    return installed_cli("gemini")


async def run_gemini_acp(
    gemini: str, model: ScriptedModel, workdir: Path, tmp_path: Path, **request: Any
) -> tuple[AgentResult, ListSink]:
    # Gemini CLI takes an API key only when its user settings select it; its home is the operator's
    # to give (SHIPYARD_ACP_ENV hands GEMINI_CLI_HOME and the endpoint over).
    home = tmp_path / "gemini-home"
    (home / ".gemini").mkdir(parents=True)
    (home / ".gemini" / "settings.json").write_text(json.dumps(SETTINGS))
    settings = Settings(
        acp_command=shlex.join([gemini, "--acp", "-m", MODEL]),
        acp_env="GOOGLE_GEMINI_BASE_URL,GEMINI_CLI_HOME",
        gemini_api_key=KEY,
    )
    async with serving(model.app) as url:
        environ = {"GOOGLE_GEMINI_BASE_URL": url, "GEMINI_CLI_HOME": str(home)}
        agent = AcpAgent(settings, environ=environ)
        sink = ListSink()
        prompt = AgentRequest(prompt="Fix the greeting.", timeout_s=120, **request)
        result = await agent.run(prompt, LocalWorkspace(workdir, env={"HOME": str(tmp_path)}), sink)
        return result, sink


async def test_gemini_in_acp_mode_reads_edits_runs_and_finishes_as_scripted(
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
        Turn(tool_calls=[ToolCall("replace", edit)], input_tokens=200, output_tokens=30),
        Turn(tool_calls=[ToolCall("run_shell_command", count)], input_tokens=300, output_tokens=40),
        Turn(text="Fixed the typo; README.md has 2 lines.", input_tokens=400, output_tokens=50),
    ])  # fmt: skip
    result, sink = await run_gemini_acp(gemini, model, workdir, tmp_path)

    assert result.ok, result.error
    assert readme.read_text() == "# Greeting\nhello world\n"
    assert (workdir / "lines.txt").read_text().split()[0] == "2"
    assert result.output == "Fixed the typo; README.md has 2 lines."
    assert model.turns == []  # every scripted turn was asked for
    assert "helo world" in json.dumps(model.requests[1]["contents"][-1])  # the read went back
    assert result.session_id and of_type(sink, "agent.session") == [{"session_id": result.session_id}]
    messages = [m["text"] for m in of_type(sink, "agent.message") if m["role"] == "assistant"]
    assert messages == ["Let me read it.", "Fixed the typo; README.md has 2 lines."]
    calls = [(c["kind"], c["name"]) for c in of_type(sink, "agent.tool_call")]
    assert calls == [
        ("read", "README.md"),
        ("edit", "README.md: helo world => hello world"),
        ("execute", "wc -l README.md > lines.txt"),
    ]
    # The edit and the command were asked leave for, and given it for the one call.
    assert [p["outcome"] for p in raw(sink, "permission")] == ["allow_once", "allow_once"]
    assert [r["is_error"] for r in of_type(sink, "agent.tool_result")] == [False, False, False]
    # The file went through the bridge both ways, inside the workspace.
    fs = [(f["op"], Path(f["path"]).name) for f in raw(sink, "fs")]
    assert ("read", "README.md") in fs and ("write", "README.md") in fs
    assert KEY not in json.dumps(sink.events)
