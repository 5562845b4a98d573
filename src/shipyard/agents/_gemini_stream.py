"""Parses `gemini -o stream-json` lines into events and an outcome.

Lines are `{type, timestamp, …}`: `init {session_id, model}`; `message {role, content, delta?}`,
the model's text in deltas; `tool_use {tool_name, tool_id, parameters}`; `tool_result {tool_id,
status, output?, error?}`; `error {severity, message}`; `result {status, error?, stats}` last.
An API failure is `result {status: "error", error: {type, message: "[API Error: {…Google's error
body…}]"}}`, except a 429 past the CLI's retries: "[API Error: <message>]\nPlease wait and try
again later…". A failure before the session starts (auth, an untrusted folder) prints no result.

A run succeeded when its result says `success`. `stats` counts per model `input_tokens` with the
`cached` part and `output_tokens` without the thoughts, which only `total_tokens` includes; Usage
counts them as output (reasoning), as the provider does. There is no per-request usage, and no
cost: each model's tokens are priced from genai-prices' table (an estimate).
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from shipyard.agents._classify import failure
from shipyard.agents._prices import estimate_usd
from shipyard.agents._util import emit_raw, last_lines, preview
from shipyard.domain.events import EventSink
from shipyard.domain.models import AgentResult, ExecResult, Usage

_API_ERROR = re.compile(r"\[API Error: (\{.*\})\]", re.DOTALL)
# After its retries on a 429 the CLI says only "[API Error: <message>]" and its advice.
_QUOTA = re.compile(r"\[API Error: (.*?)\]\s*Please wait and try again later", re.DOTALL)
# Exit codes of a run that ends before its result line, and the failure kind each means.
_EXIT_KINDS = {41: "auth", 53: "max_turns"}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(stats: dict[str, Any], name: str) -> int:
    value = stats.get(name)
    return value if isinstance(value, int) else 0


def _model_usage(stats: dict[str, Any], model: str | None) -> Usage:
    """One model's tokens: input with its cached part, output with the thoughts; priced from
    genai-prices' table when it knows `model` (an estimate: the CLI reports no cost)."""
    input_tokens, output_tokens = _count(stats, "input_tokens"), _count(stats, "output_tokens")
    thoughts = max(0, _count(stats, "total_tokens") - input_tokens - output_tokens)
    cached = _count(stats, "cached")
    cost = estimate_usd(
        model,
        "google",
        input_tokens=max(input_tokens - cached, 0),
        output_tokens=output_tokens + thoughts,
        cache_read_tokens=cached,
    )
    return Usage(
        input_tokens=input_tokens,
        cached_input_tokens=cached,
        output_tokens=output_tokens + thoughts,
        reasoning_tokens=thoughts,
        cost_usd=cost,
        cost_estimated=cost is not None,
    )


def usage_of(stats: dict[str, Any], turns: int) -> Usage:
    """The run's usage from `result.stats`: its models' summed (the router's side calls included)."""
    models = {str(name): _dict(m) for name, m in _dict(stats.get("models")).items()}
    usage = Usage(turns=turns)
    for name, part in models.items() or [(None, stats)]:
        usage = usage + _model_usage(part, name)
    return usage


def _error(error: Any) -> tuple[str, int | None]:
    """A result's error message and the HTTP status of the API error inside it, if any."""
    error = _dict(error)
    message = str(error.get("message") or error.get("type") or "gemini failed")
    if quota := _QUOTA.match(message):
        return f"API Error 429: {quota[1]}", 429
    found = _API_ERROR.search(message)
    try:
        body = _dict(_dict(json.loads(found[1])).get("error")) if found else {}
    except ValueError:
        body = {}
    code = body.get("code")
    if not isinstance(code, int):
        return message, None
    status = f" ({body['status']})" if body.get("status") else ""
    return f"API Error {code}: {body.get('message', '')}{status}", code


class GeminiStream:
    """Turns Gemini CLI JSON lines into events as they arrive and keeps what decides the outcome."""

    def __init__(self, events: EventSink) -> None:
        self._events = events
        self.session_id: str | None = None
        self.usage = Usage()
        self.answer = ""
        self._text: list[str] = []  # the assistant's message, in deltas until it ends
        self._turns = 0
        self._answering = False  # the model is answering: its text or tool calls since the last result
        self.status: str | None = None
        self.error: tuple[str, int | None] | None = None
        self.finished = asyncio.Event()  # set by the result line

    async def handle(self, obj: dict[str, Any]) -> None:
        """Dispatch one JSON line; unknown types pass through as `agent.raw`."""
        kind = obj.get("type")
        if kind == "init":
            await self._session(obj.get("session_id"))
        elif kind == "message":
            await self._message(obj)
        elif kind == "tool_use":
            await self._tool_call(obj)
        elif kind == "tool_result":
            await self._tool_result(obj)
        elif kind == "result":
            await self._result(obj)
        else:
            await emit_raw(self._events, obj, "warning" if kind == "error" else "debug")

    async def _session(self, session_id: Any) -> None:
        if self.session_id is None and isinstance(session_id, str) and session_id:
            self.session_id = session_id
            await self._events.emit("agent.session", {"session_id": session_id})

    def _answered(self) -> None:
        if not self._answering:
            self._answering, self._turns = True, self._turns + 1

    async def _message(self, obj: dict[str, Any]) -> None:
        if obj.get("role") != "assistant":
            return  # the prompt, echoed
        self._answered()
        self._text.append(str(obj.get("content") or ""))
        if not obj.get("delta"):
            await self._flush()

    async def _flush(self) -> None:
        """Emit the message the deltas so far make up, if any."""
        text, self._text = "".join(self._text), []
        if text:
            self.answer = text
            await self._events.emit("agent.message", {"text": text, "role": "assistant"})

    async def _tool_call(self, obj: dict[str, Any]) -> None:
        self._answered()
        await self._flush()
        call = {"name": str(obj.get("tool_name") or ""), "input": preview(obj.get("parameters"))}
        await self._events.emit("agent.tool_call", {**call, "id": str(obj.get("tool_id") or "")})

    async def _tool_result(self, obj: dict[str, Any]) -> None:
        self._answering = False
        failed = obj.get("status") != "success"
        error = obj.get("error")
        content = (_dict(error).get("message") or error) if failed and error else obj.get("output")
        result = {"is_error": failed, "content": preview(content or ""), "id": str(obj.get("tool_id") or "")}
        await self._events.emit("agent.tool_result", {**result, "exit_code": None})

    async def _result(self, obj: dict[str, Any]) -> None:
        await self._flush()
        self.status = str(obj.get("status") or "")
        if self.status != "success":
            self.error = _error(obj.get("error"))
            await emit_raw(self._events, obj, "warning")
        self.usage = usage_of(_dict(obj.get("stats")), self._turns)
        self.finished.set()

    def outcome(self, done: ExecResult, timeout_s: float | None) -> AgentResult:
        """Judge the run from its result line; the exit code only when there is none."""
        common: dict[str, Any] = {"session_id": self.session_id, "usage": self.usage, "output": self.answer}
        if done.timed_out:
            message = f"gemini timed out after {timeout_s or 0:g} s"
            return failure(message, kind="timeout", retryable=False, **common)
        if self.status == "success":
            return AgentResult(ok=True, **common)
        if self.error is not None:
            message, status = self.error
            return failure(message, status=status, **common)
        message = f"gemini exited with code {done.exit_code} without a result"
        detail = last_lines(done.stderr)
        kind = _EXIT_KINDS.get(done.exit_code)
        return failure(message + (f": {detail}" if detail else ""), kind=kind, **common)
