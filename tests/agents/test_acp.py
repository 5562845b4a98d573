"""AcpAgent with a small ACP agent written against the SDK (fakes/acp_agent.py): the real bridge
runs inside the workspace (a local directory, and a bubblewrap sandbox), speaks ACP with the
agent, answers its permission and file requests there, and the adapter makes events and a result
of what it prints."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from shipyard.agents.acp import AcpAgent
from shipyard.config import Settings
from shipyard.domain.events import ListSink
from shipyard.domain.models import AgentRequest, AgentResult
from shipyard.sandboxes.base import Workspace
from shipyard.sandboxes.bwrap import BwrapSandbox, BwrapWorkspace
from shipyard.sandboxes.workspace import LocalWorkspace

FAKE_AGENT = Path(__file__).parent / "fakes" / "acp_agent.py"
KEY = "sk-ant-acp-test-0123456789"


def of_type(sink: ListSink, kind: str) -> list[dict[str, Any]]:
    return [data for t, data, _ in sink.events if t == kind]


def raw(sink: ListSink, kind: str) -> list[dict[str, Any]]:
    return [d["data"] for d in of_type(sink, "agent.raw") if d["data"].get("type") == kind]


def agent_for(scenario: str = "work", script: Path = FAKE_AGENT, **settings: Any) -> AcpAgent:
    command = shlex.join([sys.executable, str(script), scenario])
    return AcpAgent(Settings(acp_command=command, anthropic_api_key=KEY, **settings), environ={})


async def run(
    workspace: Workspace,
    scenario: str = "work",
    prompt: str = "Write hello.txt from the notes.",
    script: Path = FAKE_AGENT,
    **request: Any,
) -> tuple[AgentResult, ListSink]:
    sink = ListSink()
    result = await agent_for(scenario, script).run(
        AgentRequest(prompt=prompt, timeout_s=60, **request), workspace, sink
    )
    return result, sink


@pytest.fixture
def notes(workdir: Path) -> Path:
    (workdir / "notes.txt").write_text("a first line\nthe note to copy\na third line\n")
    return workdir


async def assert_the_work_was_done(workdir: Path, result: AgentResult, sink: ListSink) -> None:
    assert result.ok, result.error
    # Written through fs/write_text_file inside the workspace, with line 2 of what fs/read_text_file gave.
    assert (workdir / "hello.txt").read_text() == "the note to copy\n"
    assert not (workdir.parent / "escape.txt").exists()  # a write outside is refused
    assert result.output == "Wrote hello.txt."
    assert result.session_id and len(result.session_id) == 36
    assert of_type(sink, "agent.session") == [{"session_id": result.session_id}]
    messages = [(m["role"], m["text"]) for m in of_type(sink, "agent.message")]
    assert messages == [
        ("thinking", "Notes first."),
        ("assistant", "Let me read the notes."),  # two chunks, one message
        ("assistant", "Wrote hello.txt."),
    ]
    calls = of_type(sink, "agent.tool_call")
    assert [(c["id"], c["name"], c["kind"]) for c in calls] == [
        ("call_1", "Read notes.txt", "read"),
        ("call_2", "Write hello.txt", "edit"),
        ("call_3", f"Write {workdir}/../escape.txt", "edit"),
    ]
    results = of_type(sink, "agent.tool_result")
    assert [(r["id"], r["is_error"]) for r in results] == [
        ("call_1", False),
        ("call_2", False),
        ("call_3", True),
    ]
    assert results[0]["content"] == "the note to copy\n"
    assert "outside the workspace" in results[2]["content"]["error"]
    assert [p["outcome"] for p in raw(sink, "permission")] == ["allow_once"]
    refused = [f for f in raw(sink, "fs") if f.get("error")]
    assert [(f["op"], f["path"]) for f in refused] == [("write", f"{workdir}/../escape.txt")]
    usage = result.usage
    # A turn per answer of the model: its text and calls until a tool result came back.
    assert (usage.turns, usage.input_tokens, usage.cached_input_tokens) == (4, 1200, 400)
    assert (usage.output_tokens, usage.reasoning_tokens, usage.cost_usd) == (80, 15, 0.0123)


async def test_an_acp_agent_reads_asks_writes_and_answers_in_a_local_workspace(notes: Path) -> None:
    result, sink = await run(LocalWorkspace(notes))

    await assert_the_work_was_done(notes, result, sink)
    assert KEY not in json.dumps(sink.events)


async def test_the_same_inside_a_bubblewrap_sandbox(notes: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    availability = BwrapSandbox.check(settings)
    if not availability.available:
        pytest.fail(f"bubblewrap cannot run here: {availability.reason}", pytrace=False)
    # The sandbox shows the workspace but not the tests' own files (a clone under /tmp is hidden).
    script = notes / ".acp_agent.py"
    shutil.copyfile(FAKE_AGENT, script)
    result, sink = await run(BwrapWorkspace(settings, notes), script=script)

    await assert_the_work_was_done(notes, result, sink)


async def test_a_permission_that_names_a_path_outside_is_refused(notes: Path) -> None:
    result, sink = await run(LocalWorkspace(notes), scenario="outside")

    assert result.ok, result.error  # the agent went on without it
    assert not (notes / "hello.txt").exists()
    [permission] = raw(sink, "permission")
    assert (permission["outcome"], permission["outside"]) == ("reject_once", ["/elsewhere/hello.txt"])
    results = {r["id"]: r for r in of_type(sink, "agent.tool_result")}
    assert results["call_2"]["is_error"] and results["call_2"]["content"] == {"error": "permission refused"}
    assert result.output == "I was not allowed to write hello.txt."


async def test_a_session_is_loaded_to_go_on_with_it(workdir: Path) -> None:
    earlier = "0b7e1a52-33a4-4a8e-9d59-6ab3f2d0c1e7"
    result, sink = await run(LocalWorkspace(workdir), prompt="resume, please", session_id=earlier)

    assert result.ok, result.error
    assert (result.session_id, result.output) == (earlier, f"Resumed {earlier}.")
    # The earlier turn the agent replays while loading is not news.
    assert [m["text"] for m in of_type(sink, "agent.message")] == [f"Resumed {earlier}."]


async def test_an_agent_that_crashes_fails_with_its_stderr(workdir: Path) -> None:
    result, _ = await run(LocalWorkspace(workdir), scenario="crash")

    assert not result.ok
    assert result.error_kind == "error"
    assert result.error.startswith("the agent exited with code 3 before it answered")
    assert result.error.endswith("boom: the model exploded")


async def test_a_turn_that_ends_other_than_end_turn_fails(workdir: Path) -> None:
    result, _ = await run(LocalWorkspace(workdir), scenario="refuse")

    assert not result.ok
    assert result.error == "the agent refused to go on (stopReason refusal)"
    assert result.output == "I will not."


async def test_a_missing_agent_program_fails_clearly(workdir: Path) -> None:
    agent = AcpAgent(Settings(acp_command="no-such-acp-agent --flag"), environ={})
    result = await agent.run(AgentRequest(prompt="hi", timeout_s=60), LocalWorkspace(workdir), ListSink())

    assert not result.ok
    assert "cannot start no-such-acp-agent" in (result.error or "")


def test_the_bridge_gets_the_session_model_and_the_agents_command_line() -> None:
    settings = Settings(
        acp_command=shlex.join([sys.executable, str(FAKE_AGENT), "work"]),
        acp_auth_method="gemini-api-key",
        acp_env="GOOGLE_GEMINI_BASE_URL, UNSET_ONE",
        anthropic_api_key=KEY,
    )
    agent = AcpAgent(settings, environ={"GOOGLE_GEMINI_BASE_URL": "http://127.0.0.1:9/"})
    argv = agent.command(AgentRequest(prompt="p", session_id="s-1", model="m-2"))
    env = agent.env()

    assert argv[:4] == [sys.executable, "-P", "-m", "shipyard.agents._acp_bridge"]
    assert argv[4:10] == ["--session", "s-1", "--model", "m-2", "--auth", "gemini-api-key"]
    assert argv[10:] == ["--", sys.executable, str(FAKE_AGENT), "work"]
    assert env["GOOGLE_GEMINI_BASE_URL"] == "http://127.0.0.1:9/" and "UNSET_ONE" not in env
    assert env["ANTHROPIC_API_KEY"] == KEY


def test_check_states() -> None:
    unset = AcpAgent(Settings(acp_command=None), environ={}).check()
    missing = AcpAgent(Settings(acp_command="no-such-acp-agent --flag"), environ={}).check()
    ready = agent_for().check()

    assert (unset.state, unset.installed) == ("not installed", False)
    assert "SHIPYARD_ACP_COMMAND" in unset.reason
    assert missing.state == "not installed" and "no-such-acp-agent" in missing.reason
    assert ready.state == "ready" and ready.version and ready.version.startswith("Python")
