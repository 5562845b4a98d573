"""The event sink protocol: how activities, agents and sandboxes report what happens."""

from __future__ import annotations

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
