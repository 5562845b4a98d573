"""Parses `cursor-agent -p --output-format stream-json` lines into events and an outcome.

Lines are `{type, subtype?, session_id, …}`, much like Claude Code's: `system/init {session_id,
model, cwd, apiKeySource, permissionMode}`; `user` (the prompt, echoed); `assistant {message:
{content: [{type: "text", text}]}}`, one line per message between tool calls; `thinking/delta
{text}` then `thinking/completed`; `tool_call/started {call_id, tool_call: {<name>ToolCall: {args}}}`
and `tool_call/completed`, the same with `result: {<outcome>: {…}}`, where the outcome is `success`
or what went wrong (`error`, `failure`, `rejected`, `timeout`, `permissionDenied`, …);
`result {subtype: success | error, is_error, result, session_id, usage?}` last. Other types
(`interaction_query`, `retry`, `connection`, other `system` subtypes) pass through.

A run succeeded when its result says so. Usage is in the result only, when the CLI reports it
(`{inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens}`, read here as input without the
cache buckets, as Anthropic counts); older CLIs report none, and none report a cost.
"""

from __future__ import annotations

import asyncio
from typing import Any

from shipyard.agents._classify import failure
from shipyard.agents._util import emit_raw, last_lines, preview
from shipyard.domain.events import EventSink
from shipyard.domain.models import AgentResult, ExecResult, Usage

_TOOL_SUFFIX = "ToolCall"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(usage: dict[str, Any], name: str) -> int:
    value = usage.get(name)
    return value if isinstance(value, int) else 0


def usage_of(usage: dict[str, Any], turns: int) -> Usage:
    """The result's usage: input with its cache buckets added, as Usage counts all input."""
    read, written = _count(usage, "cacheReadTokens"), _count(usage, "cacheWriteTokens")
    return Usage(
        turns=turns,
        input_tokens=_count(usage, "inputTokens") + read + written,
        cached_input_tokens=read,
        cache_write_tokens=written,
        output_tokens=_count(usage, "outputTokens"),
    )


def tool_of(tool_call: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A tool call's name and body: `{readToolCall: {…}}` is `read`; `{function: {name, arguments}}`
    (a tool of an MCP server or a custom one) is its name."""
    for key, body in tool_call.items():
        if key.endswith(_TOOL_SUFFIX) and isinstance(body, dict):
            return key[: -len(_TOOL_SUFFIX)], body
    function = _dict(tool_call.get("function"))
    return str(function.get("name") or "tool"), {"args": function.get("arguments")}


def tool_outcome(result: dict[str, Any]) -> tuple[bool, Any, int | None]:
    """(failed, content, exit code) of a completed call's `result: {<outcome>: payload}`."""
    outcome = "success" if "success" in result else next(iter(result), "error")
    payload = result.get(outcome)
    detail = _dict(payload)
    exit_code = detail.get("exitCode") if isinstance(detail.get("exitCode"), int) else None
    if outcome == "success":
        return bool(exit_code), _success_content(detail), exit_code
    # A command's failure (`failure`), a refusal (`rejected`, `permissionDenied`), a timeout, …
    message = detail.get("error") or detail.get("reason") or detail.get("stderr") or payload
    return True, {outcome: message} if message else outcome, exit_code


def _success_content(payload: dict[str, Any]) -> Any:
    """What a tool gave back: a shell's output, a read's text, else its whole payload."""
    if "stdout" in payload or "stderr" in payload:
        return "".join(str(payload.get(k) or "") for k in ("stdout", "stderr"))
    if isinstance(payload.get("content"), str):
        return payload["content"]
    return payload


class CursorStream:
    """Turns Cursor CLI JSON lines into events as they arrive and keeps what decides the outcome."""

    def __init__(self, events: EventSink) -> None:
        self._events = events
        self.session_id: str | None = None
        self.usage = Usage()
        self.answer = ""
        self._thinking: list[str] = []
        self._turns = 0
        self._answering = False  # the model is answering: its text or tool calls since the last result
        self.result: dict[str, Any] | None = None
        self.finished = asyncio.Event()  # set by the result line

    async def handle(self, obj: dict[str, Any]) -> None:
        """Dispatch one JSON line; unknown types pass through as `agent.raw`."""
        kind, subtype = obj.get("type"), obj.get("subtype")
        await self._session(obj.get("session_id"))
        if kind == "assistant":
            await self._message(_dict(obj.get("message")))
        elif kind == "thinking":
            await self._think(subtype, obj.get("text"))
        elif kind == "tool_call" and subtype in ("started", "completed"):
            await self._tool(subtype, obj)
        elif kind == "result":
            await self._result(obj)
        elif kind != "user" and not (kind == "system" and subtype == "init"):
            await emit_raw(self._events, obj)

    async def _session(self, session_id: Any) -> None:
        if self.session_id is None and isinstance(session_id, str) and session_id:
            self.session_id = session_id
            await self._events.emit("agent.session", {"session_id": session_id})

    def _answered(self) -> None:
        if not self._answering:
            self._answering, self._turns = True, self._turns + 1

    async def _message(self, message: dict[str, Any]) -> None:
        blocks = message.get("content")
        parts = [b.get("text") for b in blocks if isinstance(b, dict)] if isinstance(blocks, list) else []
        text = "".join(p for p in parts if isinstance(p, str))
        if text:
            self._answered()
            self.answer = text
            await self._events.emit("agent.message", {"text": text, "role": "assistant"})

    async def _think(self, subtype: Any, text: Any) -> None:
        if subtype == "delta" and isinstance(text, str):
            self._thinking.append(text)
        elif subtype == "completed" and self._thinking:
            thought, self._thinking = "".join(self._thinking), []
            await self._events.emit("agent.message", {"text": thought, "role": "thinking"}, "debug")

    async def _tool(self, subtype: str, obj: dict[str, Any]) -> None:
        name, body = tool_of(_dict(obj.get("tool_call")))
        call_id = str(obj.get("call_id") or _dict(body.get("args")).get("toolCallId") or "")
        if subtype == "started":
            self._answered()
            call = {"name": name, "input": preview(body.get("args")), "id": call_id}
            await self._events.emit("agent.tool_call", call)
            return
        self._answering = False
        failed, content, exit_code = tool_outcome(_dict(body.get("result")))
        result = {"is_error": failed, "content": preview(content), "id": call_id, "exit_code": exit_code}
        await self._events.emit("agent.tool_result", result)

    async def _result(self, obj: dict[str, Any]) -> None:
        self.result = obj
        self.usage = usage_of(_dict(obj.get("usage")), self._turns)
        if self.failed:
            await emit_raw(self._events, obj, "warning")
        elif not self.answer and isinstance(obj.get("result"), str):
            self.answer = obj["result"]
        self.finished.set()

    @property
    def failed(self) -> bool:
        """The result line says the run failed."""
        result = self.result or {}
        return bool(result.get("is_error")) or result.get("subtype") != "success"

    def outcome(self, done: ExecResult, timeout_s: float | None) -> AgentResult:
        """Judge the run from its result line; the exit code and stderr only when there is none."""
        common: dict[str, Any] = {"session_id": self.session_id, "usage": self.usage, "output": self.answer}
        if done.timed_out:
            message = f"cursor-agent timed out after {timeout_s or 0:g} s"
            return failure(message, kind="timeout", retryable=False, **common)
        if self.result is not None and not self.failed:
            return AgentResult(ok=True, **common)
        if self.result is not None:
            text = self.result.get("result") or self.result.get("error") or last_lines(done.stderr)
            return failure(str(text or f"cursor-agent failed ({self.result.get('subtype')})"), **common)
        message = f"cursor-agent exited with code {done.exit_code} without a result"
        detail = last_lines(done.stderr)
        return failure(message + (f": {detail}" if detail else ""), **common)
