"""`shipyard logs -f`: follow a work order's events over SSE, reconnecting where it left off."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from rich.console import Console

from shipyard.cli.client import ApiClient
from shipyard.cli.render import format_log_entry

TERMINAL_EVENTS = frozenset({"workflow.completed", "workflow.failed", "workflow.cancelled"})
RECONNECT_S = 1.0


async def sse_events(resp: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """The JSON `data` of each SSE frame (comments and heartbeats skipped)."""
    data: list[str] = []
    async for line in resp.aiter_lines():
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif line == "" and data:
            yield json.loads("\n".join(data))
            data = []


def as_entry(event: dict[str, Any]) -> dict[str, Any]:
    """An SSE event in the shape of a `/logs` entry."""
    return {
        "id": event["id"],
        "timestamp": event["ts"],
        "level": event["level"],
        "event": event["type"],
        "step_id": event.get("step_id"),
        **event.get("data", {}),
    }


async def follow(api: ApiClient, work_order_id: str, console: Console) -> None:
    """Print events until the work order ends; a dropped connection resumes after the last id."""
    after = 0
    path = f"/api/agent-work-orders/{work_order_id}/events"
    while True:
        try:
            async with api.stream("GET", path, after) as resp:
                async for event in sse_events(resp):
                    after = event["id"]
                    console.print(format_log_entry(as_entry(event)), highlight=False, markup=False)
                    if event["type"] in TERMINAL_EVENTS:
                        return
                return  # the server ends the stream only once the work order has ended
        except httpx.TransportError as err:
            console.print(f"[dim]connection lost ({type(err).__name__}); resuming after event {after}[/]")
            await asyncio.sleep(RECONNECT_S)
