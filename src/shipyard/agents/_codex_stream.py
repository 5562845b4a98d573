"""Parses `codex exec --json` lines into events and an outcome.

Codex has no result line: the answer is the last completed `agent_message`, success is a
`turn.completed` without a `turn.failed`, and `error` lines alone are notices (it retries). It
reports no cost, and its usage only when the turn completes: that usage is priced then from
genai-prices' table for the model the run asked for (an estimate, `cost_estimated`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from shipyard.agents._classify import failure
from shipyard.agents._prices import estimate_usd
from shipyard.agents._util import emit_raw, last_lines, preview
from shipyard.domain.events import EventSink
from shipyard.domain.models import AgentResult, ExecResult, Usage

_TOOL_ITEMS = ("command_execution", "file_change", "mcp_tool_call", "web_search")
_STDERR_NOTICES = frozenset({"Reading prompt from stdin..."})


def _tool_call(item: dict[str, Any]) -> dict[str, Any]:
    """The `agent.tool_call` data for a tool-like item."""
    kind = item.get("type")
    if kind == "command_execution":
        return {"name": "command_execution", "input": preview({"command": item.get("command")})}
    if kind == "file_change":
        return {"name": "file_change", "input": preview({"changes": item.get("changes")})}
    if kind == "mcp_tool_call":
        name = f"{item.get('server', '')}.{item.get('tool', '')}"
        return {"name": name, "input": preview(item.get("arguments"))}
    return {"name": str(kind), "input": preview({"query": item.get("query")})}


def _tool_result(item: dict[str, Any]) -> dict[str, Any]:
    """The `agent.tool_result` data for a completed tool-like item."""
    status = item.get("status")
    exit_code = item.get("exit_code")
    failed = status in ("failed", "declined") or (isinstance(exit_code, int) and exit_code != 0)
    if item.get("type") == "command_execution":
        content: Any = item.get("aggregated_output") or ""
    elif item.get("type") == "mcp_tool_call":
        content = item.get("error") or item.get("result") or ""
    else:
        content = status or ""
    return {"is_error": failed, "content": preview(content), "exit_code": exit_code}


class CodexStream:
    """Turns codex JSONL objects into events as they arrive and keeps what decides the outcome."""

    def __init__(self, events: EventSink, model: str | None = None) -> None:
        self._events = events
        self._model = model  # priced from genai-prices' table: Codex reports no cost
        self.session_id: str | None = None
        self.usage = Usage()
        self.answer = ""
        self.completed = False
        self.failed: str | None = None  # the message of a `turn.failed`
        self.finished = asyncio.Event()  # set when the turn completed or failed
        self._last_error = ""
        self._announced: set[str] = set()  # tool items whose call was already emitted

    async def handle(self, obj: dict[str, Any]) -> None:
        """Dispatch one JSON line; unknown types pass through as `agent.raw`."""
        kind = obj.get("type")
        item = obj.get("item")
        if kind not in ("error", "turn.failed"):
            self._last_error = ""  # an error notice followed by progress was not fatal
        if kind == "thread.started":
            await self._thread(obj.get("thread_id"))
        elif kind in ("item.started", "item.updated", "item.completed") and isinstance(item, dict):
            await self._item(item, completed=kind == "item.completed")
        elif kind == "turn.completed":
            await self._turn_completed(obj.get("usage"))
        elif kind == "turn.failed":
            self.failed = self._message(obj.get("error")) or self._last_error or "turn failed"
            self.finished.set()
        elif kind == "error":
            self._last_error = self._message(obj) or self._last_error
            await emit_raw(self._events, obj, "warning")
        elif kind != "turn.started":
            await emit_raw(self._events, obj)

    @staticmethod
    def _message(value: Any) -> str:
        return str(value.get("message") or "") if isinstance(value, dict) else ""

    async def _thread(self, thread_id: Any) -> None:
        if isinstance(thread_id, str) and thread_id:
            self.session_id = thread_id
            await self._events.emit("agent.session", {"session_id": thread_id})

    async def _item(self, item: dict[str, Any], *, completed: bool) -> None:
        kind, item_id = item.get("type"), str(item.get("id", ""))
        if kind in _TOOL_ITEMS:
            if item_id not in self._announced:
                self._announced.add(item_id)
                await self._events.emit("agent.tool_call", {**_tool_call(item), "id": item_id})
            if completed:
                await self._events.emit("agent.tool_result", {**_tool_result(item), "id": item_id})
        elif not completed:
            return
        elif kind == "agent_message":
            self.answer = str(item.get("text") or "")
            await self._events.emit("agent.message", {"text": self.answer, "role": "assistant"})
        elif kind == "reasoning":
            await self._events.emit(
                "agent.message", {"text": item.get("text", ""), "role": "thinking"}, "debug"
            )
        else:
            await emit_raw(self._events, {"type": "item.completed", "item": item})

    async def _turn_completed(self, usage: Any) -> None:
        self.completed = True
        self.finished.set()
        figures = usage if isinstance(usage, dict) else {}

        def count(name: str) -> int:
            return int(figures.get(name) or 0)

        # OpenAI's input_tokens already include the cached ones, as output_tokens the reasoning.
        turn = Usage(
            turns=1,
            input_tokens=count("input_tokens"),
            cached_input_tokens=count("cached_input_tokens"),
            cache_write_tokens=count("cache_write_input_tokens"),
            output_tokens=count("output_tokens"),
            reasoning_tokens=count("reasoning_output_tokens"),
        )
        cost = estimate_usd(
            self._model,
            "openai",
            input_tokens=max(turn.input_tokens - turn.cached_input_tokens - turn.cache_write_tokens, 0),
            output_tokens=turn.output_tokens,
            cache_read_tokens=turn.cached_input_tokens,
            cache_write_tokens=turn.cache_write_tokens,
        )
        if cost is not None:
            turn = turn.model_copy(update={"cost_usd": cost, "cost_estimated": True})
        self.usage = self.usage + turn
        await self._events.emit("agent.usage", {**self.usage.model_dump(mode="json"), "final": False})

    def outcome(self, done: ExecResult, timeout_s: float | None) -> AgentResult:
        """Judge the run from its events: a completed turn and no failed one is a success."""
        common: dict[str, Any] = {
            "session_id": self.session_id,
            "usage": self.usage,
            "output": self.answer,
        }
        if done.timed_out:
            return failure(
                f"codex timed out after {timeout_s or 0:g} s",
                kind="timeout",
                retryable=False,
                **common,
            )
        if self.failed is not None:
            return failure(self.failed, **common)
        if self.completed:
            return AgentResult(ok=True, **common)
        message = f"codex exited with code {done.exit_code} without completing its turn"
        detail = self._last_error or last_lines(_without_notices(done.stderr))
        return failure(message + (f": {detail}" if detail else ""), **common)


def _without_notices(stderr: str) -> str:
    """`stderr` without the lines codex prints on every run."""
    return "\n".join(line for line in stderr.splitlines() if line.strip() not in _STDERR_NOTICES)
