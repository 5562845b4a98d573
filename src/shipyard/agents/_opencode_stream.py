"""Parses `opencode run --format json` lines into events and an outcome.

Every line is `{type, timestamp, sessionID, …}`: `step_start`; `text {part.text}`; `tool_use
{part: {tool, callID, state: {status, input, output | error}}}`, printed once the tool has finished;
`step_finish {part: {reason, cost, tokens}}` per model request; `error {error: {name, data}}`, after
which opencode exits 1. An `UnknownError` ("Unexpected server error. Check server logs") has its
cause only in the log, which `--print-logs --log-level ERROR` sends to stderr as `error="…"`.

A run succeeded when a step finished for a reason other than `tool-calls` and no error came.
opencode splits the tokens: `input` without the cached `cache.read` and `cache.write`, `output`
without `reasoning`; Usage counts all input, cached and written parts included, and all output,
reasoning included, as the provider does.

Kilo Code 7.x (`kilo run --format json`), an opencode fork, prints the same lines; `cli` names the
CLI in the messages.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from shipyard.agents._classify import failure
from shipyard.agents._util import emit_raw, last_lines, preview
from shipyard.domain.events import EventSink
from shipyard.domain.models import AgentResult, ExecResult, Usage

_LOGGED_ERROR = re.compile(r'\berror="([^"]+)"')


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _usage(part: dict[str, Any]) -> Usage:
    """A step's usage: one turn, its tokens and opencode's cost."""
    tokens, cost = _dict(part.get("tokens")), part.get("cost")
    cache = _dict(tokens.get("cache"))
    read, written = int(cache.get("read") or 0), int(cache.get("write") or 0)
    reasoning = int(tokens.get("reasoning") or 0)
    return Usage(
        turns=1,
        input_tokens=int(tokens.get("input") or 0) + read + written,
        cached_input_tokens=read,
        cache_write_tokens=written,
        output_tokens=int(tokens.get("output") or 0) + reasoning,
        reasoning_tokens=reasoning,
        cost_usd=float(cost) if isinstance(cost, int | float) else None,
    )


def _error(error: Any, cli: str) -> tuple[str, int | None]:
    """An `error` line's message and HTTP status."""
    error = _dict(error)
    data = _dict(error.get("data"))
    status = data.get("statusCode")
    message = str(data.get("message") or error.get("name") or f"{cli} failed")
    if isinstance(status, int):
        return f"{error.get('name', 'error')} {status}: {message}", status
    return (f"{error['name']}: {message}" if error.get("name") else message), None


def _logged_cause(stderr: str) -> str:
    """The last error opencode logged, e.g. `ProviderModelNotFoundError: Model not found: x/y.`"""
    found = _LOGGED_ERROR.findall(stderr)
    return str(found[-1]) if found else ""


class OpencodeStream:
    """Turns opencode JSON lines into events as they arrive and keeps what decides the outcome."""

    def __init__(self, events: EventSink, cli: str = "opencode") -> None:
        self._events = events
        self._cli = cli
        self.session_id: str | None = None
        self.usage = Usage()
        self.answer = ""
        self.completed = False
        self.error: tuple[str, int | None] | None = None
        self.finished = asyncio.Event()  # set when the last step finished or an error came

    async def handle(self, obj: dict[str, Any]) -> None:
        """Dispatch one JSON line; unknown types pass through as `agent.raw`."""
        await self._session(obj.get("sessionID"))
        kind = obj.get("type")
        part = _dict(obj.get("part"))
        if kind == "text":
            self.answer = str(part.get("text") or "")
            await self._events.emit("agent.message", {"text": self.answer, "role": "assistant"})
        elif kind == "reasoning":
            await self._events.emit(
                "agent.message", {"text": part.get("text", ""), "role": "thinking"}, "debug"
            )
        elif kind == "tool_use":
            await self._tool(part)
        elif kind == "step_finish":
            await self._step_finished(part)
        elif kind == "error":
            self.error = _error(obj.get("error"), self._cli)
            self.finished.set()
            await emit_raw(self._events, obj, "warning")
        elif kind != "step_start":
            await emit_raw(self._events, obj)

    async def _session(self, session_id: Any) -> None:
        if self.session_id is None and isinstance(session_id, str) and session_id:
            self.session_id = session_id
            await self._events.emit("agent.session", {"session_id": session_id})

    async def _tool(self, part: dict[str, Any]) -> None:
        state = _dict(part.get("state"))
        call_id = str(part.get("callID") or part.get("id") or "")
        call = {"name": str(part.get("tool") or ""), "input": preview(state.get("input")), "id": call_id}
        await self._events.emit("agent.tool_call", call)
        if state.get("status") in ("completed", "error"):
            errored = state.get("status") == "error"  # a tool's failure: its `error`, no output
            content = state.get("error") if errored else state.get("output")
            exit_code = _dict(state.get("metadata")).get("exit")  # bash's
            failed = errored or (isinstance(exit_code, int) and exit_code != 0)
            result = {"is_error": failed, "content": preview(content or ""), "id": call_id}
            await self._events.emit("agent.tool_result", {**result, "exit_code": exit_code})

    async def _step_finished(self, part: dict[str, Any]) -> None:
        if part.get("reason") != "tool-calls":
            self.completed = True
            self.finished.set()
        self.usage = self.usage + _usage(part)
        await self._events.emit("agent.usage", {**self.usage.model_dump(mode="json"), "final": False})

    def outcome(self, done: ExecResult, timeout_s: float | None) -> AgentResult:
        """Judge the run from its events: a finished last step and no error is a success."""
        common: dict[str, Any] = {"session_id": self.session_id, "usage": self.usage, "output": self.answer}
        if done.timed_out:
            message = f"{self._cli} timed out after {timeout_s or 0:g} s"
            return failure(message, kind="timeout", retryable=False, **common)
        if self.error is not None:
            message, status = self.error
            cause = _logged_cause(done.stderr) if status is None else ""
            return failure(message + (f" ({cause})" if cause else ""), status=status, **common)
        if self.completed:
            return AgentResult(ok=True, **common)
        message = f"{self._cli} exited with code {done.exit_code} without finishing its last step"
        detail = last_lines(done.stderr)
        return failure(message + (f": {detail}" if detail else ""), **common)
