"""structlog set-up, secret redaction, and the per-work-order JSONL mirror of events."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, MutableMapping
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog

REDACTED = "***"


class Redactor:
    """Replaces known secret values with `***` anywhere in strings, dicts and lists."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def including(self, *secrets: str | None) -> Redactor:
        """A redactor that also hides `secrets`."""
        return Redactor([*self._secrets, *secrets])

    def text(self, value: str) -> str:
        for secret in self._secrets:
            value = value.replace(secret, REDACTED)
        return value

    def data(self, value: Any) -> Any:
        if not self._secrets:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value


def configure_logging(
    level: str = "info", *, json_output: bool = False, redactor: Redactor | None = None
) -> None:
    """Console (or JSON) logs to stderr, with secrets redacted from every line."""
    redact = redactor or Redactor()

    def _redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
        return dict(redact.data(event_dict))

    # Tracebacks are plain text: Rich's default renders every frame's locals, which took seconds
    # and hundreds of KB per error, on the event loop.
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_output
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )


def work_order_log_path(logs_dir: Path, work_order_id: str, created_at: datetime) -> Path:
    """`logs/<yyyy-mm-dd>/<id>.jsonl` in the data dir, dated by the work order's creation."""
    return logs_dir / created_at.strftime("%Y-%m-%d") / f"{work_order_id}.jsonl"


def append_jsonl(path: Path, *records: dict[str, Any]) -> None:
    """Append JSON lines, one per record (creating the folder), in one write: atomic with O_APPEND
    while small."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write("".join(json.dumps(r, default=str, ensure_ascii=False) + "\n" for r in records))
