"""The scripted model server's Chat Completions dialect, whole and streamed, as a client reads it
(the real CLIs exercise the rest: tests/agents/test_real_*.py)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from scripted_model import ScriptedModel, ToolCall, Turn

TOOLS = [{"type": "function", "function": {"name": "bash", "parameters": {"type": "object"}}}]


def client(model: ScriptedModel) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=model.app), base_url="http://scripted")


async def test_a_whole_completion_has_the_text_calls_and_usage_as_scripted() -> None:
    turn = Turn(text="Let me look.", tool_calls=[ToolCall("bash", {"command": "ls"})], input_tokens=30,
                output_tokens=4, cache_read_input_tokens=10)  # fmt: skip
    model = ScriptedModel([turn], model="m")
    async with client(model) as http:
        body = (await http.post("/v1/chat/completions", json={"model": "m", "tools": TOOLS})).json()

    choice = body["choices"][0]
    assert (body["object"], choice["finish_reason"], choice["message"]["content"]) == (
        "chat.completion", "tool_calls", "Let me look.",
    )  # fmt: skip
    call = choice["message"]["tool_calls"][0]
    assert (call["type"], call["function"]) == (
        "function",
        {"name": "bash", "arguments": '{"command": "ls"}'},
    )
    assert body["usage"]["prompt_tokens"] == 30 and body["usage"]["completion_tokens"] == 4
    assert body["usage"]["prompt_tokens_details"] == {"cached_tokens": 10}
    assert model.turns == [] and len(model.requests) == 1


async def test_a_stream_sends_deltas_then_the_finish_then_usage_when_asked() -> None:
    turn = Turn(text="Hi there", tool_calls=[ToolCall("bash", {"command": "ls"})])
    request = {"model": "m", "tools": TOOLS, "stream": True, "stream_options": {"include_usage": True}}
    async with client(ScriptedModel([turn], model="m")) as http:
        text = (await http.post("/v1/chat/completions", json=request)).text

    events = [e.removeprefix("data: ") for e in text.strip().split("\n\n")]
    assert events[-1] == "[DONE]"
    chunks: list[dict[str, Any]] = [json.loads(e) for e in events[:-1]]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert "".join(d.get("content") or "" for d in deltas) == "Hi there"
    calls = [c for d in deltas for c in d.get("tool_calls", [])]
    assert calls[0]["id"] and calls[0]["function"]["name"] == "bash"
    assert "".join(c["function"]["arguments"] for c in calls) == '{"command": "ls"}'
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 5


async def test_side_calls_take_no_turn_and_errors_have_openais_body() -> None:
    model = ScriptedModel([Turn(error_status=401, error_message="Incorrect API key provided")], model="m")
    async with client(model) as http:
        side = (await http.post("/v1/chat/completions", json={"model": "m", "messages": []})).json()
        rejected = await http.post("/v1/chat/completions", json={"model": "m", "tools": TOOLS})
        listed = (await http.get("/v1/models")).json()

    assert side["choices"][0]["message"]["content"] == "ok" and len(model.side_requests) == 1
    assert rejected.status_code == 401
    assert rejected.json()["error"]["code"] == "invalid_api_key"
    assert [m["id"] for m in listed["data"]] == ["m"]
