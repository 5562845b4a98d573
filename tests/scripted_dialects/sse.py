"""Server-sent events as the providers' streams send them."""

from __future__ import annotations

import json
from typing import Any


def halves(text: str) -> list[str]:
    """`text` in two deltas (one when it is a single character, none when empty)."""
    middle = len(text) // 2
    return [part for part in (text[:middle], text[middle:]) if part]


def event(name: str, data: dict[str, Any]) -> bytes:
    """A named event (Anthropic Messages, OpenAI Responses)."""
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def data(value: dict[str, Any] | str) -> bytes:
    """An unnamed event (OpenAI Chat Completions); a string as is (`[DONE]`)."""
    text = value if isinstance(value, str) else json.dumps(value)
    return f"data: {text}\n\n".encode()
