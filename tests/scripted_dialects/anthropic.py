"""The Anthropic Messages dialect (Claude Code).

A turn is one message: a text block, then a `tool_use` block per call; streamed, it is
`message_start`, each block's start, deltas and stop, `message_delta` with the stop reason and the
usage, `message_stop`. The usage is as scripted, cache reads and writes apart from the input.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response, StreamingResponse

from scripted_dialects.sse import event, halves

if TYPE_CHECKING:
    from scripted_model import Turn


def answer(body: dict[str, Any], turn: Turn, model: str, ids: Iterator[int]) -> Response:
    """The message for `turn`, streamed when the request asks."""
    message = _message(turn, model, ids)
    if not body.get("stream"):
        return JSONResponse(message)
    return StreamingResponse(_stream(message), media_type="text/event-stream")


def _message(turn: Turn, model: str, ids: Iterator[int]) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "text", "text": turn.text}] if turn.text else []
    for call in turn.tool_calls:
        content.append(
            {
                "type": "tool_use",
                "id": f"toolu_{next(ids):04d}",
                "name": call.name,
                "input": call.input,
            }
        )
    return {
        "id": f"msg_{next(ids):04d}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "tool_use" if turn.tool_calls else "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": turn.input_tokens,
            "output_tokens": turn.output_tokens,
            "cache_read_input_tokens": turn.cache_read_input_tokens,
            "cache_creation_input_tokens": turn.cache_creation_input_tokens,
        },
    }


async def _stream(message: dict[str, Any]) -> AsyncIterator[bytes]:
    """The message as the Messages API streams it: start, each block (text in two deltas, a
    tool's input as JSON deltas), the stop reason with the output tokens, stop."""
    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    yield event("message_start", {"type": "message_start", "message": start})
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            empty, deltas = {"type": "text", "text": ""}, halves(block["text"])
            parts = [{"type": "text_delta", "text": d} for d in deltas]
        else:
            empty = {**block, "input": {}}
            parts = [
                {"type": "input_json_delta", "partial_json": d} for d in halves(json.dumps(block["input"]))
            ]
        yield event(
            "content_block_start", {"type": "content_block_start", "index": index, "content_block": empty}
        )
        for delta in parts:
            yield event(
                "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
            )
        yield event("content_block_stop", {"type": "content_block_stop", "index": index})
    stop = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    yield event("message_delta", {"type": "message_delta", "delta": stop, "usage": usage})
    yield event("message_stop", {"type": "message_stop"})
