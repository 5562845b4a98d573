"""The OpenAI Responses dialect (Codex).

A tool call is a `function_call` item (its `arguments` a JSON string) or, with a string input, a
freeform tool's `custom_tool_call` (its `input` that string); the usage's `input_tokens` is
reported as scripted with `cache_read_input_tokens` as its cached part (OpenAI counts cached tokens
inside the input).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response, StreamingResponse

from scripted_dialects.sse import event, halves

if TYPE_CHECKING:
    from scripted_model import Turn


def answer(body: dict[str, Any], turn: Turn, model: str, ids: Iterator[int]) -> Response:
    """The response for `turn`, streamed when the request asks."""
    response = _response(turn, model, ids)
    if not body.get("stream"):
        return JSONResponse(response)
    return StreamingResponse(_stream(response), media_type="text/event-stream")


def _response(turn: Turn, model: str, ids: Iterator[int]) -> dict[str, Any]:
    output: list[dict[str, Any]] = []
    if turn.text:
        text = {"type": "output_text", "text": turn.text, "annotations": []}
        output.append(
            {"type": "message", "id": f"msg_{next(ids):04d}", "role": "assistant",
             "status": "completed", "content": [text]}
        )  # fmt: skip
    for call in turn.tool_calls:
        number = next(ids)
        named = {"id": f"fc_{number:04d}", "call_id": f"call_{number:04d}", "name": call.name}
        if isinstance(call.input, str):
            output.append({"type": "custom_tool_call", **named, "input": call.input, "status": "completed"})
        else:
            arguments = json.dumps(call.input)
            output.append({"type": "function_call", **named, "arguments": arguments, "status": "completed"})
    usage = {
        "input_tokens": turn.input_tokens,
        "input_tokens_details": {"cached_tokens": turn.cache_read_input_tokens},
        "output_tokens": turn.output_tokens,
        "output_tokens_details": {"reasoning_tokens": turn.reasoning_tokens},
        "total_tokens": turn.input_tokens + turn.output_tokens,
    }
    return {
        "id": f"resp_{next(ids):04d}",
        "object": "response",
        "status": "completed",
        "model": model,
        "output": output,
        "usage": usage,
    }


async def _stream(response: dict[str, Any]) -> AsyncIterator[bytes]:
    """The response as the Responses API streams it: created, each output item (added, its text
    or arguments in two deltas, done), then completed with the usage."""
    numbers = itertools.count()
    started = {**response, "status": "in_progress", "output": [], "usage": None}
    yield event("response.created", {"type": "response.created", "response": started})
    for index, item in enumerate(response["output"]):
        where = {"output_index": index, "item_id": item["id"]}
        if item["type"] == "message":
            empty = {**item, "status": "in_progress", "content": []}
            kind, deltas = "response.output_text.delta", halves(item["content"][0]["text"])
            where["content_index"] = 0
        elif item["type"] == "custom_tool_call":
            empty = {**item, "status": "in_progress", "input": ""}
            kind, deltas = "response.custom_tool_call_input.delta", halves(item["input"])
        else:
            empty = {**item, "status": "in_progress", "arguments": ""}
            kind, deltas = "response.function_call_arguments.delta", halves(item["arguments"])
        added = {"type": "response.output_item.added", "output_index": index, "item": empty}
        yield event(added["type"], {**added, "sequence_number": next(numbers)})
        for delta in deltas:
            yield event(kind, {"type": kind, **where, "delta": delta, "sequence_number": next(numbers)})
        done = {"type": "response.output_item.done", "output_index": index, "item": item}
        yield event(done["type"], {**done, "sequence_number": next(numbers)})
    completed = {"type": "response.completed", "response": response}
    yield event(completed["type"], {**completed, "sequence_number": next(numbers)})
