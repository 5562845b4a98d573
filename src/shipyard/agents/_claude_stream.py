"""Parses Claude Code's `--output-format stream-json` lines into events and an outcome.

Token counts: Anthropic reports cache reads and writes apart from `input_tokens`; we count all
three as input. `agent.usage` events carry running totals (`final: true` on the last one), their
cost priced per message from genai-prices' table as the messages stream (`cost_estimated`), so a
budget stops the run when it crosses its limit and not after; the final totals are the result
line's: its `modelUsage` summed over all models, else its `usage`, and its `total_cost_usd`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from shipyard.agents._classify import classify, failure
from shipyard.agents._prices import estimate_usd
from shipyard.agents._util import content_text, emit_raw, last_lines, preview
from shipyard.domain.events import EventSink
from shipyard.domain.models import AgentResult, ExecResult, Usage

_INPUT_FIELDS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
_FIELDS = (*_INPUT_FIELDS, "output_tokens")
# The same four counts as a result's `modelUsage` names them, per model.
_MODEL_FIELDS = {
    "input_tokens": "inputTokens",
    "cache_creation_input_tokens": "cacheCreationInputTokens",
    "cache_read_input_tokens": "cacheReadInputTokens",
    "output_tokens": "outputTokens",
}


def _counts(usage: dict[str, int]) -> dict[str, int]:
    """Anthropic's four token counts as a Usage's: its input counts cache reads and writes too."""
    return {
        "input_tokens": sum(usage[f] for f in _INPUT_FIELDS),
        "cached_input_tokens": usage["cache_read_input_tokens"],
        "cache_write_tokens": usage["cache_creation_input_tokens"],
        "output_tokens": usage["output_tokens"],
    }


def _tokens(usage: Any) -> dict[str, int]:
    """The counts of an Anthropic `usage` object."""
    given = usage if isinstance(usage, dict) else {}
    return _counts({f: int(given.get(f) or 0) for f in _FIELDS})


def _model_tokens(model_usage: Any) -> dict[str, int] | None:
    """The counts summed over the models of a result's `modelUsage`, None without it.

    The result's `usage` leaves out other models (Haiku) and can leave out what came before a
    compaction; `modelUsage` counts every call of every model.
    """
    entries = model_usage.values() if isinstance(model_usage, dict) else []
    models = [m for m in entries if isinstance(m, dict) and "outputTokens" in m]
    if not models:
        return None
    return _counts({f: sum(int(m.get(name) or 0) for m in models) for f, name in _MODEL_FIELDS.items()})


def _cost(reported: float | None, summed: Usage) -> dict[str, Any]:
    """The agent's own cost where it gave one, else the estimate."""
    if reported is not None:
        return {"cost_usd": reported, "cost_estimated": False}
    return {"cost_usd": summed.cost_usd, "cost_estimated": summed.cost_usd is not None}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class ClaudeStream:
    """Turns stream-json objects into events as they arrive; remembers what decides the outcome."""

    def __init__(self, events: EventSink) -> None:
        self._events = events
        self.session_id: str | None = None
        self.result: dict[str, Any] | None = None
        self.finished = asyncio.Event()  # set by the result line
        self._per_message: dict[str, dict[str, int]] = {}  # message id → its usage's token counts
        self._models: dict[str, str | None] = {}  # message id → its model
        self._model: str | None = None  # the session's, from the init line
        self._last_text = ""
        self._api_error = ""  # the `error` field of a synthetic assistant message

    @property
    def summed(self) -> Usage:
        """Usage summed once per assistant message id, its cost estimated from a price table."""
        counts = self._per_message.values()
        priced = [
            estimate_usd(
                self._models[message_id] or self._model,
                "anthropic",
                input_tokens=tokens["input_tokens"],
                output_tokens=tokens["output_tokens"],
                cache_read_tokens=tokens["cache_read_input_tokens"],
                cache_write_tokens=tokens["cache_creation_input_tokens"],
            )
            for message_id, tokens in self._per_message.items()
        ]
        totals = _counts({f: sum(t[f] for t in counts) for f in _FIELDS})
        return Usage(
            turns=len(self._per_message),
            **totals,
            cost_usd=sum(p for p in priced if p is not None) if any(p is not None for p in priced) else None,
            cost_estimated=True,
        )

    async def handle(self, obj: dict[str, Any]) -> None:
        """Dispatch one JSON line; unknown types pass through as `agent.raw`."""
        kind = obj.get("type")
        if kind == "system" and obj.get("subtype") == "init":
            self._model = obj["model"] if isinstance(obj.get("model"), str) else None
            await self._session(obj.get("session_id"))
        elif kind == "assistant":
            await self._assistant(obj)
        elif kind == "user":
            await self._user(obj)
        elif kind == "result":
            self.result = obj
            self.finished.set()
            await self._session(obj.get("session_id"))
        else:
            await emit_raw(self._events, obj)

    async def _session(self, session_id: Any) -> None:
        if isinstance(session_id, str) and session_id and session_id != self.session_id:
            self.session_id = session_id
            await self._events.emit("agent.session", {"session_id": session_id})

    async def _assistant(self, obj: dict[str, Any]) -> None:
        message = obj.get("message") or {}
        if isinstance(obj.get("error"), str):
            self._api_error = obj["error"]
        extra = {"parent_tool_use_id": p} if (p := obj.get("parent_tool_use_id")) else {}
        for block in message.get("content") or []:
            if isinstance(block, dict):
                await self._assistant_block(block, extra)
        await self._count(message)

    async def _assistant_block(self, block: dict[str, Any], extra: dict[str, Any]) -> None:
        kind = block.get("type")
        if kind == "text" and block.get("text"):
            self._last_text = block["text"]
            await self._events.emit("agent.message", {"text": block["text"], "role": "assistant", **extra})
        elif kind == "thinking" and block.get("thinking"):
            data = {"text": block["thinking"], "role": "thinking", **extra}
            await self._events.emit("agent.message", data, "debug")
        elif kind == "tool_use":
            data = {"name": block.get("name", ""), "input": preview(block.get("input")), **extra}
            await self._events.emit("agent.tool_call", {**data, "id": block.get("id")})

    async def _count(self, message: dict[str, Any]) -> None:
        message_id = message.get("id")
        if not isinstance(message_id, str) or "usage" not in message:
            return
        seen = message_id in self._per_message
        usage = message["usage"] if isinstance(message["usage"], dict) else {}
        old = self._per_message.get(message_id, dict.fromkeys(_FIELDS, 0))
        # Blocks of one message repeat its usage: keep one figure per id, never add them up.
        self._per_message[message_id] = {f: max(old[f], int(usage.get(f) or 0)) for f in _FIELDS}
        self._models[message_id] = message["model"] if isinstance(message.get("model"), str) else None
        if not seen:
            await self._events.emit("agent.usage", {**self.summed.model_dump(mode="json"), "final": False})

    async def _user(self, obj: dict[str, Any]) -> None:
        content = (obj.get("message") or {}).get("content")
        for block in content if isinstance(content, list) else []:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                data = {
                    "tool_use_id": block.get("tool_use_id"),
                    "is_error": bool(block.get("is_error")),
                    "content": preview(content_text(block.get("content"))),
                }
                await self._events.emit("agent.tool_result", data)

    def usage(self) -> Usage:
        """Totals: the result line's figures where it has them (`modelUsage` first, then `usage`),
        else what the stream summed."""
        summed, result = self.summed, self.result or {}
        counts = summed.model_dump(
            include={"input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens"}
        )
        if isinstance(result.get("usage"), dict):
            counts = _tokens(result["usage"])
        counts = _model_tokens(result.get("modelUsage")) or counts
        turns = result.get("num_turns")
        return Usage(
            turns=turns if isinstance(turns, int) else summed.turns,
            **counts,
            **_cost(_number(result.get("total_cost_usd")), summed),
        )

    def outcome(self, done: ExecResult, timeout_s: float | None) -> AgentResult:
        """Judge the run from the result line (exit code and stderr only when there is none)."""
        usage, result = self.usage(), self.result
        common: dict[str, Any] = {"session_id": self.session_id, "usage": usage}
        if done.timed_out:
            message = f"claude timed out after {timeout_s or 0:g} s"
            return failure(message, kind="timeout", retryable=False, output=self._last_text, **common)
        if result is None:
            stderr = last_lines(done.stderr)  # stdout is the JSON lines, already passed on as events
            message = f"claude exited with code {done.exit_code} without a result" + (
                f": {stderr}" if stderr else ""
            )
            return failure(message, output=self._last_text, **common)
        text = result.get("result") if isinstance(result.get("result"), str) else ""
        subtype = str(result.get("subtype") or "")
        if subtype == "success" and not result.get("is_error"):
            return AgentResult(ok=True, output=text or self._last_text, **common)
        return self._failed(result, subtype, text or "", common)

    def _failed(self, result: dict[str, Any], subtype: str, text: str, common: dict[str, Any]) -> AgentResult:
        if subtype == "error_max_turns":
            message = text or f"claude stopped after reaching its turn limit ({result.get('num_turns')})"
            return failure(message, kind="max_turns", retryable=False, output=self._last_text, **common)
        errors = result.get("errors")
        details = "; ".join(str(e) for e in errors) if isinstance(errors, list) else ""
        message = text or details or f"claude failed ({subtype or 'is_error'})"
        status = result.get("api_error_status")
        kind, retryable = classify(
            f"{message} {self._api_error}", status if isinstance(status, int) else None
        )
        return failure(message, kind=kind, retryable=retryable, output=self._last_text, **common)
