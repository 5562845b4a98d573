"""ClaudeAgent against a fake `claude` replaying real stream-json, and against the real CLI."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from agent_testkit import FakeCli

from shipyard.agents.claude import ClaudeAgent, bundled_claude
from shipyard.config import Settings
from shipyard.domain.events import ListSink
from shipyard.domain.models import AgentRequest
from shipyard.sandboxes.workspace import LocalWorkspace

SESSION = "5f0c7f0e-8d1e-4d5b-9a4e-2b7e6c1d9a10"
KEY = "sk-ant-test-0123456789abcdef"


def assistant(message_id: str, blocks: list[dict[str, Any]], usage: dict[str, int]) -> dict[str, Any]:
    message = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": blocks,
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**usage, "service_tier": "standard"},
    }
    return {
        "type": "assistant",
        "message": message,
        "parent_tool_use_id": None,
        "session_id": SESSION,
        "uuid": str(uuid.uuid4()),
    }


def tool_result(tool_use_id: str, content: Any, is_error: bool = False) -> dict[str, Any]:
    block = {
        "tool_use_id": tool_use_id,
        "type": "tool_result",
        "content": content,
        "is_error": is_error,
    }
    return {
        "type": "user",
        "message": {"role": "user", "content": [block]},
        "parent_tool_use_id": None,
        "session_id": SESSION,
        "uuid": str(uuid.uuid4()),
    }


def result_line(**fields: Any) -> dict[str, Any]:
    base = {
        "type": "result",
        "subtype": "success",
        "is_error": False,
        "duration_ms": 5123,
        "duration_api_ms": 4800,
        "num_turns": 3,
        "session_id": SESSION,
        "total_cost_usd": 0.0123,
        "permission_denials": [],
        "uuid": str(uuid.uuid4()),
    }
    return {**base, **fields}


INIT = {
    "type": "system",
    "subtype": "init",
    "cwd": "/work/x",
    "session_id": SESSION,
    "tools": ["Bash", "Edit", "Read", "Write"],
    "mcp_servers": [],
    "model": "claude-sonnet-4-5",
    "permissionMode": "bypassPermissions",
    "apiKeySource": "ANTHROPIC_API_KEY",
    "claude_code_version": "2.1.330",
    "uuid": str(uuid.uuid4()),
}
U1 = {
    "input_tokens": 3,
    "cache_creation_input_tokens": 1200,
    "cache_read_input_tokens": 10000,
    "output_tokens": 90,
}
U2 = {
    "input_tokens": 5,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 11300,
    "output_tokens": 40,
}
U3 = {
    "input_tokens": 2,
    "cache_creation_input_tokens": 100,
    "cache_read_input_tokens": 11400,
    "output_tokens": 20,
}
TOTAL = {
    "input_tokens": 10,
    "cache_creation_input_tokens": 1300,
    "cache_read_input_tokens": 32700,
    "output_tokens": 150,
}
BIG_COMMAND = "echo " + "x" * 20_000

SUCCESS_LINES: list[Any] = [
    INIT,
    assistant("msg_01A", [{"type": "text", "text": "I'll create the file."}], U1),
    assistant(
        "msg_01A",
        [
            {
                "type": "tool_use",
                "id": "toolu_01",
                "name": "Write",
                "input": {"file_path": "hello.txt", "content": "hi\n"},
            }
        ],
        U1,
    ),
    tool_result("toolu_01", "File created successfully at: hello.txt"),
    {
        "type": "system",
        "subtype": "compact_boundary",
        "session_id": SESSION,
        "compact_metadata": {"trigger": "auto", "pre_tokens": 150000},
    },
    {
        "type": "rate_limit_event",
        "rate_limit_info": {"status": "allowed", "resetsAt": 1760000000},
        "session_id": SESSION,
    },
    "a stray warning that is not JSON",
    assistant(
        "msg_02B",
        [{"type": "tool_use", "id": "toolu_02", "name": "Bash", "input": {"command": BIG_COMMAND}}],
        U2,
    ),
    tool_result("toolu_02", [{"type": "text", "text": "permission denied"}], is_error=True),
    assistant("msg_03C", [{"type": "text", "text": "Done: created hello.txt."}], U3),
    result_line(
        result="Done: created hello.txt.",
        usage=TOTAL,
        modelUsage={"claude-sonnet-4-5": {"costUSD": 0.0123}},
    ),
]


def of_type(sink: ListSink, kind: str) -> list[dict[str, Any]]:
    return [data for t, data, _ in sink.events if t == kind]


async def run(agent: ClaudeAgent, workdir: Path, **request: Any) -> tuple[Any, ListSink]:
    sink = ListSink()
    result = await agent.run(
        AgentRequest(prompt=request.pop("prompt", "make hello.txt"), **request),
        LocalWorkspace(workdir),
        sink,
    )
    return result, sink


async def test_stream_json_becomes_events_usage_and_final_text(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    cli = fake_cli(stdout=SUCCESS_LINES)
    settings = Settings(claude_binary=str(cli.binary), anthropic_api_key=KEY)
    agent = ClaudeAgent(settings, environ={})
    result, sink = await run(agent, workdir, model="sonnet")

    assert result.ok, result.error
    assert result.output == "Done: created hello.txt."
    assert result.session_id == SESSION
    assert (result.usage.turns, result.usage.input_tokens, result.usage.output_tokens) == (
        3,
        34010,
        150,
    )
    assert result.usage.cost_usd == pytest.approx(0.0123)
    assert of_type(sink, "agent.session") == [{"session_id": SESSION}]
    texts = [m["text"] for m in of_type(sink, "agent.message")]
    assert texts == ["I'll create the file.", "Done: created hello.txt."]
    calls = of_type(sink, "agent.tool_call")
    assert [c["name"] for c in calls] == ["Write", "Bash"]
    assert calls[0]["input"] == {"file_path": "hello.txt", "content": "hi\n"}
    assert isinstance(calls[1]["input"], str) and len(calls[1]["input"]) < 5000
    results = of_type(sink, "agent.tool_result")
    assert [(r["is_error"], r["content"]) for r in results] == [
        (False, "File created successfully at: hello.txt"),
        (True, "permission denied"),
    ]
    raw_types = [r["data"].get("type") for r in of_type(sink, "agent.raw")]
    assert raw_types == ["system", "rate_limit_event"]
    assert {"stream": "stdout", "line": "a stray warning that is not JSON"} in of_type(sink, "log")
    usage_events = [
        (u["turns"], u["input_tokens"], u["output_tokens"], u["final"]) for u in of_type(sink, "agent.usage")
    ]
    # msg_01A arrives twice with the same usage and is counted once.
    assert usage_events == [
        (1, 11203, 90, False),
        (2, 22508, 130, False),
        (3, 34010, 150, False),
        (3, 34010, 150, True),
    ]


async def test_the_cli_gets_flags_prompt_on_stdin_and_only_the_credentials_it_needs(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    cli = fake_cli(stdout=SUCCESS_LINES)
    settings = Settings(claude_binary=str(cli.binary), anthropic_api_key=KEY, claude_model="opus")
    agent = ClaudeAgent(
        settings, environ={"CLAUDE_CODE_OAUTH_TOKEN": "oauth-token-xyz", "AWS_SECRET": "nope"}
    )
    _, sink = await run(agent, workdir, prompt="fix the bug", session_id="prev-session")

    record = cli.record()
    argv = record["argv"]
    assert argv[:4] == ["-p", "--output-format", "stream-json", "--verbose"]
    assert argv[argv.index("--permission-mode") + 1] == "bypassPermissions"
    assert argv[argv.index("--model") + 1] == "opus"
    assert argv[argv.index("--resume") + 1] == "prev-session"
    assert record["stdin"] == "fix the bug"
    env = record["env"]
    assert env["ANTHROPIC_API_KEY"] == KEY
    assert env["CLAUDE_CODE_OAUTH_TOKEN"] == "oauth-token-xyz"
    assert env["IS_SANDBOX"] == "1"
    assert "AWS_SECRET" not in env
    assert KEY not in json.dumps(sink.events)


async def test_usage_is_summed_per_message_when_the_result_has_no_totals(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    lines = [*SUCCESS_LINES[:-1], result_line(result="ok", num_turns=None, total_cost_usd=None)]
    cli = fake_cli(stdout=lines)
    result, _ = await run(ClaudeAgent(Settings(claude_binary=str(cli.binary)), environ={}), workdir)
    assert result.ok
    assert (result.usage.turns, result.usage.input_tokens, result.usage.output_tokens) == (
        3,
        34010,
        150,
    )
    # Without the agent's total, the cost is the estimate at Sonnet 4.5's list prices: 10 input tokens
    # at $3/M, 1,300 written to the cache at $3.75/M, 32,700 read from it at $0.30/M, 150 out at $15/M.
    assert result.usage.cost_estimated
    assert result.usage.cost_usd == pytest.approx(10 * 3e-6 + 1300 * 3.75e-6 + 32700 * 0.3e-6 + 150 * 15e-6)


async def test_not_logged_in_is_an_auth_failure_even_with_subtype_success(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    text = "Not logged in · Please run /login"
    synthetic = assistant(
        "e04bd619", [{"type": "text", "text": text}], {"input_tokens": 0, "output_tokens": 0}
    )
    synthetic["error"] = "authentication_failed"
    lines = [
        INIT,
        synthetic,
        result_line(is_error=True, result=text, num_turns=1, total_cost_usd=0),
    ]
    cli = fake_cli(stdout=lines, exit_code=1)
    result, _ = await run(ClaudeAgent(Settings(claude_binary=str(cli.binary)), environ={}), workdir)
    assert not result.ok
    assert (result.error_kind, result.retryable) == ("auth", False)
    assert result.error == text
    assert result.session_id == SESSION


async def test_error_max_turns_fails_even_when_is_error_is_false(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    lines = [
        INIT,
        assistant("msg_1", [{"type": "text", "text": "working"}], U1),
        result_line(subtype="error_max_turns", num_turns=2),
    ]
    cli = fake_cli(stdout=lines)
    result, _ = await run(ClaudeAgent(Settings(claude_binary=str(cli.binary)), environ={}), workdir)
    assert not result.ok
    assert (result.error_kind, result.retryable) == ("max_turns", False)
    assert result.usage.turns == 2


@pytest.mark.parametrize(
    ("text", "kind", "retryable"),
    [
        ("Claude AI usage limit reached|1760000000", "rate_limit", True),
        (
            'API Error: 529 {"type":"error","error":{"type":"overloaded_error"}}',
            "overloaded",
            True,
        ),
        (
            'API Error: 400 {"type":"error","error":{"type":"invalid_request_error"}}',
            "bad_request",
            False,
        ),
        ("Invalid API key · Fix external API key", "auth", False),
        ("something odd happened", "error", False),
    ],
)
async def test_failed_results_are_classified(
    fake_cli: Callable[..., FakeCli], workdir: Path, text: str, kind: str, retryable: bool
) -> None:
    cli = fake_cli(stdout=[INIT, result_line(is_error=True, result=text)], exit_code=1)
    result, _ = await run(ClaudeAgent(Settings(claude_binary=str(cli.binary)), environ={}), workdir)
    assert (result.ok, result.error_kind, result.retryable) == (False, kind, retryable)


async def test_usage_limit_message_names_the_reset_time(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    cli = fake_cli(
        stdout=[INIT, result_line(is_error=True, result="Claude AI usage limit reached|1760000000")]
    )
    result, _ = await run(ClaudeAgent(Settings(claude_binary=str(cli.binary)), environ={}), workdir)
    assert result.error == "Claude AI usage limit reached (resets at 2025-10-09 08:53 UTC)"


async def test_exit_without_result_line_fails_with_stderr_tail(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    cli = fake_cli(stdout=[INIT], stderr=["Error: something broke", "at main (cli.js:1:1)"], exit_code=3)
    result, sink = await run(ClaudeAgent(Settings(claude_binary=str(cli.binary)), environ={}), workdir)
    assert not result.ok
    assert result.error_kind == "error"
    assert "code 3" in (result.error or "") and "something broke" in (result.error or "")
    assert {"stream": "stderr", "line": "Error: something broke"} in of_type(sink, "log")


async def test_timeout_kills_the_cli(fake_cli: Callable[..., FakeCli], workdir: Path) -> None:
    cli = fake_cli(stdout=[INIT], sleep_s=60)
    result, _ = await run(
        ClaudeAgent(Settings(claude_binary=str(cli.binary)), environ={}), workdir, timeout_s=0.5
    )
    assert (result.ok, result.error_kind) == (False, "timeout")
    assert not pid_alive(cli.record()["pid"])


async def test_a_cli_lingering_after_its_result_is_stopped(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    cli = fake_cli(stdout=[INIT, result_line(result="done")], sleep_s=60)
    agent = ClaudeAgent(Settings(claude_binary=str(cli.binary)), environ={}, exit_grace_s=0.2)
    result, _ = await run(agent, workdir, timeout_s=50)
    assert (result.ok, result.output) == (True, "done")
    assert not pid_alive(cli.record()["pid"])


async def test_cancelling_the_run_kills_the_cli(fake_cli: Callable[..., FakeCli], workdir: Path) -> None:
    cli = fake_cli(stdout=[INIT], sleep_s=60)
    agent = ClaudeAgent(Settings(claude_binary=str(cli.binary)), environ={})
    sink = SessionSignal()
    task = asyncio.create_task(agent.run(AgentRequest(prompt="x"), LocalWorkspace(workdir), sink))
    await asyncio.wait_for(sink.started.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not pid_alive(cli.record()["pid"])


async def test_missing_binary_is_unavailable(workdir: Path) -> None:
    agent = ClaudeAgent(Settings(claude_binary=str(workdir / "no-such-claude")), environ={})
    assert agent.check().available is False
    result, _ = await run(agent, workdir)
    assert (result.ok, result.error_kind, result.retryable) == (False, "unavailable", False)


def test_check_reports_version_and_missing_credentials(
    fake_cli: Callable[..., FakeCli], tmp_path: Path
) -> None:
    cli = fake_cli(stdout=["2.1.330 (Claude Code)"])
    config = tmp_path / "claude-config"
    config.mkdir()
    agent = ClaudeAgent(
        Settings(claude_binary=str(cli.binary), anthropic_api_key=None),
        environ={"CLAUDE_CONFIG_DIR": str(config)},
    )
    availability = agent.check()
    assert (availability.state, availability.version) == ("no credentials", "2.1.330 (Claude Code)")
    assert "ANTHROPIC_API_KEY" in availability.reason
    (config / ".credentials.json").write_text("{}")
    assert (agent.check().state, agent.check().reason) == ("ready", "")


JAPANESE = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。\n"


def japanese(chars: int) -> str:
    return (JAPANESE * (chars // len(JAPANESE) + 1))[:chars]


async def test_non_ascii_tool_inputs_and_raw_lines_are_kept_as_text(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    small = {"file_path": "README.ja.md", "content": japanese(2970)}
    big = {"file_path": "GUIDE.ja.md", "content": japanese(5000)}
    hook = {
        "type": "system",
        "subtype": "hook_response",
        "session_id": SESSION,
        "hook_name": "SessionStart:startup",
        "hook_event": "SessionStart",
        "stdout": japanese(3000),
        "stderr": "",
        "exit_code": 0,
        "uuid": str(uuid.uuid4()),
    }
    write = [{"type": "tool_use", "id": "toolu_01", "name": "Write", "input": small}]
    write_big = [{"type": "tool_use", "id": "toolu_02", "name": "Write", "input": big}]
    lines = [
        INIT,
        hook,
        assistant("msg_01A", write, U1),
        tool_result("toolu_01", "File created successfully at: README.ja.md"),
        assistant("msg_02B", write_big, U2),
        tool_result("toolu_02", "File created successfully at: GUIDE.ja.md"),
        result_line(result="書きました。"),
    ]
    cli = fake_cli(stdout=lines)
    result, sink = await run(ClaudeAgent(Settings(claude_binary=str(cli.binary)), environ={}), workdir)

    assert result.ok, result.error
    assert [r["data"] for r in of_type(sink, "agent.raw")] == [hook]
    calls = of_type(sink, "agent.tool_call")
    assert calls[0]["input"] == small
    shown = json.dumps(big, ensure_ascii=False)
    cut = calls[1]["input"]
    assert cut == shown[:4000] + f"… [{len(shown) - 4000} more characters]"


async def test_token_totals_come_from_model_usage_over_all_models(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    sonnet = {
        "inputTokens": 40,
        "outputTokens": 3200,
        "cacheReadInputTokens": 410000,
        "cacheCreationInputTokens": 52000,
        "webSearchRequests": 0,
        "costUSD": 0.41,
        "contextWindow": 200000,
    }
    haiku = {
        "inputTokens": 9000,
        "outputTokens": 700,
        "cacheReadInputTokens": 0,
        "cacheCreationInputTokens": 1500,
        "webSearchRequests": 0,
        "costUSD": 0.02,
        "contextWindow": 200000,
    }
    # After a compaction the result's `usage` counts only the main model's calls since it.
    after_compaction = {
        "input_tokens": 12,
        "cache_creation_input_tokens": 9000,
        "cache_read_input_tokens": 250000,
        "output_tokens": 2100,
    }
    last = result_line(
        result="Done.",
        usage=after_compaction,
        total_cost_usd=0.43,
        modelUsage={"claude-sonnet-4-5-20250929": sonnet, "claude-haiku-4-5-20251001": haiku},
    )
    cli = fake_cli(stdout=[*SUCCESS_LINES[:-1], last])
    result, sink = await run(ClaudeAgent(Settings(claude_binary=str(cli.binary)), environ={}), workdir)

    assert result.ok, result.error
    assert (result.usage.input_tokens, result.usage.output_tokens) == (
        40 + 410000 + 52000 + 9000 + 1500,
        3200 + 700,
    )
    assert result.usage.cost_usd == pytest.approx(0.43)
    final = of_type(sink, "agent.usage")[-1]
    assert (final["input_tokens"], final["output_tokens"], final["final"]) == (472540, 3900, True)


async def test_exit_without_result_line_never_reports_stdout_json(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    write = [{"type": "tool_use", "id": "toolu_01", "name": "Bash", "input": {"command": "make"}}]
    lines = [INIT, assistant("msg_01A", write, U1), tool_result("toolu_01", "ok")]
    cli = fake_cli(stdout=lines, stderr=["", "   "], exit_code=137)
    result, _ = await run(ClaudeAgent(Settings(claude_binary=str(cli.binary)), environ={}), workdir)
    assert not result.ok
    assert result.error == "claude exited with code 137 without a result"
    assert result.session_id == SESSION


async def test_error_max_turns_keeps_the_last_assistant_text(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    lines = [
        INIT,
        assistant("msg_1", [{"type": "text", "text": "I'll run the tests first."}], U1),
        assistant(
            "msg_1",
            [{"type": "tool_use", "id": "toolu_01", "name": "Bash", "input": {"command": "pytest"}}],
            U1,
        ),
        tool_result("toolu_01", "3 failed, 12 passed"),
        assistant("msg_2", [{"type": "text", "text": "Two of the failures are in the parser."}], U2),
        result_line(subtype="error_max_turns", num_turns=2, usage=TOTAL),
    ]
    cli = fake_cli(stdout=lines)
    result, _ = await run(ClaudeAgent(Settings(claude_binary=str(cli.binary)), environ={}), workdir)
    assert (result.ok, result.error_kind) == (False, "max_turns")
    assert result.output == "Two of the failures are in the parser."


def test_a_symlinked_binary_is_run_by_the_path_configured(tmp_path: Path) -> None:
    target = tmp_path / "versions" / "claude-2.1.330"
    target.parent.mkdir()
    target.write_text('#!/bin/sh\necho "2.1.330 (Claude Code) as $0"\n')
    target.chmod(0o755)
    link = tmp_path / "bin" / "claude"
    link.parent.mkdir()
    link.symlink_to(target)
    agent = ClaudeAgent(Settings(claude_binary=str(link)), environ={})
    assert agent.binary() == str(link)
    assert agent.check().version == f"2.1.330 (Claude Code) as {link}"


class SessionSignal(ListSink):
    """A ListSink that signals when the agent reports its session (it is running by then)."""

    def __init__(self) -> None:
        super().__init__()
        self.started = asyncio.Event()

    async def emit(self, type: str, data: dict[str, Any] | None = None, level: str = "info") -> None:
        await super().emit(type, data, level)
        if type == "agent.session":
            self.started.set()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _processes_with(marker: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker.encode() in (proc / "environ").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


async def test_real_bundled_cli_without_credentials_fails_as_auth(tmp_path: Path, workdir: Path) -> None:
    binary = bundled_claude()
    if binary is None:
        pytest.skip("claude-agent-sdk ships no CLI binary on this platform")
    home = tmp_path / "home"
    home.mkdir()
    marker = f"SHIPYARD_TEST_MARKER={uuid.uuid4().hex}"
    name, value = marker.split("=")
    workspace = LocalWorkspace(workdir, env={"HOME": str(home), name: value})
    agent = ClaudeAgent(Settings(claude_binary=binary, anthropic_api_key=None), environ={})
    sink = ListSink()
    result = await agent.run(AgentRequest(prompt="say hi", timeout_s=60), workspace, sink)

    assert not result.ok
    assert (result.error_kind, result.retryable) == ("auth", False)
    assert "Not logged in" in (result.error or "")
    assert result.session_id
    assert of_type(sink, "agent.session")
    assert _processes_with(marker) == []
    assert os.environ.get(name) is None
