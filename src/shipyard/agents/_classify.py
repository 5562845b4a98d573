"""Failure classification shared by the adapters: error text and HTTP status → kind, retryable.

Kinds: `rate_limit`, `overloaded` (retryable); `auth`, `bad_request`, `max_turns`, `timeout`,
`unavailable`, `error` (not retryable unless the caller says so, e.g. a refused connection).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from shipyard.domain.models import AgentResult, Usage

RETRYABLE_KINDS = frozenset({"rate_limit", "overloaded"})

# "API Error: 529", "unexpected status 401 Unauthorized", "last status: 429", "HTTP 503"
_STATUS_RE = re.compile(r"\b(?:status|error|http)\b[\s:=]*(\d{3})\b", re.IGNORECASE)
_USAGE_LIMIT_RE = re.compile(r"usage limit reached\|(\d{9,11})", re.IGNORECASE)

_PATTERNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("rate_limit", ("usage limit reached", "rate limit", "rate_limit", "too many requests")),
    ("overloaded", ("overloaded", "service unavailable", "server_error", "server is busy")),
    (
        "auth",
        (
            "not logged in",
            "/login",
            "invalid api key",
            "invalid x-api-key",
            "incorrect api key",
            "authentication_failed",
            "authentication_error",
            "unauthorized",
            "permission_error",
        ),
    ),
    ("bad_request", ("invalid_request", "bad request")),
)


def kind_for_status(status: int) -> str | None:
    """The failure kind an HTTP status implies, or None when it says nothing."""
    if status == 429:
        return "rate_limit"
    if status in (401, 403):
        return "auth"
    if status == 400:
        return "bad_request"
    if status >= 500:
        return "overloaded"
    return None


def classify(text: str, status: int | None = None) -> tuple[str, bool]:
    """Classify a failure from its message (and HTTP status when known) as (kind, retryable)."""
    kind = kind_for_status(status) if status is not None else None
    if kind is None:
        found = _STATUS_RE.search(text)
        kind = kind_for_status(int(found.group(1))) if found else None
    if kind is None:
        lowered = text.lower()
        kind = next((k for k, words in _PATTERNS if any(w in lowered for w in words)), "error")
    return kind, kind in RETRYABLE_KINDS


def readable(text: str) -> str:
    """Turn Claude's "…usage limit reached|<epoch>" into a message with a readable reset time."""

    def _when(found: re.Match[str]) -> str:
        reset = datetime.fromtimestamp(int(found.group(1)), UTC)
        return f"usage limit reached (resets at {reset:%Y-%m-%d %H:%M} UTC)"

    return _USAGE_LIMIT_RE.sub(_when, text)


def failure(
    error: str,
    *,
    kind: str | None = None,
    retryable: bool | None = None,
    status: int | None = None,
    output: str = "",
    session_id: str | None = None,
    usage: Usage | None = None,
) -> AgentResult:
    """A failed AgentResult; `kind` and `retryable` are inferred from the message when not given."""
    guessed_kind, guessed_retry = classify(error, status)
    final_kind = kind or guessed_kind
    if retryable is None:
        retryable = guessed_retry if kind is None else final_kind in RETRYABLE_KINDS
    return AgentResult(
        ok=False,
        output=output,
        session_id=session_id,
        usage=usage or Usage(),
        error=readable(error.strip()) or "agent failed",
        error_kind=final_kind,
        retryable=retryable,
    )
