"""Parses what `aider --message-file` prints into events and an outcome.

Aider has no JSON output. The adapter points two of its logs at stderr: `--analytics-log`, JSON
lines `{event, properties, user_id, time}` (`message_send_starting` before each model request,
`message_send {prompt_tokens, completion_tokens, cost, total_cost}` after a successful one,
`message_send_exception {exception}`, `exit {reason}` last), and `--llm-history-file`, blocks of
`TO LLM <time>` (the request, every line prefixed by its role) and `LLM RESPONSE <time>` (the
answer, every line prefixed `ASSISTANT `). The answers become `agent.message`s; stdout, aider's
console (the answer again, its notes, `Applied edit to <file>`, `litellm.<Error>: …` when a
request fails and `Retrying in …` while it retries), becomes `log` lines and `edit` tool events.

`--message` exits 0 even when its request failed for good: a run succeeded when every request
it started was answered. Aider retries a failed request itself (about a minute of backoff) unless
the error is one it does not retry, such as a rejected key. A request over the model's context
window counts as answered, but aider says that the model "has hit a token limit": a failure too.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from typing import Any

from shipyard.agents._classify import failure
from shipyard.agents._util import emit_raw, last_lines
from shipyard.domain.events import EventSink
from shipyard.domain.models import AgentResult, ExecResult, Usage

_HEADER = re.compile(r"(TO LLM|LLM RESPONSE) \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
_PROMPT_LINE = re.compile(r"(SYSTEM|USER|ASSISTANT|TOOL|FUNCTION)( |$)|-------$")
_ANSWER_PREFIX = "ASSISTANT"
_API_ERROR = re.compile(r"litellm\.(\w+): (.*)")
_APPLIED = re.compile(r"Applied edit to (.+)")
# After a request over the model's context window or output limit (answered, for aider).
_EXHAUSTED = re.compile(r"Model \S+ has hit a token limit!|(Input|Output|Total) tokens: ~")
# litellm's exception classes and the HTTP status each stands for.
_ERROR_STATUS = {
    "BadRequestError": 400,
    "AuthenticationError": 401,
    "PermissionDeniedError": 403,
    "NotFoundError": 404,
    "RateLimitError": 429,
    "InternalServerError": 500,
    "BadGatewayError": 502,
    "ServiceUnavailableError": 503,
}
_COMPLETED = "Completed --message-file"


def _number(properties: dict[str, Any], name: str) -> float:
    value = properties.get(name)
    return value if isinstance(value, int | float) else 0


def _usage(properties: dict[str, Any]) -> Usage:
    """One request's usage from its `message_send` event, priced by aider itself."""
    return Usage(
        turns=1,
        input_tokens=int(_number(properties, "prompt_tokens")),
        output_tokens=int(_number(properties, "completion_tokens")),
        cost_usd=float(_number(properties, "cost")),
    )


def _api_error(name: str, text: str) -> tuple[str, int | None]:
    """`litellm.RateLimitError: RateLimitError: OpenAIException - …` as a message and a status."""
    message = text if text.startswith(f"{name}:") else f"{name}: {text}"
    return message, _ERROR_STATUS.get(name)


class AiderStream:
    """Turns aider's output into events as it comes and keeps what decides the outcome."""

    def __init__(self, events: EventSink, max_retries: int | None = None) -> None:
        self._events = events
        self._max_retries = max_retries  # stop aider once it means to retry a request more often
        self.retries = 0
        self.given_up = asyncio.Event()  # set when it retries more often than allowed
        self.usage = Usage()
        self.answer = ""
        self._answer_lines: list[str] | None = None  # the answer being read, until its block ends
        self._in_prompt = False
        self._edits = itertools.count(1)
        self.started = 0  # model requests begun
        self.sent = 0  # and answered
        self.api_error: tuple[str, int | None] | None = None
        self.exception: str | None = None
        self.exit_reason: str | None = None
        self.exhausted: list[str] = []  # what aider said of the token limit the model hit
        self._console: list[str] = []  # stdout and unparsed stderr, for the error message
        self.finished = asyncio.Event()  # set by the `exit` event

    async def on_line(self, stream: str, line: str) -> None:
        """An `on_line` callback for the workspace: stderr carries the logs, stdout the console."""
        if stream == "stderr":
            await self._log_line(line)
        else:
            await self._console_line(line)

    async def _log_line(self, line: str) -> None:
        if self._answer_lines is not None:
            if line.startswith(_ANSWER_PREFIX):
                self._answer_lines.append(line[len(_ANSWER_PREFIX) + 1 :])
                return
            await self._end_answer()
        if header := _HEADER.fullmatch(line):
            self._in_prompt = header[1] == "TO LLM"
            self._answer_lines = None if self._in_prompt else []
            return
        event = _analytics(line)
        if event is not None:
            self._in_prompt = False
            await self._analytics(event)
        elif not (self._in_prompt and _PROMPT_LINE.match(line)):
            await self._other(line, "stderr")

    async def _end_answer(self) -> None:
        text, self._answer_lines = "\n".join(self._answer_lines or []).strip(), None
        if text:
            self.answer = text
            await self._events.emit("agent.message", {"text": text, "role": "assistant"})

    async def _analytics(self, event: dict[str, Any]) -> None:
        name, properties = event.get("event"), event.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        if name == "message_send_starting":
            self.started += 1
        elif name == "message_send":
            self.sent += 1
            self.api_error = None  # an earlier attempt's, retried with success
            self.usage = self.usage + _usage(properties)
            await self._events.emit("agent.usage", {**self.usage.model_dump(mode="json"), "final": False})
        elif name == "message_send_exception":
            self.exception = str(properties.get("exception") or "aider failed")
            await emit_raw(self._events, event, "warning")
        elif name == "exit":
            self.exit_reason = str(properties.get("reason") or "")
            self.finished.set()
        else:
            await emit_raw(self._events, event)

    async def _console_line(self, line: str) -> None:
        if applied := _APPLIED.fullmatch(line.strip()):
            call_id = f"edit-{next(self._edits)}"
            await self._events.emit(
                "agent.tool_call", {"name": "edit", "input": {"path": applied[1]}, "id": call_id}
            )
            result = {"is_error": False, "content": line.strip(), "id": call_id, "exit_code": None}
            await self._events.emit("agent.tool_result", result)
            return
        if error := _API_ERROR.match(line):
            self.api_error = _api_error(error[1], error[2].strip())
        if _EXHAUSTED.match(line):
            self.exhausted.append(line.strip())
        if line.startswith("Retrying in "):
            self.retries += 1
            if self._max_retries is not None and self.retries > self._max_retries:
                self.given_up.set()  # the request failed past the retries allowed: stop aider now
        await self._other(line, "stdout", "warning" if error else "info")

    async def _other(self, line: str, stream: str, level: str = "info") -> None:
        if line.strip():
            self._console.append(line)
            await self._events.emit("log", {"stream": stream, "line": line}, level)

    def outcome(self, done: ExecResult, timeout_s: float | None) -> AgentResult:
        """Judge the run: every request it began answered, and aider done with the message."""
        common: dict[str, Any] = {"usage": self.usage, "output": self.answer}
        if done.timed_out:
            return failure(
                f"aider timed out after {timeout_s or 0:g} s", kind="timeout", retryable=False, **common
            )
        if self.exhausted:
            return failure("; ".join(self.exhausted), kind="bad_request", retryable=False, **common)
        if self.sent and self.sent == self.started and self.exit_reason == _COMPLETED:
            return AgentResult(ok=True, **common)
        if self.api_error is not None:
            message, status = self.api_error
            return failure(message, status=status, **common)
        if self.exception is not None:
            return failure(self.exception, **common)
        return failure(self._unanswered(done), **common)

    def _unanswered(self, done: ExecResult) -> str:
        if self.exit_reason and self.exit_reason != _COMPLETED:
            message = f"aider stopped: {self.exit_reason}"
        elif self.started > self.sent:
            message = "aider got no answer from the model"
        else:
            message = f"aider exited with code {done.exit_code} before it asked the model"
        detail = last_lines("\n".join(self._console))
        return message + (f": {detail}" if detail else "")


def _analytics(line: str) -> dict[str, Any] | None:
    """An analytics log line, or None for any other line."""
    if not line.startswith('{"event"'):
        return None
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None
