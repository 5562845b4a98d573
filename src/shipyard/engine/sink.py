"""StoreSink: the EventSink activities use. Appends to the store and mirrors to the JSONL log."""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import structlog

from shipyard.config import Settings
from shipyard.domain.work_orders import WorkOrder
from shipyard.logging import Redactor, append_jsonl, work_order_log_path
from shipyard.store.store import Store

log = structlog.get_logger()
_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


class StoreSink:
    """Records events of one work order (and step), with secrets redacted."""

    def __init__(
        self,
        store: Store,
        work_order_id: str,
        jsonl_path: Path,
        redactor: Redactor,
        step_id: str | None = None,
        max_log_lines: int = 10_000,
    ) -> None:
        self._store = store
        self._work_order_id = work_order_id
        self._jsonl_path = jsonl_path
        self._redactor = redactor
        self._step_id = step_id
        # Output lines past the head are held back; only the last ones are written, at flush().
        self._head_left = max_log_lines // 2
        self._tail: deque[tuple[dict[str, Any] | None, str]] = deque(
            maxlen=max_log_lines - max_log_lines // 2
        )
        self._cut = 0

    def hide(self, *secrets: str) -> None:
        """Redact `secrets` too, from here on."""
        self._redactor = self._redactor.including(*secrets)

    def redact(self, text: str) -> str:
        """`text` with every secret this sink hides replaced."""
        return self._redactor.text(text)

    async def emit(self, type: str, data: dict[str, Any] | None = None, level: str = "info") -> None:
        if type == "log":
            if self._head_left <= 0:
                self._cut += len(self._tail) == self._tail.maxlen
                self._tail.append((data, level))
                return
            self._head_left -= 1
        await self._write(type, data, level)

    async def flush(self) -> None:
        """Write the held-back tail of a long output, after a `log.truncated` event saying what was cut."""
        if self._cut:
            message = f"{self._cut} lines of output were cut; the first and last lines are kept"
            await self._write("log.truncated", {"lines_cut": self._cut, "message": message}, "warning")
            self._cut = 0
        while self._tail:
            data, level = self._tail.popleft()
            await self._write("log", data, level)

    async def _write(self, type: str, data: dict[str, Any] | None, level: str) -> None:
        clean = self._redactor.data(dict(data or {}))
        event = await self._store.append_event(
            self._work_order_id, type, clean, level=level, step_id=self._step_id
        )
        record = {
            "id": event.id,
            "timestamp": event.ts.isoformat(),
            "level": level,
            "event": type,
            "agent_work_order_id": self._work_order_id,
            "step_id": self._step_id,
            **clean,
        }
        append_jsonl(self._jsonl_path, record)
        if type != "log":
            # Console names in seed 003's noun_verb_past style: workflow.step.started → workflow_step_started.
            log.log(
                _LEVELS.get(level, 20),
                type.replace(".", "_"),
                work_order_id=self._work_order_id,
                step_id=self._step_id,
            )


def redactor_for(settings: Settings) -> Redactor:
    """Hides every secret the settings hold."""
    secrets = [
        settings.api_token,
        settings.anthropic_api_key,
        settings.openai_api_key,
        settings.github_webhook_secret,
        settings.github_token,
        settings.e2b_api_key,
        settings.secrets_key,
        settings.secret_key,
    ]
    try:
        app_key = settings.read_github_app_private_key() or ""
    except (OSError, ValueError):  # github_token reports the unreadable key file
        app_key = ""
    # The key whole, and each long line of it, in case a message carries only part of it.
    key_lines = [line.strip() for line in app_key.replace("\\n", "\n").splitlines()]
    key_parts = [app_key, *(line for line in key_lines if len(line) >= 16 and "-----" not in line)]
    return Redactor([*(s.get_secret_value() for s in secrets if s is not None), *key_parts])


def sink_for(
    settings: Settings,
    store: Store,
    wo: WorkOrder,
    step_id: str | None = None,
    redactor: Redactor | None = None,
) -> StoreSink:
    """The sink for the work order's events (of one step, when given), wherever they are written."""
    path = work_order_log_path(settings.logs_dir, wo.id, wo.created_at)
    return StoreSink(
        store, wo.id, path, redactor or redactor_for(settings), step_id, settings.max_log_lines_per_step
    )
