"""CursorAgent against a fake `cursor-agent` (fakes/fake_cli.py) printing the stream-json lines
Cursor documents (cursor.com/docs/cli/reference/output-format). The real CLI is installed by a
script from Cursor's site, on no package registry, and needs a Cursor account: it cannot run here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent_testkit import FakeCli

from shipyard.agents.cursor import CursorAgent
from shipyard.config import Settings
from shipyard.domain.events import ListSink
from shipyard.domain.models import AgentRequest, AgentResult
from shipyard.sandboxes.workspace import LocalWorkspace

SESSION = "c6b62c6f-7ead-4fd6-9922-e952131177ff"
KEY = "key_cursor_test_0123456789abcdef"


def line(**fields: Any) -> dict[str, Any]:
    return {**fields, "session_id": SESSION}


def tool(subtype: str, call_id: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
    return line(type="tool_call", subtype=subtype, call_id=call_id, tool_call={key: body})


def assistant(text: str) -> dict[str, Any]:
    return line(type="assistant", message={"role": "assistant", "content": [{"type": "text", "text": text}]})


READ_ARGS = {"path": "hello.txt"}
WRITE_ARGS = {"path": "hello.txt", "fileText": "hello world\n"}
SHELL_ARGS = {"command": "false"}
RESULT = line(
    type="result",
    subtype="success",
    is_error=False,
    duration_ms=5234,
    duration_api_ms=5234,
    result="Let me read it.Fixed hello.txt.",
    request_id="10e11780-df2f-45dc-a1ff-4540af32e9c0",
)
SUCCESS: list[Any] = [
    line(type="system", subtype="init", apiKeySource="env", cwd="/w", model="Claude 4 Sonnet",
         permissionMode="default"),
    line(type="user", message={"role": "user", "content": [{"type": "text", "text": "fix hello.txt"}]}),
    line(type="thinking", subtype="delta", text="Reading the "),
    line(type="thinking", subtype="delta", text="file first."),
    line(type="thinking", subtype="completed"),
    assistant("Let me read it."),
    tool("started", "toolu_1", "readToolCall", {"args": READ_ARGS}),
    tool("completed", "toolu_1", "readToolCall", {"args": READ_ARGS, "result": {"success": {
        "content": "helo world\n", "isEmpty": False, "exceededLimit": False, "totalLines": 1}}}),
    tool("started", "toolu_2", "writeToolCall", {"args": WRITE_ARGS}),
    tool("completed", "toolu_2", "writeToolCall", {"args": WRITE_ARGS, "result": {"success": {
        "path": "/w/hello.txt", "linesCreated": 1, "fileSize": 12}}}),
    tool("started", "toolu_3", "shellToolCall", {"args": SHELL_ARGS}),
    tool("completed", "toolu_3", "shellToolCall", {"args": SHELL_ARGS, "result": {"success": {
        "command": "false", "exitCode": 1, "stdout": "", "stderr": "nope\n"}}}),
    assistant("Fixed hello.txt."),
    RESULT,
]  # fmt: skip


def of_type(sink: ListSink, kind: str) -> list[dict[str, Any]]:
    return [data for t, data, _ in sink.events if t == kind]


async def run(
    cli: FakeCli, workdir: Path, grace_s: float = 10.0, **request: Any
) -> tuple[AgentResult, ListSink]:
    settings = Settings(cursor_binary=str(cli.binary), cursor_api_key=KEY)
    agent = CursorAgent(settings, exit_grace_s=grace_s, environ={})
    sink = ListSink()
    result = await agent.run(AgentRequest(prompt="fix hello.txt", **request), LocalWorkspace(workdir), sink)
    return result, sink


async def test_a_run_streams_messages_tool_calls_and_its_result(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    cli = fake_cli("cursor-agent", stdout=SUCCESS)
    result, sink = await run(cli, workdir, model="sonnet-4")

    assert result.ok, result.error
    assert (result.output, result.session_id) == ("Fixed hello.txt.", SESSION)
    assert of_type(sink, "agent.session") == [{"session_id": SESSION}]
    messages = [(m["role"], m["text"]) for m in of_type(sink, "agent.message")]
    assert messages == [
        ("thinking", "Reading the file first."),
        ("assistant", "Let me read it."),
        ("assistant", "Fixed hello.txt."),
    ]
    calls = of_type(sink, "agent.tool_call")
    assert [(c["name"], c["id"], c["input"]) for c in calls] == [
        ("read", "toolu_1", READ_ARGS),
        ("write", "toolu_2", WRITE_ARGS),
        ("shell", "toolu_3", SHELL_ARGS),
    ]
    results = of_type(sink, "agent.tool_result")
    assert [(r["id"], r["is_error"], r["exit_code"]) for r in results] == [
        ("toolu_1", False, None),
        ("toolu_2", False, None),
        ("toolu_3", True, 1),  # a command that failed, though its outcome is `success`
    ]
    assert results[0]["content"] == "helo world\n"
    assert results[2]["content"] == "nope\n"
    # A turn per answer of the model (its text and calls until a tool result); no usage reported.
    assert (result.usage.turns, result.usage.input_tokens, result.usage.cost_usd) == (4, 0, None)
    assert of_type(sink, "agent.usage")[-1]["final"] is True


async def test_the_cli_gets_print_flags_the_prompt_as_argument_and_the_key(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    cli = fake_cli("cursor-agent", stdout=SUCCESS)
    _, sink = await run(cli, workdir, model="sonnet-4", session_id=SESSION)
    record = cli.record()

    argv = record["argv"]
    assert argv[:6] == ["-p", "--output-format", "stream-json", "--force", "--trust", "--model"]
    assert argv[argv.index("--model") + 1] == "sonnet-4"
    assert argv[argv.index("--resume") + 1] == SESSION  # the session the run goes on with
    assert argv[-1] == "fix hello.txt"
    assert record["stdin"] == ""
    assert record["env"]["CURSOR_API_KEY"] == KEY
    assert KEY not in json.dumps(sink.events)


async def test_usage_in_the_result_is_counted_when_the_cli_reports_it(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    usage = {"inputTokens": 14948, "outputTokens": 103, "cacheReadTokens": 9000, "cacheWriteTokens": 52}
    cli = fake_cli("cursor-agent", stdout=[*SUCCESS[:-1], {**RESULT, "usage": usage}])
    result, _ = await run(cli, workdir)

    assert result.ok, result.error
    got = result.usage
    assert (got.input_tokens, got.cached_input_tokens, got.cache_write_tokens) == (24000, 9000, 52)
    assert got.output_tokens == 103


async def test_a_cli_that_lingers_after_its_result_is_stopped_and_the_run_succeeds(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    # Print mode sometimes does not exit after its result line: the adapter stops it after a grace.
    cli = fake_cli("cursor-agent", stdout=SUCCESS, sleep_s=600)
    result, _ = await run(cli, workdir, grace_s=0.5, timeout_s=300)

    assert result.ok, result.error
    assert result.output == "Fixed hello.txt."
    pid = cli.record()["pid"]
    assert not Path(f"/proc/{pid}").exists()  # the fake is gone, not left sleeping


async def test_an_error_result_fails_and_is_classified(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    error = line(
        type="result",
        subtype="error",
        is_error=True,
        duration_ms=800,
        result="429 Too Many Requests: rate limit",
    )
    cli = fake_cli("cursor-agent", stdout=[SUCCESS[0], error], exit_code=1)
    result, sink = await run(cli, workdir)

    assert not result.ok
    assert (result.error_kind, result.retryable) == ("rate_limit", True)
    assert result.error == "429 Too Many Requests: rate limit"
    assert (result.session_id, result.output) == (SESSION, "")
    assert [level for t, _, level in sink.events if t == "agent.raw"] == ["warning"]  # the result line


async def test_a_failure_before_any_result_reports_stderr(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    cli = fake_cli("cursor-agent", stderr=["Error: Authentication required. Please run 'agent login' first"],
                   exit_code=1)  # fmt: skip
    result, _ = await run(cli, workdir)

    assert not result.ok
    assert result.error == (
        "cursor-agent exited with code 1 without a result: "
        "Error: Authentication required. Please run 'agent login' first"
    )
    assert result.session_id is None


def test_check_wants_a_key_or_a_login(fake_cli: Callable[..., FakeCli], tmp_path: Path) -> None:
    cli = fake_cli("cursor-agent", stdout=["2026.08.11-e8db854"])
    environ = {"CURSOR_CONFIG_DIR": str(tmp_path / "cfg"), "XDG_CONFIG_HOME": str(tmp_path)}
    bare = CursorAgent(Settings(cursor_binary=str(cli.binary), cursor_api_key=None), environ=environ)
    before = bare.check()
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "cli-config.json").write_text(json.dumps({"authInfo": {"email": "a@b.c"}}))
    after = bare.check()
    missing = CursorAgent(Settings(cursor_binary=str(tmp_path / "nowhere")), environ={}).check()

    assert (before.state, before.version) == ("no credentials", "2026.08.11-e8db854")
    assert before.reason == "set CURSOR_API_KEY or log in with `cursor-agent login`"
    assert after.state == "ready"
    assert missing.state == "not installed"
    assert "cursor.com/install" in missing.reason
