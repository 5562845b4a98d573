"""Parses the lines of the ACP bridge (_acp_bridge.py) into events and an outcome.

`session {sessionId}`; `update {update}`, an ACP session update as the agent sent it:
`agent_message_chunk` / `agent_thought_chunk {content: {type: text, text}}` in pieces,
`tool_call {toolCallId, title, kind, status, rawInput, locations}`, `tool_call_update {toolCallId,
status, content?, rawOutput?}` (a call is done when its status is `completed` or `failed`), `plan`,
`usage_update {used, size, cost?: {amount, currency}}` (the session's cost so far); `permission`
and `fs`, what the bridge answered the agent; `notice`; last `result {stopReason, sessionId,
usage?}` or `error {message, code?}`.

A run succeeded when its turn ended with stopReason `end_turn`. The result's usage (an unstable
part of ACP, which few agents send) counts input with its cached part, as its `inputTokens` is
the total, and output with the thoughts.
"""

from __future__ import annotations

import asyncio
from typing import Any

from shipyard.agents._classify import failure
from shipyard.agents._util import content_text, emit_raw, last_lines, preview
from shipyard.domain.events import EventSink
from shipyard.domain.models import AgentResult, ExecResult, Usage

_DONE = ("completed", "failed")
# ACP's stop reasons other than `end_turn`, and the failure each is.
_STOPS = {
    "max_tokens": ("the agent ran out of output tokens (stopReason max_tokens)", "error"),
    "max_turn_requests": ("the agent reached its limit of model requests (stopReason max_turn_requests)",
                          "max_turns"),
    "refusal": ("the agent refused to go on (stopReason refusal)", "error"),
    "cancelled": ("the turn was cancelled (stopReason cancelled)", "error"),
}  # fmt: skip
_AUTH_REQUIRED = -32000


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(usage: dict[str, Any], name: str) -> int:
    value = usage.get(name)
    return value if isinstance(value, int) else 0


def usage_of(usage: dict[str, Any], turns: int, cost_usd: float | None) -> Usage:
    """A turn's usage from the prompt's response, and the session's cost from its last update."""
    thoughts = _count(usage, "thoughtTokens")
    return Usage(
        turns=turns,
        input_tokens=_count(usage, "inputTokens"),
        cached_input_tokens=_count(usage, "cachedReadTokens"),
        cache_write_tokens=_count(usage, "cachedWriteTokens"),
        output_tokens=_count(usage, "outputTokens"),
        reasoning_tokens=thoughts,
        cost_usd=cost_usd,
    )


def _tool_content(update: dict[str, Any]) -> Any:
    """What a finished call gave back: its raw output, else the text of its content blocks."""
    if update.get("rawOutput") is not None:
        return update["rawOutput"]
    blocks = [_dict(item).get("content") for item in update.get("content") or []]
    return content_text([b for b in blocks if isinstance(b, dict)])


class AcpStream:
    """Turns the bridge's lines into events as they arrive and keeps what decides the outcome."""

    def __init__(self, events: EventSink) -> None:
        self._events = events
        self.session_id: str | None = None
        self.answer = ""
        self._text: list[str] = []  # the agent's message, in chunks until something else comes
        self._thought: list[str] = []
        self._calls: set[str] = set()  # announced as agent.tool_call
        self._finished_calls: set[str] = set()
        self._turns = 0
        self._answering = False
        self._cost_usd: float | None = None
        self.usage = Usage()
        self.stop_reason: str | None = None
        self.error: tuple[str, int | None] | None = None
        self.finished = asyncio.Event()  # set by the result or error line

    async def handle(self, obj: dict[str, Any]) -> None:
        """Dispatch one line of the bridge."""
        kind = obj.get("type")
        if kind == "update":
            await self._update(_dict(obj.get("update")))
            return
        await self._flush()
        if kind == "session":
            await self._session(obj.get("sessionId"))
        elif kind == "result":
            await self._result(obj)
        elif kind == "error":
            code = obj.get("code")
            self.error = (
                str(obj.get("message") or "the ACP agent failed"),
                code if isinstance(code, int) else None,
            )
            await emit_raw(self._events, obj, "warning")
            self.finished.set()
        else:  # permission, fs, notice: what the bridge answered; a refusal is worth a look
            if kind == "permission":
                await self._announce(_dict(obj.get("toolCall")))
            refused = obj.get("error") or obj.get("outside") or kind == "notice"
            await emit_raw(self._events, obj, "warning" if refused else "debug")

    async def _session(self, session_id: Any) -> None:
        if self.session_id is None and isinstance(session_id, str) and session_id:
            self.session_id = session_id
            await self._events.emit("agent.session", {"session_id": session_id})

    async def _update(self, update: dict[str, Any]) -> None:
        kind = update.get("sessionUpdate")
        text = _dict(update.get("content")).get("text")
        if kind == "agent_message_chunk":
            self._answered()
            self._text.append(text if isinstance(text, str) else "")
            return
        if kind == "agent_thought_chunk":
            self._thought.append(text if isinstance(text, str) else "")
            return
        await self._flush()
        if kind == "tool_call":
            await self._tool_call(update)
        elif kind == "tool_call_update":
            await self._tool_done(update)
        elif kind == "usage_update":
            await self._cost(_dict(update.get("cost")))
        elif kind != "user_message_chunk":  # the prompt, echoed (or replayed)
            await emit_raw(self._events, update)

    def _answered(self) -> None:
        if not self._answering:
            self._answering, self._turns = True, self._turns + 1

    async def _flush(self) -> None:
        """Emit the thought and the message the chunks so far make up, if any."""
        thought, self._thought = "".join(self._thought), []
        if thought:
            await self._events.emit("agent.message", {"text": thought, "role": "thinking"}, "debug")
        text, self._text = "".join(self._text), []
        if text:
            self.answer = text
            await self._events.emit("agent.message", {"text": text, "role": "assistant"})

    async def _tool_call(self, update: dict[str, Any]) -> None:
        await self._announce(update)
        await self._tool_done(update)

    async def _announce(self, update: dict[str, Any]) -> None:
        """Emit a tool call the first time it is named: by its start, or (Gemini CLI) by the
        permission asked for it or its first update."""
        call_id = str(update.get("toolCallId") or "")
        if call_id in self._calls:
            return
        self._calls.add(call_id)
        self._answered()
        name = str(update.get("title") or update.get("kind") or "tool")
        call = {"name": name, "input": preview(update.get("rawInput")), "id": call_id}
        await self._events.emit("agent.tool_call", {**call, "kind": update.get("kind")})

    async def _tool_done(self, update: dict[str, Any]) -> None:
        call_id = str(update.get("toolCallId") or "")
        if update.get("status") not in _DONE or call_id in self._finished_calls:
            return
        await self._announce(update)
        self._finished_calls.add(call_id)
        self._answering = False
        failed = update.get("status") == "failed"
        result = {"is_error": failed, "content": preview(_tool_content(update)), "id": call_id}
        await self._events.emit("agent.tool_result", {**result, "exit_code": None})

    async def _cost(self, cost: dict[str, Any]) -> None:
        amount = cost.get("amount")
        if cost.get("currency") == "USD" and isinstance(amount, int | float):
            self._cost_usd = float(amount)
            self.usage = self.usage.model_copy(update={"cost_usd": self._cost_usd})
            await self._events.emit("agent.usage", {**self.usage.model_dump(mode="json"), "final": False})

    async def _result(self, obj: dict[str, Any]) -> None:
        await self._session(obj.get("sessionId"))
        self.stop_reason = str(obj.get("stopReason") or "")
        self.usage = usage_of(_dict(obj.get("usage")), self._turns, self._cost_usd)
        if self.stop_reason != "end_turn":
            await emit_raw(self._events, obj, "warning")
        self.finished.set()

    def outcome(self, done: ExecResult, timeout_s: float | None) -> AgentResult:
        """Judge the run from the bridge's last line; its exit code and stderr when there is none."""
        common: dict[str, Any] = {"session_id": self.session_id, "usage": self.usage, "output": self.answer}
        detail = last_lines(done.stderr)
        if done.timed_out:
            return failure(f"the ACP agent timed out after {timeout_s or 0:g} s", kind="timeout",
                           retryable=False, **common)  # fmt: skip
        if self.stop_reason == "end_turn":
            return AgentResult(ok=True, **common)
        if self.stop_reason is not None:
            message, kind = _STOPS.get(self.stop_reason, (f"the turn ended with {self.stop_reason}", "error"))
            return failure(message, kind=kind, **common)
        if self.error is not None:
            message, code = self.error
            auth = "auth" if code == _AUTH_REQUIRED else None
            return failure(message + (f": {detail}" if detail else ""), kind=auth, **common)
        message = f"the ACP bridge exited with code {done.exit_code} without a result"
        return failure(message + (f": {detail}" if detail else ""), **common)
