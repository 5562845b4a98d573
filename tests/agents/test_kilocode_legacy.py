"""KilocodeAgent against a fake Kilo Code 0.x (`--version` 0.23.1) that prints the Ink CLI's
`kilocode --auto --json` lines. The npm registry here offers only @kilocode/cli 7.x (the opencode fork
that tests/agents/test_real_kilocode.py runs for real), so the 0.x format is replayed as its sources
print it (cli/src/ui/utils/jsonOutput.ts, JsonRenderer.tsx): a UI message a line, printed again as it
changes, a terminal-title escape before the first."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent_testkit import FakeCli

from shipyard.agents.kilocode import KilocodeAgent
from shipyard.config import Settings
from shipyard.domain.events import ListSink
from shipyard.domain.models import AgentRequest, AgentResult
from shipyard.sandboxes.workspace import LocalWorkspace

VERSION = "0.23.1"
KEY = "sk-kilo-legacy-0123456789abcdef"
PROMPT = "Fix the greeting."
ENVIRON = {
    "KILO_PROVIDER_TYPE": "openai",
    "KILO_OPEN_AI_API_KEY": KEY,
    "KILO_OPEN_AI_MODEL_ID": "m",
    "OTHER": "x",
}
T = 1760000000000


def say(ts: int, kind: str, **fields: Any) -> dict[str, Any]:
    return {"timestamp": T + ts, "source": "extension", "type": "say", "say": kind, **fields}


def ask(ts: int, kind: str, **fields: Any) -> dict[str, Any]:
    return {"timestamp": T + ts, "source": "extension", "type": "ask", "ask": kind, **fields}


def request(ts: int, tokens_in: int | None = None, tokens_out: int = 0, **more: Any) -> dict[str, Any]:
    """An api_req_started print: a placeholder, or with the request's tokens and cost."""
    metadata: dict[str, Any] = {"request": "…", "apiProtocol": more.pop("protocol", "openai")}
    if tokens_in is not None:
        metadata |= {
            "tokensIn": tokens_in,
            "tokensOut": tokens_out,
            "cacheWrites": 0,
            "cacheReads": 0,
            **more,
        }
    return say(ts, "api_req_started", metadata=metadata)


def titled(line: dict[str, Any]) -> str:
    """The first line as the CLI prints it: after the escape that sets the terminal's title."""
    return "\x1b]0;Kilo Code\x07" + json.dumps(line)


SUCCESS: list[Any] = [
    titled(say(0, "text", content=PROMPT)),
    request(1),
    say(2, "text", content="Let me", partial=True),
    say(2, "text", content="Let me read it.", partial=False),
    request(1, 100, 20, cost=0.0006),
    ask(3, "tool", metadata={"tool": "readFile", "path": "README.md", "content": "/w/README.md"}),
    request(4),
    request(4, 200, 30, cacheReads=50, cost=0.001),
    request(4, 200, 30, cacheReads=50, cost=0.001),  # printed again unchanged
    ask(5, "tool", metadata={"tool": "appliedDiff", "path": "README.md", "diff": "-helo\n+hello"}),
    request(6, 300, 40, cost=0.0015),
    ask(7, "command", content="wc -l", partial=True),
    ask(7, "command", content="wc -l README.md", partial=False),
    say(8, "command_output", content="2 README.md"),
    request(9, 400, 50, cost=0.002),
    say(10, "completion_result", content="Fixed the typo; README.md has 2 lines."),
    ask(11, "completion_result"),
]


def of_type(sink: ListSink, kind: str) -> list[dict[str, Any]]:
    return [data for t, data, _ in sink.events if t == kind]


def legacy(make: Callable[..., FakeCli], lines: list[Any], exit_code: int = 0) -> FakeCli:
    return make("kilocode", version=VERSION, stdout=lines, exit_code=exit_code)


async def run(cli: FakeCli, workdir: Path, **request: Any) -> tuple[AgentResult, ListSink]:
    settings = Settings(kilocode_binary=str(cli.binary), openai_api_key=None, anthropic_api_key=None)
    agent = KilocodeAgent(settings, environ=ENVIRON)
    sink = ListSink()
    result = await agent.run(AgentRequest(prompt=PROMPT, **request), LocalWorkspace(workdir), sink)
    return result, sink


async def test_a_completed_task_its_messages_tools_usage_and_answer(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    cli = legacy(fake_cli, SUCCESS)
    result, sink = await run(cli, workdir, model="gpt-x", timeout_s=119.5)

    assert result.ok, result.error
    assert result.output == "Fixed the typo; README.md has 2 lines."
    assert result.session_id is None  # 0.x prints none
    messages = [(m["role"], m["text"]) for m in of_type(sink, "agent.message")]
    assert messages == [
        ("user", PROMPT),
        ("assistant", "Let me read it."),
        ("assistant", "Fixed the typo; README.md has 2 lines."),
    ]
    calls = of_type(sink, "agent.tool_call")
    assert [c["name"] for c in calls] == ["readFile", "appliedDiff", "command"]
    assert calls[0]["input"]["path"] == "README.md"
    assert calls[2]["input"] == {"command": "wc -l README.md"}
    assert of_type(sink, "agent.tool_result") == [
        {"is_error": False, "content": "2 README.md", "id": calls[2]["id"], "exit_code": None}
    ]
    # Each request once, from its last print; OpenAI's tokensIn already counts the cached part.
    running = [u for u in of_type(sink, "agent.usage") if not u["final"]]
    assert [u["input_tokens"] for u in running] == [100, 300, 600, 1000]
    assert (result.usage.turns, result.usage.input_tokens, result.usage.output_tokens) == (4, 1000, 140)
    assert result.usage.cached_input_tokens == 50
    assert result.usage.cost_usd is not None and round(result.usage.cost_usd, 6) == 0.0051
    assert not any(t == "log" for t, _, _ in sink.events)  # the titled first line was read as JSON

    record = cli.record()
    assert record["argv"] == [
        "--auto",
        "--json",
        "--yolo",
        "--nosplash",
        "--timeout",
        "120",
        "--model",
        "gpt-x",
    ]
    assert record["stdin"] == PROMPT
    assert {k: record["env"].get(k) for k in ENVIRON} == {**ENVIRON, "OTHER": None}


async def test_anthropic_requests_count_their_cached_input_apart(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    lines = [
        request(1, 100, 20, cacheReads=300, cacheWrites=50, protocol="anthropic"),
        say(2, "completion_result", content="Done."),
        ask(3, "completion_result"),
    ]
    result, _ = await run(legacy(fake_cli, lines), workdir)

    assert result.ok
    assert (result.usage.input_tokens, result.usage.cached_input_tokens, result.usage.cache_write_tokens) == (
        450,
        300,
        50,
    )


async def test_a_partial_message_superseded_by_a_newer_one_counts(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    lines = [
        say(1, "text", content="Working on it", partial=True),  # older CLIs never print it again
        ask(2, "completion_result", content="Done."),
    ]
    result, sink = await run(legacy(fake_cli, lines), workdir)

    assert (result.ok, result.output) == (True, "Done.")
    assert [m["text"] for m in of_type(sink, "agent.message")] == ["Working on it"]


async def test_a_rejected_key_is_an_auth_failure_without_the_key(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    lines = [
        say(0, "text", content=PROMPT),
        request(1),
        ask(2, "api_req_failed", content=f"401 Incorrect API key provided: {KEY}"),
    ]
    result, sink = await run(legacy(fake_cli, lines, exit_code=1), workdir)

    assert not result.ok
    assert (result.error_kind, result.retryable) == ("auth", False), result.error
    assert result.error == "401 Incorrect API key provided: ***"
    assert KEY not in json.dumps(sink.events)


async def test_a_rate_limit_is_retryable(fake_cli: Callable[..., FakeCli], workdir: Path) -> None:
    lines = [request(1), ask(2, "api_req_failed", content="429 Rate limit exceeded, retry later")]
    result, _ = await run(legacy(fake_cli, lines, exit_code=1), workdir)

    assert (result.ok, result.error_kind, result.retryable) == (False, "rate_limit", True), result.error


async def test_the_clis_own_timeout_exit_is_a_timeout(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    lines = [say(0, "text", content=PROMPT), request(1, 10, 5)]
    result, _ = await run(legacy(fake_cli, lines, exit_code=124), workdir, timeout_s=30)

    assert (result.ok, result.error_kind, result.retryable) == (False, "timeout", False)
    assert result.error == "kilocode timed out after 30 s"
    assert result.usage.input_tokens == 10


async def test_exiting_0_without_completing_the_task_is_a_failure(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    lines = [say(0, "text", content=PROMPT), request(1, 10, 5), say(2, "text", content="I will now…")]
    result, _ = await run(legacy(fake_cli, lines, exit_code=0), workdir)

    assert not result.ok
    assert result.error == "kilocode exited with code 0 without completing its task"


async def test_an_error_the_cli_reports_is_the_runs_error(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    cli_error = {
        "timestamp": T,
        "source": "cli",
        "type": "error",
        "content": "Invalid configuration: no provider",
    }
    result, _ = await run(legacy(fake_cli, [cli_error], exit_code=1), workdir)

    assert (result.ok, result.error) == (False, "Invalid configuration: no provider")


def test_check_reports_the_version_and_wants_a_provider(
    fake_cli: Callable[..., FakeCli], tmp_path: Path
) -> None:
    cli = legacy(fake_cli, [])
    settings = Settings(kilocode_binary=str(cli.binary), openai_api_key=None, anthropic_api_key=None)
    home = tmp_path / "home"
    bare = KilocodeAgent(settings, environ={"HOME": str(home)})

    before = bare.check()
    (home / ".kilocode" / "cli").mkdir(parents=True)
    (home / ".kilocode" / "cli" / "config.json").write_text("{}")
    after = bare.check()

    assert (before.state, before.version) == ("no credentials", VERSION)
    assert after.state == "ready"
    assert KilocodeAgent(settings, environ={"KILO_PROVIDER_TYPE": "openai"}).check().state == "ready"
