"""StoreSink: the EventSink activities use. Appends to the store and mirrors to the JSONL log."""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from shipyard.config import Settings
from shipyard.domain.work_orders import WorkOrder, WorkOrderChange
from shipyard.logging import Redactor, append_jsonl, work_order_log_path
from shipyard.store.records import EventRecord, NewEvent
from shipyard.store.store import Store

log = structlog.get_logger()
_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


class StoreSink:
    """Records events of one work order (and step), with secrets redacted.

    A `batched` sink (a running step's: its output lines and agent events come in bursts) does not
    wait for each event's transaction: an event is written at once when no write is under way, else
    with everything that came in meanwhile, in the next transaction (at most BATCH_MAX; past that,
    emit waits). A `workflow.*` event, which readers wait for, returns only once it and everything
    before it is written, as `flush()` does. Other sinks write each event before emit returns."""

    BATCH_MAX = 500

    def __init__(
        self,
        store: Store,
        work_order_id: str,
        jsonl_path: Path,
        redactor: Redactor,
        step_id: str | None = None,
        max_log_lines: int = 10_000,
        batched: bool = False,
    ) -> None:
        self._store = store
        self._batched = batched
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
        self._waiting: list[NewEvent] = []  # redacted, in order, not yet written
        self._one_writer = asyncio.Lock()  # batches commit, and reach the JSONL log, in order
        self._drain: asyncio.Task[None] | None = None  # writing what waits, batch after batch

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
        self._wait(type, data, level)
        if not self._batched or type.startswith("workflow.") or len(self._waiting) >= self.BATCH_MAX:
            await self._write()
        elif self._drain is None:
            self._drain = asyncio.create_task(self._write_all())

    async def flush(self) -> None:
        """Write what waits, and the held-back tail of a long output after a `log.truncated` event
        saying what was cut."""
        if self._cut:
            message = f"{self._cut} lines of output were cut; the first and last lines are kept"
            self._wait("log.truncated", {"lines_cut": self._cut, "message": message}, "warning")
            self._cut = 0
        while self._tail:
            self._wait("log", *self._tail.popleft())
        await self._write()

    async def emit_with(
        self, change: WorkOrderChange, type: str, data: dict[str, Any], level: str = "info"
    ) -> None:
        """Emit an event that says the work order changed (its end, a pause), writing `change` in
        the same transaction, after every event before it: whoever reads the new status finds
        the event too."""
        await self.flush()
        async with self._one_writer:
            record = await self._store.update_work_order_saying(
                self._work_order_id, change, self._event(type, data, level), self._step_id
            )
            append_jsonl(self._jsonl_path, self._line(record))
            self._to_console([record])

    def _wait(self, type: str, data: dict[str, Any] | None, level: str) -> None:
        self._waiting.append(self._event(type, data, level))

    def _event(self, type: str, data: dict[str, Any] | None, level: str) -> NewEvent:
        return NewEvent(type, self._redactor.data(dict(data or {})), level, datetime.now(UTC))

    async def _write_all(self) -> None:
        """Batch after batch until nothing waits. A failure is logged here and raised by the next
        flush or `workflow.*` event (the events wait, in order, for that attempt)."""
        try:
            while self._waiting:  # what came in while a write was under way
                await self._write()
        except Exception as err:
            log.warning("events_not_written_yet", work_order_id=self._work_order_id, error=str(err))
        finally:
            self._drain = None

    async def _write(self) -> None:
        """Write everything that waits, BATCH_MAX events a transaction."""
        async with self._one_writer:
            while self._waiting:
                batch, self._waiting = self._waiting[: self.BATCH_MAX], self._waiting[self.BATCH_MAX :]
                try:
                    records = await self._store.append_events(self._work_order_id, self._step_id, batch)
                except BaseException:
                    self._waiting[:0] = batch  # kept, in order, for the next attempt
                    raise
                append_jsonl(self._jsonl_path, *(self._line(record) for record in records))
                self._to_console(records)

    def _to_console(self, records: list[EventRecord]) -> None:
        # Seed 003's noun_verb_past style: workflow.step.started → workflow_step_started. Not lines.
        for record in records:
            if record.type != "log":
                level = _LEVELS.get(record.level, 20)
                log.log(
                    level,
                    record.type.replace(".", "_"),
                    work_order_id=self._work_order_id,
                    step_id=self._step_id,
                )

    def _line(self, event: EventRecord) -> dict[str, Any]:
        return {
            "id": event.id,
            "timestamp": event.ts.isoformat(),
            "level": event.level,
            "event": event.type,
            "agent_work_order_id": self._work_order_id,
            "step_id": self._step_id,
            **event.data,
        }


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
    *,
    batched: bool = False,
) -> StoreSink:
    """The sink for the work order's events (of one step, when given), wherever they are written."""
    path = work_order_log_path(settings.logs_dir, wo.id, wo.created_at)
    redactor = redactor or redactor_for(settings)
    return StoreSink(store, wo.id, path, redactor, step_id, settings.max_log_lines_per_step, batched)
