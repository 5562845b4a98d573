"""The OpenAI Chat Completions dialect (opencode through `@ai-sdk/openai-compatible`).

A turn is one assistant message: its text as `content`, its calls as `tool_calls` (`arguments` a
JSON string). Streamed, it is `chat.completion.chunk`s: the role, the text in two deltas, each
call's id and name then its arguments in two deltas, a chunk with the `finish_reason`, a usage
chunk when the request asks `stream_options.include_usage`, and `[DONE]`. `prompt_tokens` is the
scripted input with `cache_read_input_tokens` as its cached part, as OpenAI counts them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response, StreamingResponse

from scripted_dialects.sse import data, halves

if TYPE_CHECKING:
    from scripted_model import Turn


def answer(body: dict[str, Any], turn: Turn, model: str, ids: Iterator[int]) -> Response:
    """The completion for `turn`, streamed when the request asks."""
    completion = _completion(turn, model, ids)
    if not body.get("stream"):
        return JSONResponse(completion)
    with_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    return StreamingResponse(_chunks(completion, with_usage), media_type="text/event-stream")


def _completion(turn: Turn, model: str, ids: Iterator[int]) -> dict[str, Any]:
    calls = [
        {
            "id": f"call_{next(ids):04d}",
            "type": "function",
            "function": {"name": call.name, "arguments": json.dumps(call.input)},
        }
        for call in turn.tool_calls
    ]
    message: dict[str, Any] = {"role": "assistant", "content": turn.text or None}
    if calls:
        message["tool_calls"] = calls
    usage = {
        "prompt_tokens": turn.input_tokens,
        "completion_tokens": turn.output_tokens,
        "total_tokens": turn.input_tokens + turn.output_tokens,
        "prompt_tokens_details": {"cached_tokens": turn.cache_read_input_tokens},
        "completion_tokens_details": {"reasoning_tokens": turn.reasoning_tokens},
    }
    choice = {"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}
    return {
        "id": f"chatcmpl-{next(ids):04d}",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [choice],
        "usage": usage,
    }


async def _chunks(completion: dict[str, Any], with_usage: bool) -> AsyncIterator[bytes]:
    head = {k: completion[k] for k in ("id", "created", "model")}

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        return data({**head, "object": "chat.completion.chunk", "choices": [choice]})

    choice = completion["choices"][0]
    message = choice["message"]
    yield chunk({"role": "assistant", "content": ""})
    for part in halves(message["content"] or ""):
        yield chunk({"content": part})
    for index, call in enumerate(message.get("tool_calls", [])):
        name = {"name": call["function"]["name"], "arguments": ""}
        start = {"index": index, "id": call["id"], "type": "function", "function": name}
        yield chunk({"tool_calls": [start]})
        for part in halves(call["function"]["arguments"]):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": part}}]})
    yield chunk({}, choice["finish_reason"])
    if with_usage:
        yield data({**head, "object": "chat.completion.chunk", "choices": [], "usage": completion["usage"]})
    yield data("[DONE]")


def models(model: str) -> Response:
    """`GET /v1/models`: the one model the server answers as."""
    entry = {"id": model, "object": "model", "created": 0, "owned_by": "scripted"}
    return JSONResponse({"object": "list", "data": [entry]})
