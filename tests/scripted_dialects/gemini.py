"""The Gemini API dialect (Gemini CLI through `GOOGLE_GEMINI_BASE_URL`).

`POST /v1beta/models/{model}:generateContent` answers one `GenerateContentResponse`;
`:streamGenerateContent?alt=sse` the same in chunks: the text in two deltas, then each call as a
`functionCall {name, args}` part, then a chunk with the `finishReason` and the `usageMetadata`.
Gemini counts the cached tokens inside `promptTokenCount` and the thoughts apart from
`candidatesTokenCount`: the scripted output includes its reasoning, as the other dialects count it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response, StreamingResponse

from scripted_dialects.sse import data, halves

if TYPE_CHECKING:
    from scripted_model import Turn


def answer(turn: Turn, model: str, *, stream: bool) -> Response:
    """The response for `turn`, in chunks when the request streams."""
    if not stream:
        return JSONResponse(_response(turn, model, _parts(turn), finished=True))
    return StreamingResponse(_chunks(turn, model), media_type="text/event-stream")


def _parts(turn: Turn) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = [{"text": turn.text}] if turn.text else []
    return parts + [{"functionCall": {"name": c.name, "args": c.input}} for c in turn.tool_calls]


def _usage(turn: Turn) -> dict[str, int]:
    candidates = turn.output_tokens - turn.reasoning_tokens
    usage = {
        "promptTokenCount": turn.input_tokens,
        "candidatesTokenCount": candidates,
        "totalTokenCount": turn.input_tokens + turn.output_tokens,
    }
    if turn.cache_read_input_tokens:
        usage["cachedContentTokenCount"] = turn.cache_read_input_tokens
    if turn.reasoning_tokens:
        usage["thoughtsTokenCount"] = turn.reasoning_tokens
    return usage


def _response(turn: Turn, model: str, parts: list[dict[str, Any]], *, finished: bool) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    response: dict[str, Any] = {"candidates": [candidate], "modelVersion": model}
    if finished:
        candidate["finishReason"] = "STOP"
        response["usageMetadata"] = _usage(turn)
    return response


async def _chunks(turn: Turn, model: str) -> AsyncIterator[bytes]:
    for part in halves(turn.text):
        yield data(_response(turn, model, [{"text": part}], finished=False))
    calls = [p for p in _parts(turn) if "functionCall" in p]
    yield data(_response(turn, model, calls, finished=True))
