"""A scripted model server: a real HTTP server on loopback that speaks a provider's API (the
Anthropic Messages API for Claude Code, the OpenAI Responses API for Codex, each streamed or not)
and answers from a script, so that a real agent CLI runs its own tool loop, file edits and output
format end to end with no outside service.

A script is a list of turns; each request of the agent's main loop takes the next one. A turn is
text, tool calls to make, the usage to report, or an error to answer with (status and message,
e.g. 401 or 429). Requests that are not the main loop's (a CLI's side calls: titles, summaries,
token counts) are answered with a short text and take no turn: a main-loop request is one that
offers tools. Every request is kept (`requests`), so a test can read the tool results the agent
sent back. `{cwd}` in a tool call's input stands for the agent's working directory, as the request
tells it (Claude Code: "Primary working directory: …"; Codex: `<cwd>…</cwd>`; opencode: "Working
directory: …"), for the tools that
want absolute paths.

In the Responses dialect a tool call is a `function_call` item (its `arguments` a JSON string) or,
with a string input, a freeform tool's `custom_tool_call` (its `input` that string); the
usage's `input_tokens` is reported as scripted with `cache_read_input_tokens` as its cached part
(OpenAI counts cached tokens inside the input), and an error has OpenAI's body
`{"error": {"message", "type", "code"}}`.

By hand: `python tests/scripted_model.py script.json --port 8765`, then point the CLI there
(`ANTHROPIC_BASE_URL=http://127.0.0.1:8765`; Codex: `CODEX_HOME` a directory made by
`codex_home`; opencode: `OPENCODE_CONFIG_CONTENT` from `opencode_config`).
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from scripted_dialects import chat
from scripted_dialects.sse import event, halves

# A model Codex 0.171 knows that offers plain tools (`exec_command {cmd}`, a freeform
# `apply_patch`); its newer ones default to a "code mode" that sends no `tools` at all.
CODEX_MODEL = "gpt-5.5"


@dataclass
class ToolCall:
    """A call of one of the tools the request offers; a string input calls a freeform tool (the
    Responses API's `custom` tools, such as Codex's `apply_patch`) with that text."""

    name: str
    input: dict[str, Any] | str


@dataclass
class Turn:
    """One answer of the model: text and tool calls (in that order), with the usage it reports;
    or, with `error_status`, an error answer instead."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    input_tokens: int = 10
    output_tokens: int = 5
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    reasoning_tokens: int = 0
    error_status: int | None = None
    error_message: str = ""

    @classmethod
    def of(cls, data: dict[str, Any]) -> Turn:
        calls = [ToolCall(c["name"], c.get("input", {})) for c in data.get("tool_calls", [])]
        return cls(**{**data, "tool_calls": calls})


_ANTHROPIC_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
# OpenAI's (type, code) for a status, as its API answers them.
_OPENAI_ERRORS = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", None),
}


# Where each CLI names its working directory: Claude Code, Codex, opencode.
_CWD = re.compile(r"Primary working directory: ([^\s\\]+)|<cwd>([^<]+)</cwd>|  Working directory: ([^\s\\]+)")


def _with_cwd(value: Any, cwd: str) -> Any:
    if isinstance(value, str):
        return value.replace("{cwd}", cwd)
    if isinstance(value, dict):
        return {k: _with_cwd(v, cwd) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_cwd(v, cwd) for v in value]
    return value


class ScriptedModel:
    """The server's state: the script still to answer, and every request seen."""

    def __init__(self, turns: Iterable[Turn], model: str = "claude-sonnet-4-5") -> None:
        self.turns = list(turns)
        self.model = model
        self.requests: list[dict[str, Any]] = []  # main-loop requests, in order
        self.side_requests: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/v1/messages", self._messages, methods=["POST"]),
                Route("/v1/messages/count_tokens", self._count_tokens, methods=["POST"]),
                Route("/v1/responses", self._responses, methods=["POST"]),
                Route("/v1/chat/completions", self._chat_completions, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )

    @property
    def unused(self) -> list[Turn]:
        return self.turns

    def _turn_for(self, body: dict[str, Any], *, offers_tools: bool) -> Turn:
        """The next turn for a main-loop request (one that offers tools); a side call's short text."""
        if offers_tools:
            return self._take(body)
        self.side_requests.append(body)
        return Turn(text="ok", input_tokens=1, output_tokens=1)

    def _take(self, body: dict[str, Any]) -> Turn:
        """The next turn for a main-loop request, with `{cwd}` filled in from the request."""
        self.requests.append(body)
        if not self.turns:
            return Turn(error_status=500, error_message="the script has no turn left for this request")
        turn = self.turns.pop(0)
        if found := _CWD.search(json.dumps(body)):
            cwd = found[1] or found[2] or found[3]
            turn.tool_calls = [ToolCall(c.name, _with_cwd(c.input, cwd)) for c in turn.tool_calls]
        return turn

    # The Anthropic Messages API (Claude Code).

    async def _messages(self, request: Request) -> Response:
        body = await request.json()
        if not body.get("tools"):  # a side call: a title, a summary, a check
            self.side_requests.append(body)
            return self._answer(body, Turn(text="ok", input_tokens=1, output_tokens=1))
        turn = self._take(body)
        if turn.error_status is not None:
            return _anthropic_error(turn.error_status, turn.error_message or "scripted error")
        return self._answer(body, turn)

    async def _count_tokens(self, request: Request) -> Response:
        return JSONResponse({"input_tokens": 10})

    def _answer(self, body: dict[str, Any], turn: Turn) -> Response:
        message = self._message(turn)
        if not body.get("stream"):
            return JSONResponse(message)
        return StreamingResponse(self._stream(message), media_type="text/event-stream")

    def _message(self, turn: Turn) -> dict[str, Any]:
        content: list[dict[str, Any]] = [{"type": "text", "text": turn.text}] if turn.text else []
        for call in turn.tool_calls:
            content.append(
                {
                    "type": "tool_use",
                    "id": f"toolu_{next(self._ids):04d}",
                    "name": call.name,
                    "input": call.input,
                }
            )
        return {
            "id": f"msg_{next(self._ids):04d}",
            "type": "message",
            "role": "assistant",
            "model": self.model,
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

    async def _stream(self, message: dict[str, Any]) -> AsyncIterator[bytes]:
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
                    {"type": "input_json_delta", "partial_json": d}
                    for d in halves(json.dumps(block["input"]))
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

    # The OpenAI Chat Completions API (opencode): scripted_dialects/chat.py.

    async def _chat_completions(self, request: Request) -> Response:
        body = await request.json()
        turn = self._turn_for(body, offers_tools=bool(body.get("tools")))
        if turn.error_status is not None:
            return _openai_error(turn.error_status, turn.error_message or "scripted error")
        return chat.answer(body, turn, self.model, self._ids)

    async def _models(self, request: Request) -> Response:
        return chat.models(self.model)

    # The OpenAI Responses API (Codex).

    async def _responses(self, request: Request) -> Response:
        body = await request.json()
        if not body.get("tools"):  # a side call
            self.side_requests.append(body)
            turn = Turn(text="ok", input_tokens=1, output_tokens=1)
        else:
            turn = self._take(body)
        if turn.error_status is not None:
            return _openai_error(turn.error_status, turn.error_message or "scripted error")
        response = self._response(turn)
        if not body.get("stream"):
            return JSONResponse(response)
        return StreamingResponse(self._response_stream(response), media_type="text/event-stream")

    def _response(self, turn: Turn) -> dict[str, Any]:
        output: list[dict[str, Any]] = []
        if turn.text:
            text = {"type": "output_text", "text": turn.text, "annotations": []}
            output.append(
                {"type": "message", "id": f"msg_{next(self._ids):04d}", "role": "assistant",
                 "status": "completed", "content": [text]}
            )  # fmt: skip
        for call in turn.tool_calls:
            number = next(self._ids)
            ids = {"id": f"fc_{number:04d}", "call_id": f"call_{number:04d}", "name": call.name}
            if isinstance(call.input, str):
                output.append({"type": "custom_tool_call", **ids, "input": call.input, "status": "completed"})
            else:
                arguments = json.dumps(call.input)
                output.append({"type": "function_call", **ids, "arguments": arguments, "status": "completed"})
        usage = {
            "input_tokens": turn.input_tokens,
            "input_tokens_details": {"cached_tokens": turn.cache_read_input_tokens},
            "output_tokens": turn.output_tokens,
            "output_tokens_details": {"reasoning_tokens": turn.reasoning_tokens},
            "total_tokens": turn.input_tokens + turn.output_tokens,
        }
        return {
            "id": f"resp_{next(self._ids):04d}",
            "object": "response",
            "status": "completed",
            "model": self.model,
            "output": output,
            "usage": usage,
        }

    async def _response_stream(self, response: dict[str, Any]) -> AsyncIterator[bytes]:
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


def _anthropic_error(status: int, message: str) -> Response:
    kind = _ANTHROPIC_ERRORS.get(status, "api_error")
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return JSONResponse(body, status_code=status, headers=_retry_now(status))


def _openai_error(status: int, message: str) -> Response:
    kind, code = _OPENAI_ERRORS.get(status, ("server_error", None))
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=_retry_now(status))


def _retry_now(status: int) -> dict[str, str]:
    return {"retry-after": "0"} if status == 429 else {}


def codex_home(path: Path, base_url: str, model: str = CODEX_MODEL) -> Path:
    """A `CODEX_HOME` whose config.toml sends Codex to the server at `base_url`, with the key in
    OPENAI_API_KEY, retrying a failed request once, not five times with backoff. In Codex 0.171 an
    error status answering the Responses stream (429 and 401 alike) counts against
    `stream_max_retries`, not `request_max_retries`."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.toml").write_text(
        f'model = "{model}"\nmodel_provider = "scripted"\n\n[model_providers.scripted]\n'
        f'name = "scripted"\nbase_url = "{base_url}/v1"\nenv_key = "OPENAI_API_KEY"\n'
        'wire_api = "responses"\nrequest_max_retries = 1\nstream_max_retries = 1\n'
    )
    return path


def opencode_config(base_url: str, model: str, cost: dict[str, float] | None = None) -> str:
    """An `OPENCODE_CONFIG_CONTENT` whose provider `scripted` (`@ai-sdk/openai-compatible`) is the
    server at `base_url`, reading its key from OPENAI_API_KEY; `cost` prices the model (USD per
    million tokens: input, output, cache_read), or opencode reports a cost of 0."""
    entry: dict[str, Any] = {"name": model, **({"cost": cost} if cost else {})}
    options = {"baseURL": f"{base_url}/v1", "apiKey": "{env:OPENAI_API_KEY}"}
    provider = {"npm": "@ai-sdk/openai-compatible", "name": "Scripted", "options": options}
    config = {"provider": {"scripted": {**provider, "models": {model: entry}}}, "model": f"scripted/{model}"}
    return json.dumps(config)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("script", help="a JSON file: a list of turns (text, tool_calls, usage, error_status)")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    with open(args.script, encoding="utf-8") as fh:
        turns = [Turn.of(t) for t in json.load(fh)]
    uvicorn.run(ScriptedModel(turns).app, host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
