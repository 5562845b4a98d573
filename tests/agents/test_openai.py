"""OpenAIAgent against a real HTTP server on 127.0.0.1 speaking the Chat Completions format."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent_testkit import ChatServer, Reply, completion, tool_calls

from shipyard.agents.openai import OpenAIAgent
from shipyard.config import Settings
from shipyard.domain.events import ListSink
from shipyard.domain.models import AgentRequest, AgentResult
from shipyard.sandboxes.workspace import LocalWorkspace

KEY = "sk-test-openai-0123456789"
Server = Callable[[list[Reply]], ChatServer]


def of_type(sink: ListSink, kind: str) -> list[dict[str, Any]]:
    return [data for t, data, _ in sink.events if t == kind]


def settings_for(base_url: str, **extra: Any) -> Settings:
    fields: dict[str, Any] = {
        "openai_base_url": base_url,
        "openai_api_key": KEY,
        "openai_model": "test-model",
    }
    return Settings(**{**fields, **extra})


async def run(
    settings: Settings, workdir: Path, prompt: str = "create hello.txt"
) -> tuple[AgentResult, ListSink]:
    sink = ListSink()
    result = await OpenAIAgent(settings).run(AgentRequest(prompt=prompt), LocalWorkspace(workdir), sink)
    return result, sink


def tool_messages(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in request["body"]["messages"] if m["role"] == "tool"]


async def test_lists_writes_runs_and_finishes(chat_server: Server, workdir: Path) -> None:
    (workdir / "README.md").write_text("# demo\n")
    server = chat_server(
        [
            Reply(
                200,
                completion(tool_calls(("call_1", "list_files", {"path": "."})), "tool_calls", 100, 10),
            ),
            Reply(
                200,
                completion(
                    {
                        **tool_calls(("call_2", "write_file", {"path": "hello.txt", "content": "hello\n"})),
                        "content": "Writing the file.",
                    },
                    "tool_calls",
                    150,
                    20,
                ),
            ),
            Reply(
                200,
                completion(
                    tool_calls(("call_3", "run_command", {"command": "cat hello.txt"})),
                    "tool_calls",
                    200,
                    5,
                ),
            ),
            Reply(
                200,
                completion(
                    tool_calls(("call_4", "finish", {"summary": "Created hello.txt."})),
                    "tool_calls",
                    250,
                    8,
                ),
            ),
        ]
    )
    result, sink = await run(settings_for(server.base_url), workdir)

    assert result.ok, result.error
    assert result.output == "Created hello.txt."
    assert (workdir / "hello.txt").read_text() == "hello\n"
    assert (result.usage.turns, result.usage.input_tokens, result.usage.output_tokens) == (
        4,
        700,
        43,
    )
    assert result.usage.cost_usd is None

    first = server.requests[0]
    assert first["path"] == "/v1/chat/completions"
    assert first["headers"]["Authorization"] == f"Bearer {KEY}"
    assert first["body"]["model"] == "test-model"
    assert first["body"]["tool_choice"] == "auto"
    assert {t["function"]["name"] for t in first["body"]["tools"]} == {
        "list_files",
        "read_file",
        "write_file",
        "run_command",
        "finish",
    }
    assert first["body"]["messages"][-1] == {"role": "user", "content": "create hello.txt"}
    listing = tool_messages(server.requests[1])
    assert listing[0]["tool_call_id"] == "call_1" and "README.md" in listing[0]["content"]
    assistant = next(m for m in server.requests[1]["body"]["messages"] if m["role"] == "assistant")
    assert assistant["tool_calls"][0]["id"] == "call_1"
    ran = tool_messages(server.requests[3])[-1]
    assert ran["tool_call_id"] == "call_3" and ran["content"] == "exit code 0\nhello\n"

    assert [c["name"] for c in of_type(sink, "agent.tool_call")] == [
        "list_files",
        "write_file",
        "run_command",
        "finish",
    ]
    assert of_type(sink, "agent.tool_call")[1]["input"] == {
        "path": "hello.txt",
        "content": "hello\n",
    }
    assert [m["text"] for m in of_type(sink, "agent.message")] == ["Writing the file."]
    assert {"stream": "stdout", "line": "hello"} in of_type(sink, "log")
    assert [u["turns"] for u in of_type(sink, "agent.usage")] == [1, 2, 3, 4, 4]
    assert KEY not in json.dumps(sink.events)


async def test_paths_outside_the_workspace_are_refused_to_the_model(
    chat_server: Server, tmp_path: Path, workdir: Path
) -> None:
    (tmp_path / "secret.txt").write_text("top secret")
    server = chat_server(
        [
            Reply(
                200,
                completion(
                    tool_calls(
                        ("c1", "read_file", {"path": "../secret.txt"}),
                        ("c2", "write_file", {"path": str(tmp_path / "evil.txt"), "content": "x"}),
                        ("c3", "read_file", {"path": "missing.txt"}),
                        ("c4", "no_such_tool", {}),
                    ),
                    "tool_calls",
                    10,
                    1,
                ),
            ),
            Reply(200, completion({"content": "I could not do it."}, "stop", 20, 2)),
        ]
    )
    result, sink = await run(settings_for(server.base_url), workdir)

    assert result.ok and result.output == "I could not do it."
    replies = {m["tool_call_id"]: m["content"] for m in tool_messages(server.requests[1])}
    assert "outside the workspace" in replies["c1"] and "top secret" not in replies["c1"]
    assert "outside the workspace" in replies["c2"]
    assert not (tmp_path / "evil.txt").exists()
    assert replies["c3"].startswith("error:")
    assert "unknown tool" in replies["c4"]
    assert all(r["is_error"] for r in of_type(sink, "agent.tool_result"))


async def test_max_turns_without_finish_fails(chat_server: Server, workdir: Path) -> None:
    again = completion(tool_calls(("c", "list_files", {})), "tool_calls", 10, 1)
    server = chat_server([Reply(200, again), Reply(200, again)])
    result, _ = await run(settings_for(server.base_url, openai_max_turns=2), workdir)
    assert (result.ok, result.error_kind, result.retryable) == (False, "max_turns", False)
    assert result.usage.turns == 2
    assert len(server.requests) == 2


async def test_unauthorized_is_auth_and_not_retryable(chat_server: Server, workdir: Path) -> None:
    body = {
        "error": {
            "message": "Incorrect API key provided: sk-test-***6789.",
            "type": "invalid_request_error",
            "code": "invalid_api_key",
        }
    }
    server = chat_server([Reply(401, body)])
    result, _ = await run(settings_for(server.base_url), workdir)
    assert (result.ok, result.error_kind, result.retryable) == (False, "auth", False)
    assert "Incorrect API key provided" in (result.error or "")
    assert KEY not in (result.error or "")


async def test_rate_limited_is_retryable(chat_server: Server, workdir: Path) -> None:
    server = chat_server(
        [Reply(429, {"error": {"message": "Rate limit reached for requests", "type": "requests"}})]
    )
    result, _ = await run(settings_for(server.base_url), workdir)
    assert (result.ok, result.error_kind, result.retryable) == (False, "rate_limit", True)


async def test_server_errors_and_bad_requests(chat_server: Server, workdir: Path) -> None:
    server = chat_server(
        [
            Reply(503, {"error": {"message": "overloaded"}}),
            Reply(400, {"error": {"message": "bad tools"}}),
        ]
    )
    unavailable, _ = await run(settings_for(server.base_url), workdir)
    assert (unavailable.error_kind, unavailable.retryable) == ("overloaded", True)
    bad, _ = await run(settings_for(server.base_url), workdir)
    assert (bad.error_kind, bad.retryable) == ("bad_request", False)


async def test_connection_refused_is_a_retryable_error(workdir: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result, _ = await run(settings_for(f"http://127.0.0.1:{port}/v1"), workdir)
    assert (result.ok, result.error_kind, result.retryable) == (False, "error", True)
    assert f"127.0.0.1:{port}" in (result.error or "")


def test_check_needs_a_key_or_a_custom_endpoint() -> None:
    default = "https://api.openai.com/v1"
    assert (
        OpenAIAgent(Settings(openai_base_url=default, openai_api_key=None)).check().state == "no credentials"
    )
    assert not OpenAIAgent(Settings(openai_base_url=default, openai_api_key=None)).check().available
    assert OpenAIAgent(Settings(openai_base_url=default, openai_api_key=KEY)).check().available
    assert (
        OpenAIAgent(Settings(openai_base_url="http://127.0.0.1:11434/v1", openai_api_key=None))
        .check()
        .available
    )
