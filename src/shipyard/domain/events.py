"""The event sink protocol: how activities, agents and sandboxes report what happens."""

from __future__ import annotations

import json
from typing import Any, Protocol


class EventSink(Protocol):
    """Appends events for one work order (and optionally one step)."""

    async def emit(self, type: str, data: dict[str, Any] | None = None, level: str = "info") -> None:
        """Record an event such as `agent.message` or `log` with its JSON-able data."""
        ...


class NullSink:
    """An EventSink that drops everything (for callers that do not record events)."""

    async def emit(self, type: str, data: dict[str, Any] | None = None, level: str = "info") -> None:
        return None


class ListSink:
    """An EventSink that keeps events in memory, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any], str]] = []

    async def emit(self, type: str, data: dict[str, Any] | None = None, level: str = "info") -> None:
        self.events.append((type, dict(data or {}), level))


def _brief(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def event_text(event_type: str, data: dict[str, Any]) -> str:
    """One readable line for an event (of `event_type`, with `data`) in a log tail."""
    if event_type == "log":
        return str(data.get("line", ""))
    if event_type == "agent.message":
        return str(data.get("text", ""))
    if event_type == "agent.tool_call":
        return f"{data.get('name', 'tool')} {_brief(data.get('input', ''))}"
    if event_type == "workflow.step.command":
        return f"$ {data.get('command', '')}"
    if event_type == "git.commit":
        return f"{str(data.get('sha', ''))[:10]} {data.get('message', '')}"
    if event_type in ("pr.opened", "pr.updated"):
        draft = " (draft)" if data.get("draft") else ""
        title = _brief(data.get("title", ""), 80)
        return f"#{data.get('number', '')}{draft} {data.get('url', '')} {title}".strip()
    shown = {k: v for k, v in data.items() if v not in (None, "", [], {})}
    return " ".join(f"{k}={_brief(v, 80)}" for k, v in shown.items())
