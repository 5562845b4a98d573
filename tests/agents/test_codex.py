"""CodexAgent against a fake `codex` that prints the real `codex exec --json` event lines."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from agent_testkit import FakeCli

from shipyard.agents.codex import CodexAgent
from shipyard.config import Settings
from shipyard.domain.events import ListSink
from shipyard.domain.models import AgentRequest, AgentResult
from shipyard.sandboxes.workspace import LocalWorkspace

THREAD = "0199a213-81c0-7800-8aa1-bbab2a035a53"
KEY = "sk-proj-test-abcdef0123456789"


def completed(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "item.completed", "item": item}


def turn_completed(inp: int, cached: int, out: int) -> dict[str, Any]:
    usage = {"input_tokens": inp, "cached_input_tokens": cached, "output_tokens": out}
    return {"type": "turn.completed", "usage": usage}


COMMAND = {"id": "item_1", "type": "command_execution", "command": "bash -lc 'cat hello.txt'"}
SUCCESS: list[Any] = [
    {"type": "thread.started", "thread_id": THREAD},
    {"type": "turn.started"},
    completed({"id": "item_0", "type": "reasoning", "text": "**Planning the change**"}),
    {
        "type": "item.started",
        "item": {**COMMAND, "aggregated_output": "", "exit_code": None, "status": "in_progress"},
    },
    completed({**COMMAND, "aggregated_output": "hi\n", "exit_code": 0, "status": "completed"}),
    completed(
        {
            "id": "item_2",
            "type": "file_change",
            "changes": [{"path": "hello.txt", "kind": "add"}],
            "status": "completed",
        }
    ),
    completed({"id": "item_3", "type": "todo_list", "items": [{"text": "write file", "completed": True}]}),
    completed({"id": "item_4", "type": "agent_message", "text": "Created hello.txt."}),
    turn_completed(24763, 24448, 122),
]


def of_type(sink: ListSink, kind: str) -> list[dict[str, Any]]:
    return [data for t, data, _ in sink.events if t == kind]


async def run(cli: FakeCli, workdir: Path, **request: Any) -> tuple[AgentResult, ListSink]:
    agent = CodexAgent(Settings(codex_binary=str(cli.binary), openai_api_key=KEY))
    sink = ListSink()
    result = await agent.run(AgentRequest(prompt="make hello.txt", **request), LocalWorkspace(workdir), sink)
    return result, sink


async def test_success_events_usage_and_answer(fake_cli: Callable[..., FakeCli], workdir: Path) -> None:
    cli = fake_cli("codex", stdout=SUCCESS)
    result, sink = await run(cli, workdir, model="gpt-5-codex")

    assert result.ok, result.error
    assert (result.output, result.session_id) == ("Created hello.txt.", THREAD)
    assert (result.usage.turns, result.usage.input_tokens, result.usage.output_tokens) == (
        1,
        24763,
        122,
    )
    # Codex reports no cost: Shipyard's estimate at genai-prices' gpt-5-codex rates ($1.25/M input,
    # $0.125/M cached, $10/M output) for 315 uncached, 24448 cached and 122 output tokens.
    assert result.usage.cost_usd == pytest.approx((315 * 1.25 + 24448 * 0.125 + 122 * 10) / 1e6)
    assert result.usage.cost_estimated
    assert of_type(sink, "agent.session") == [{"session_id": THREAD}]
    calls = of_type(sink, "agent.tool_call")
    assert [(c["name"], c["id"]) for c in calls] == [
        ("command_execution", "item_1"),
        ("file_change", "item_2"),
    ]
    assert calls[0]["input"] == {"command": "bash -lc 'cat hello.txt'"}
    outcomes = of_type(sink, "agent.tool_result")
    assert [(r["id"], r["is_error"]) for r in outcomes] == [("item_1", False), ("item_2", False)]
    assert outcomes[0]["content"] == "hi\n"
    messages = [(m["role"], m["text"]) for m in of_type(sink, "agent.message")]
    assert messages == [
        ("thinking", "**Planning the change**"),
        ("assistant", "Created hello.txt."),
    ]
    assert [r["data"]["item"]["type"] for r in of_type(sink, "agent.raw")] == ["todo_list"]
    assert of_type(sink, "agent.usage")[-1]["final"] is True


async def test_the_cli_gets_exec_flags_prompt_on_stdin_and_the_api_key(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    cli = fake_cli("codex", stdout=SUCCESS)
    _, sink = await run(cli, workdir, model="gpt-5-codex", session_id=THREAD)
    record = cli.record()
    argv = record["argv"]
    assert argv[:2] == ["exec", "--json"]
    assert "--skip-git-repo-check" in argv and "--dangerously-bypass-approvals-and-sandbox" in argv
    assert argv[argv.index("-m") + 1] == "gpt-5-codex"
    assert argv[-3:] == ["resume", THREAD, "-"]
    assert record["stdin"] == "make hello.txt"
    assert record["env"]["OPENAI_API_KEY"] == KEY
    assert KEY not in json.dumps(sink.events)


async def test_turn_failed_fails_even_with_exit_code_zero(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    lines = [
        {"type": "thread.started", "thread_id": THREAD},
        {"type": "turn.started"},
        {"type": "error", "message": "exceeded retry limit, last status: 429 Too Many Requests"},
        {
            "type": "turn.failed",
            "error": {"message": "exceeded retry limit, last status: 429 Too Many Requests"},
        },
    ]
    result, _ = await run(fake_cli("codex", stdout=lines, exit_code=0), workdir)
    assert not result.ok
    assert (result.error_kind, result.retryable) == ("rate_limit", True)
    assert "429" in (result.error or "")
    assert result.session_id == THREAD


async def test_error_notices_before_a_completed_turn_are_not_fatal(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    lines = [
        {"type": "thread.started", "thread_id": THREAD},
        {"type": "turn.started"},
        {"type": "error", "message": "Re-connecting... 1/5"},
        completed({"id": "item_0", "type": "agent_message", "text": "All good."}),
        turn_completed(100, 0, 10),
    ]
    result, sink = await run(fake_cli("codex", stdout=lines), workdir)
    assert result.ok, result.error
    assert result.output == "All good."
    notices = [(data["data"]["message"], level) for t, data, level in sink.events if t == "agent.raw"]
    assert notices == [("Re-connecting... 1/5", "warning")]


async def test_unauthorized_exit_is_an_auth_failure(fake_cli: Callable[..., FakeCli], workdir: Path) -> None:
    lines = [
        {"type": "thread.started", "thread_id": THREAD},
        {"type": "turn.started"},
        {
            "type": "error",
            "message": "unexpected status 401 Unauthorized: Missing bearer authentication",
        },
    ]
    result, _ = await run(fake_cli("codex", stdout=lines, exit_code=1), workdir)
    assert (result.ok, result.error_kind, result.retryable) == (False, "auth", False)


async def test_a_cli_lingering_after_its_turn_is_stopped(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    cli = fake_cli("codex", stdout=SUCCESS, sleep_s=60)
    agent = CodexAgent(Settings(codex_binary=str(cli.binary)), exit_grace_s=0.2)
    result = await agent.run(AgentRequest(prompt="x", timeout_s=50), LocalWorkspace(workdir), ListSink())
    assert (result.ok, result.output) == (True, "Created hello.txt.")
    with pytest.raises(ProcessLookupError):
        os.kill(cli.record()["pid"], 0)


async def test_several_turns_are_summed(fake_cli: Callable[..., FakeCli], workdir: Path) -> None:
    lines = [
        {"type": "thread.started", "thread_id": THREAD},
        turn_completed(100, 50, 10),
        completed({"id": "item_0", "type": "agent_message", "text": "first"}),
        completed({"id": "item_1", "type": "agent_message", "text": "second"}),
        turn_completed(200, 150, 20),
    ]
    result, _ = await run(fake_cli("codex", stdout=lines), workdir)
    assert (result.usage.turns, result.usage.input_tokens, result.usage.output_tokens) == (
        2,
        300,
        30,
    )
    assert result.output == "second"


def test_check_runs_the_binary_for_its_version(fake_cli: Callable[..., FakeCli]) -> None:
    cli = fake_cli("codex", stdout=["codex-cli 0.150.0"])
    availability = CodexAgent(Settings(codex_binary=str(cli.binary), openai_api_key=KEY)).check()
    assert (availability.state, availability.reason) == ("ready", "")
    assert availability.version == "codex-cli 0.150.0"
    assert cli.record()["argv"] == ["--version"]


async def test_missing_codex_is_unavailable(workdir: Path) -> None:
    agent = CodexAgent(Settings(codex_binary="definitely-not-codex-xyz"))
    availability = agent.check()
    assert (availability.available, availability.state, availability.reason) == (
        False,
        "not installed",
        "codex not installed (shipyard agents install codex)",
    )
    result = await agent.run(AgentRequest(prompt="x"), LocalWorkspace(workdir), ListSink())
    assert (result.ok, result.error_kind) == (False, "unavailable")


async def test_non_ascii_commands_and_raw_items_are_kept_as_text(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    heredoc = "cat > README.ja.md <<'EOF'\n" + "吾輩は猫である。名前はまだ無い。\n" * 180 + "EOF"
    command = {"id": "item_1", "type": "command_execution", "command": f'bash -lc "{heredoc}"'}
    todo = {
        "id": "item_2",
        "type": "todo_list",
        "items": [{"text": "日本語の説明を書く" * 200, "completed": False}],
    }
    lines = [
        {"type": "thread.started", "thread_id": THREAD},
        {"type": "turn.started"},
        completed({**command, "aggregated_output": "", "exit_code": 0, "status": "completed"}),
        completed(todo),
        completed({"id": "item_3", "type": "agent_message", "text": "書きました。"}),
        turn_completed(100, 0, 10),
    ]
    result, sink = await run(fake_cli("codex", stdout=lines), workdir)
    assert result.ok, result.error
    assert of_type(sink, "agent.tool_call")[0]["input"] == {"command": command["command"]}
    assert [r["data"] for r in of_type(sink, "agent.raw")] == [completed(todo)]


async def test_cut_off_after_a_reconnect_notice_reports_the_exit_not_the_notice(
    fake_cli: Callable[..., FakeCli], workdir: Path
) -> None:
    lines = [
        {"type": "thread.started", "thread_id": THREAD},
        {"type": "turn.started"},
        {"type": "error", "message": "Re-connecting... 1/5"},
        completed({"id": "item_0", "type": "reasoning", "text": "**Reading the tests**"}),
        {
            "type": "item.started",
            "item": {**COMMAND, "aggregated_output": "", "exit_code": None, "status": "in_progress"},
        },
    ]
    result, _ = await run(fake_cli("codex", stdout=lines, exit_code=137), workdir)
    assert not result.ok
    assert result.error == "codex exited with code 137 without completing its turn"
    assert result.session_id == THREAD


async def test_cut_off_reports_the_tail_of_stderr(fake_cli: Callable[..., FakeCli], workdir: Path) -> None:
    lines = [{"type": "thread.started", "thread_id": THREAD}, {"type": "turn.started"}]
    stderr = ["Reading prompt from stdin...", "thread 'main' panicked at core/src/codex.rs:1:1:", "boom"]
    result, _ = await run(fake_cli("codex", stdout=lines, stderr=stderr, exit_code=101), workdir)
    assert result.error == (
        "codex exited with code 101 without completing its turn:"
        " thread 'main' panicked at core/src/codex.rs:1:1:\nboom"
    )
