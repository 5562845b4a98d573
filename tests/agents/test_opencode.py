"""OpencodeAgent against a fake `opencode` that prints the real `opencode run --format json` lines
(as opencode 1.18.33 prints them; tests/agents/test_real_opencode.py runs the real CLI)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent_testkit import FakeCli

from shipyard.agents.opencode import OpencodeAgent
from shipyard.config import Settings
from shipyard.domain.events import ListSink
from shipyard.domain.models import AgentRequest, AgentResult
from shipyard.sandboxes.workspace import LocalWorkspace

SESSION = "ses_dbcf4df16ffepl4696dfz8OiqV"
KEY = "sk-proj-test-abcdef0123456789"
CONFIG = '{"model": "scripted/m"}'


def line(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "timestamp": 1796421135245, "sessionID": SESSION, **fields}


def step_finish(reason: str, inp: int, out: int, cached: int = 0, cost: float = 0) -> dict[str, Any]:
    tokens = {"total": inp + out + cached, "input": inp, "output": out, "reasoning": 0,
              "cache": {"write": 0, "read": cached}}  # fmt: skip
    return line("step_finish", part={"type": "step-finish", "reason": reason, "tokens": tokens, "cost": cost})


def tool(name: str, call_id: str, state: dict[str, Any]) -> dict[str, Any]:
    return line("tool_use", part={"type": "tool", "tool": name, "callID": call_id, "state": state})


MISSING = {
    "status": "error",
    "input": {"filePath": "/w/x.txt"},
    "error": "File not found: /w/x.txt",
}
EXIT_3 = {"status": "completed", "input": {"command": "exit 3"}, "output": "(no output)",
          "metadata": {"output": "(no output)", "exit": 3, "truncated": False}}  # fmt: skip
SUCCESS: list[Any] = [
    line("step_start", part={"type": "step-start"}),
    tool("read", "call_1", MISSING),
    tool("bash", "call_2", EXIT_3),
    step_finish("tool-calls", 100, 20, cost=0.001),
    line("step_start", part={"type": "step-start"}),
    line("text", part={"type": "text", "text": "Done."}),
    step_finish("stop", 150, 10, cached=50, cost=0.002),
]
RATE_LIMITED = line(
    "error",
    error={
        "name": "APIError",
        "data": {"message": "Rate limit reached", "statusCode": 429, "isRetryable": True},
    },
)


def of_type(sink: ListSink, kind: str) -> list[dict[str, Any]]:
    return [data for t, data, _ in sink.events if t == kind]


async def run(cli: FakeCli, workdir: Path, **request: Any) -> tuple[AgentResult, ListSink]:
    settings = Settings(opencode_binary=str(cli.binary), openai_api_key=KEY, anthropic_api_key=None)
    agent = OpencodeAgent(settings, environ={"OPENCODE_CONFIG_CONTENT": CONFIG, "OTHER": "x"})
    sink = ListSink()
    result = await agent.run(AgentRequest(prompt="make hello.txt", **request), LocalWorkspace(workdir), sink)
    return result, sink


async def test_success_events_usage_and_answer(fake_cli: Callable[..., FakeCli], workdir: Path) -> None:
    result, sink = await run(fake_cli("opencode", stdout=SUCCESS), workdir)

    assert result.ok, result.error
    assert (result.output, result.session_id) == ("Done.", SESSION)
    assert (result.usage.turns, result.usage.input_tokens, result.usage.output_tokens) == (2, 300, 30)
    assert result.usage.cost_usd is not None and abs(result.usage.cost_usd - 0.003) < 1e-9
    assert of_type(sink, "agent.session") == [{"session_id": SESSION}]
    assert [(c["name"], c["id"]) for c in of_type(sink, "agent.tool_call")] == [
        ("read", "call_1"),
        ("bash", "call_2"),
    ]
    outcomes = [(r["is_error"], r["content"], r["exit_code"]) for r in of_type(sink, "agent.tool_result")]
    assert outcomes == [(True, "File not found: /w/x.txt", None), (True, "(no output)", 3)]
    usage = of_type(sink, "agent.usage")
    assert [(u["input_tokens"], u["cached_input_tokens"]) for u in usage[:-1]] == [(100, 0), (300, 50)]
    assert (result.usage.cached_input_tokens, result.usage.cache_write_tokens) == (50, 0)
    assert usage[-1]["final"] is True


async def test_the_cli_gets_run_flags_prompt_on_stdin_its_config_and_the_key(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    cli = fake_cli("opencode", stdout=SUCCESS)
    _, sink = await run(cli, workdir, model="scripted/m", session_id=SESSION)
    record = cli.record()

    assert record["argv"][:4] == ["run", "--format", "json", "--auto"]
    assert record["argv"][-4:] == ["-m", "scripted/m", "--session", SESSION]
    assert record["stdin"] == "make hello.txt"
    assert (record["env"]["OPENCODE_CONFIG_CONTENT"], record["env"]["OPENAI_API_KEY"]) == (CONFIG, KEY)
    assert "OTHER" not in record["env"] and "ANTHROPIC_API_KEY" not in record["env"]
    assert KEY not in json.dumps(sink.events)


async def test_an_error_line_fails_even_with_exit_code_zero(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    lines = [line("step_start", part={"type": "step-start"}), RATE_LIMITED]
    result, _ = await run(fake_cli("opencode", stdout=lines, exit_code=0), workdir)

    assert not result.ok
    assert (result.error_kind, result.retryable) == ("rate_limit", True)
    assert result.error == "APIError 429: Rate limit reached"
    assert result.session_id == SESSION


async def test_an_exit_before_the_last_step_finished_is_a_failure_with_stderr(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    lines = SUCCESS[:4]  # the tool calls' step finished; no step after it
    cli = fake_cli("opencode", stdout=lines, stderr=["Error: Model not found: scripted/x"], exit_code=1)
    result, _ = await run(cli, workdir)

    assert not result.ok
    assert result.error == (
        "opencode exited with code 1 without finishing its last step: Error: Model not found: scripted/x"
    )
    assert result.usage.turns == 1


async def test_a_key_written_into_the_config_is_redacted_like_the_others(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    literal = "sk-in-the-config-0123456789abcdef"
    config = {
        "provider": {
            "scripted": {"options": {"baseURL": "http://127.0.0.1:9/v1", "apiKey": literal}},
            "other": {"options": {"apiKey": "{env:OPENAI_API_KEY}"}},
        },
        "model": "scripted/m",
    }
    # A failure that quotes the request it made, key and all (as providers' error bodies can).
    leak = line(
        "error", error={"name": "APIError", "data": {"message": f"401 for key {literal}", "statusCode": 401}}
    )
    cli = fake_cli("opencode", stdout=[line("step_start", part={"type": "step-start"}), leak], exit_code=1)
    settings = Settings(opencode_binary=str(cli.binary), openai_api_key=None, anthropic_api_key=None)
    agent = OpencodeAgent(settings, environ={"OPENCODE_CONFIG_CONTENT": json.dumps(config)})
    sink = ListSink()
    result = await agent.run(AgentRequest(prompt="x"), LocalWorkspace(workdir), sink)

    assert not result.ok and result.error_kind == "auth"
    assert literal not in json.dumps(sink.events) and literal not in (result.error or "")
