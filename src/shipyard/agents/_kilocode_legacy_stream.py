"""Parses the Kilo Code 0.x CLI's `kilocode --auto --json` lines into events and an outcome.

The 0.x CLI (an Ink app hosting the VS Code extension's task loop) prints its UI messages, one JSON
object a line: `{timestamp, source: "extension" | "cli", type: "say" | "ask", say | ask, content |
metadata, partial?}`; a message's text is in `metadata` when it is JSON, else in `content`. A
message is printed again whenever it changes (its text grows, it stops being partial), so the
`timestamp` is its identity: a message counts once it is no longer partial, or once a newer one
came (older CLIs never print a superseded partial message again).

- `say: text` is the assistant's text; the first one repeats the task (the user's message).
- `say: api_req_started` holds one model request's `{tokensIn, tokensOut, cacheReads, cacheWrites,
  cost, apiProtocol}`, first printed as a placeholder without them. With `apiProtocol: anthropic`
  `tokensIn` leaves out the cached parts; with `openai` it already counts them.
- `ask: tool` (`metadata.tool`: readFile, appliedDiff, newFileCreated, …) and `ask: command`
  (`content` the command line) are tool calls, approved by `--yolo`; `say: command_output` is a
  command's output.
- `say: completion_result` holds the answer and `ask: completion_result` ends the task.
- `ask: api_req_failed` and `say: error` carry errors; `ask: mistake_limit_reached` gives up.

No session id. Exit 0 when done, 124 on the CLI's own timeout (`-t`), 1 otherwise; a run is judged
from its messages all the same: finished when the task completed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from shipyard.agents._classify import failure
from shipyard.agents._util import as_text, emit_raw, last_lines, preview
from shipyard.domain.events import EventSink
from shipyard.domain.models import AgentResult, ExecResult, Usage

CLI_TIMEOUT_EXIT = 124


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


def _request_usage(metadata: dict[str, Any]) -> Usage | None:
    """One model request's usage, or None while it is a placeholder without token counts."""
    if "tokensIn" not in metadata and "tokensOut" not in metadata:
        return None
    read, written = _int(metadata.get("cacheReads")), _int(metadata.get("cacheWrites"))
    counted = _int(metadata.get("tokensIn"))
    cost = metadata.get("cost")
    return Usage(
        turns=1,
        input_tokens=counted + read + written if metadata.get("apiProtocol") == "anthropic" else counted,
        cached_input_tokens=read,
        cache_write_tokens=written,
        output_tokens=_int(metadata.get("tokensOut")),
        cost_usd=float(cost) if isinstance(cost, int | float) else None,
    )


def _text(obj: dict[str, Any]) -> str:
    """A message's text: `content`, or its JSON `metadata` as text."""
    if isinstance(obj.get("content"), str):
        return str(obj["content"])
    return "" if obj.get("metadata") is None else as_text(obj["metadata"])


class KilocodeLegacyStream:
    """Turns Kilo Code 0.x JSON lines into events as they arrive and keeps what decides the outcome."""

    def __init__(self, events: EventSink, prompt: str = "") -> None:
        self._events = events
        self._prompt = prompt.strip()
        self._printed: dict[tuple[Any, Any], dict[str, Any]] = {}  # the last complete print of each
        self._partial: dict[tuple[Any, Any], dict[str, Any]] = {}  # the last print of each partial one
        self._requests: dict[Any, Usage] = {}  # api_req_started timestamp → its usage
        self._command_id = ""
        self.session_id: str | None = None
        self.usage = Usage()
        self.answer = ""
        self.completed = False
        self.error = ""
        self.finished = asyncio.Event()  # set when the task completed or gave up

    async def handle(self, obj: dict[str, Any]) -> None:
        """Take one print of a message; a complete message is handled once per change."""
        key = (obj.get("source"), obj.get("timestamp"))
        if key not in self._printed and key not in self._partial:
            for superseded in [self._partial.pop(k) for k in list(self._partial)]:
                await self._take(superseded)
        if obj.get("partial") is True:
            self._partial[key] = obj
            return
        self._partial.pop(key, None)
        await self._take(obj)

    async def _take(self, obj: dict[str, Any]) -> None:
        key = (obj.get("source"), obj.get("timestamp"))
        if self._printed.get(key) == obj:
            return
        first = key not in self._printed
        self._printed[key] = obj
        if obj.get("source") == "cli":
            await self._cli_message(obj)
        elif obj.get("type") == "say":
            await self._say(str(obj.get("say") or ""), obj, first)
        elif obj.get("type") == "ask":
            await self._ask(str(obj.get("ask") or ""), obj, first)
        else:
            await emit_raw(self._events, obj)

    async def _cli_message(self, obj: dict[str, Any]) -> None:
        """The CLI's own notices; an `error` one (an invalid configuration, …) is the run's error."""
        if obj.get("type") == "error":
            self.error = _text(obj) or "kilocode failed"
            await emit_raw(self._events, obj, "warning")
        else:
            await emit_raw(self._events, obj)

    async def _say(self, say: str, obj: dict[str, Any], first: bool) -> None:
        text = _text(obj)
        if say == "api_req_started":
            await self._request(obj)
        elif say == "text" and first:
            role = "user" if not self.answer and text.strip() == self._prompt else "assistant"
            await self._events.emit("agent.message", {"text": text, "role": role})
        elif say == "reasoning" and first:
            await self._events.emit("agent.message", {"text": text, "role": "thinking"}, "debug")
        elif say == "completion_result":
            self.answer = text
            await self._events.emit("agent.message", {"text": text, "role": "assistant"})
        elif say == "command_output":
            result = {"is_error": False, "content": preview(text), "id": self._command_id, "exit_code": None}
            await self._events.emit("agent.tool_result", result)
        elif say == "error":
            self.error = text or "kilocode reported an error"
            await emit_raw(self._events, obj, "warning")
        else:
            await emit_raw(self._events, obj)

    async def _ask(self, ask: str, obj: dict[str, Any], first: bool) -> None:
        call_id = str(obj.get("timestamp") or "")
        if ask == "tool" and first:
            metadata = _dict(obj.get("metadata"))
            call = {"name": str(metadata.get("tool") or "tool"), "input": preview(metadata), "id": call_id}
            await self._events.emit("agent.tool_call", call)
        elif ask == "command" and first:
            self._command_id = call_id
            call = {"name": "command", "input": {"command": _text(obj)}, "id": call_id}
            await self._events.emit("agent.tool_call", call)
        elif ask == "completion_result":
            self.completed = True
            self.answer = _text(obj) or self.answer
            self.finished.set()
        elif ask in ("api_req_failed", "mistake_limit_reached"):
            self.error = _text(obj) or ask.replace("_", " ")
            await emit_raw(self._events, obj, "warning")
        else:
            await emit_raw(self._events, obj)

    async def _request(self, obj: dict[str, Any]) -> None:
        """An api_req_started print: its usage replaces that of the request's earlier prints."""
        usage = _request_usage(_dict(obj.get("metadata")))
        if usage is None:
            return
        self._requests[obj.get("timestamp")] = usage
        self.usage = sum(self._requests.values(), Usage())
        await self._events.emit("agent.usage", {**self.usage.model_dump(mode="json"), "final": False})

    def outcome(self, done: ExecResult, timeout_s: float | None) -> AgentResult:
        """Judge the run from its messages: a completed task is a success, whatever the exit code."""
        common: dict[str, Any] = {"usage": self.usage, "output": self.answer}
        if self.completed:
            return AgentResult(ok=True, **common)
        if done.timed_out or done.exit_code == CLI_TIMEOUT_EXIT:
            message = f"kilocode timed out after {timeout_s or 0:g} s"
            return failure(message, kind="timeout", retryable=False, **common)
        if self.error:
            return failure(self.error, **common)
        message = f"kilocode exited with code {done.exit_code} without completing its task"
        detail = last_lines(done.stderr)
        return failure(message + (f": {detail}" if detail else ""), **common)
