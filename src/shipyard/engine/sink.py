"""StoreSink: the EventSink activities use. Appends to the store and mirrors to the JSONL log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import structlog

from shipyard.logging import Redactor, append_jsonl
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
    ) -> None:
        self._store = store
        self._work_order_id = work_order_id
        self._jsonl_path = jsonl_path
        self._redactor = redactor
        self._step_id = step_id

    def for_step(self, step_id: str | None) -> StoreSink:
        return StoreSink(self._store, self._work_order_id, self._jsonl_path, self._redactor, step_id)

    async def emit(self, type: str, data: dict[str, Any] | None = None, level: str = "info") -> None:
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
