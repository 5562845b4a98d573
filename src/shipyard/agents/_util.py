"""Small helpers shared by the adapters: truncation, binary lookup, JSON line routing."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from shipyard.agents._classify import failure
from shipyard.domain.events import EventSink
from shipyard.domain.models import AgentRequest, AgentResult, Availability, ExecResult
from shipyard.logging import Redactor
from shipyard.sandboxes.base import LineCallback, Workspace

PREVIEW_CHARS = 4000  # tool inputs and results in events
RAW_CHARS = 8000  # pass-through JSON lines in events
OUTPUT_CHARS = 4096  # the tail of stdout a shell run reports as its output
EXIT_GRACE_S = 10.0  # how long a CLI may linger after reporting its outcome

JsonHandler = Callable[[dict[str, Any]], Awaitable[None]]
_TERMINAL_TITLE = re.compile(r"^\s*(?:\x1b\][^\x07\x1b]*(?:\x07|\x1b\\))+")


def clip(text: str, limit: int = PREVIEW_CHARS) -> str:
    """`text` cut to `limit` characters, marked when something was cut."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"… [{len(text) - limit} more characters]"


def tail(text: str, limit: int = OUTPUT_CHARS) -> str:
    """The last `limit` characters of `text`."""
    return text if len(text) <= limit else text[-limit:]


def last_lines(text: str, count: int = 10, limit: int = 2000) -> str:
    """The last `count` non-empty lines of `text`, at most `limit` characters."""
    lines = [line for line in text.splitlines() if line.strip()]
    return tail("\n".join(lines[-count:]), limit)


def as_text(value: Any) -> str:
    """`value`'s JSON as it is shown: non-ASCII characters as themselves, not `\\uXXXX` escapes."""
    return json.dumps(value, default=str, ensure_ascii=False)


def preview(value: Any, limit: int = PREVIEW_CHARS) -> Any:
    """`value` itself when its JSON is small, else its JSON cut to `limit` characters."""
    text = value if isinstance(value, str) else as_text(value)
    if len(text) <= limit:
        return value
    return clip(text, limit)


def content_text(content: Any) -> str:
    """The text of a tool result's content: a string, or a list of blocks with `text`."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [b.get("text", "") if isinstance(b, dict) else str(b) for b in content]
        return "\n".join(p for p in parts if p)
    return "" if content is None else as_text(content)


class PathEscape(ValueError):
    """A path that leads outside the workspace."""


def inside(root: Path, path: str) -> Path:
    """`path` resolved against `root`; PathEscape when it leads outside (`..`, absolute, links)."""
    base = root.resolve()
    target = (base / path).resolve()
    if target != base and not target.is_relative_to(base):
        raise PathEscape(f"path {path!r} is outside the workspace")
    return target


def find_binary(name_or_path: str) -> str | None:
    """An executable's absolute path: a path that exists, or a name looked up on PATH.

    Symlinks are kept, not resolved: a CLI may behave by the name it is called with, and the
    version `agents ls` shows must be that of the path configured.
    """
    if os.sep in name_or_path:
        path = Path(name_or_path).expanduser()
        return str(path.absolute()) if path.is_file() and os.access(path, os.X_OK) else None
    return shutil.which(name_or_path)


def cli_availability(binary: str | None, not_found: str, *, missing_credentials: str = "") -> Availability:
    """An agent CLI's state here: `not_found` says how to install it when `binary` is None; a
    binary whose `--version` fails is unavailable; `missing_credentials`, when given, says why it
    could not log in."""
    if binary is None:
        return Availability(available=False, installed=False, reason=not_found)
    version = binary_version(binary)
    if version is None:
        return Availability(available=False, reason=f"{binary} --version failed", binary=binary)
    if missing_credentials:
        return Availability(
            available=True, credentials=False, reason=missing_credentials, version=version, binary=binary
        )
    return Availability(available=True, version=version, binary=binary)


def binary_version(binary: str, timeout_s: float = 20.0) -> str | None:
    """The first line `<binary> --version` prints, or None when it cannot run."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(Path.home())}
    try:
        done = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=timeout_s, env=env
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0].strip() if done.returncode == 0 and lines else None


async def emit_raw(events: EventSink, data: dict[str, Any], level: str = "debug") -> None:
    """Pass a JSON line of a type we do not interpret through as `agent.raw`."""
    text = as_text(data)
    if len(text) <= RAW_CHARS:
        await events.emit("agent.raw", {"data": data}, level)
    else:
        await events.emit("agent.raw", {"data": clip(text, RAW_CHARS), "truncated": True}, level)


def json_lines(events: EventSink, handle: JsonHandler) -> LineCallback:
    """An `on_line` callback: JSON objects on stdout go to `handle`, everything else to `log`."""

    async def on_line(stream: str, line: str) -> None:
        obj = _parse_object(line) if stream == "stdout" else None
        if obj is None:
            if line.strip():
                await events.emit("log", {"stream": stream, "line": line})
            return
        await handle(obj)

    return on_line


def _parse_object(line: str) -> dict[str, Any] | None:
    # Some CLIs set the terminal's title (`ESC ] 0 ; … BEL`) just before their first JSON line.
    stripped = _TERMINAL_TITLE.sub("", line).strip()
    if not stripped.startswith("{"):
        return None
    try:
        obj = json.loads(stripped)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def redact_result(result: AgentResult, secrets: Iterable[str | None]) -> AgentResult:
    """`result` with secret values masked in its text (results end up in Temporal history)."""
    redactor = Redactor(secrets)
    error = redactor.text(result.error) if result.error else result.error
    return result.model_copy(update={"output": redactor.text(result.output), "error": error})


async def exec_until_finished(
    workspace: Workspace,
    argv: Sequence[str],
    finished: asyncio.Event,
    grace_s: float,
    *,
    timeout_s: float | None,
    env: Mapping[str, str],
    stdin: str,
    on_line: LineCallback,
    given_up: asyncio.Event | None = None,
) -> ExecResult:
    """Run an agent CLI; once it has reported its outcome, give it `grace_s` to exit, then stop it;
    once `given_up` is set (the adapter has seen enough to fail the run), stop it at once.

    A CLI that leaves a background process holding its stdout open would otherwise keep the
    step waiting until its timeout although the agent is done.
    """
    stderr: list[str] = []

    async def keep_stderr(stream: str, line: str) -> None:
        if stream == "stderr":
            stderr.append(line)
        await on_line(stream, line)

    run = workspace.exec(argv, timeout_s=timeout_s, env=env, stdin=stdin, on_line=keep_stderr)
    task = asyncio.ensure_future(run)
    waiter = asyncio.ensure_future(finished.wait())
    stopper = asyncio.ensure_future((given_up or asyncio.Event()).wait())
    try:
        await asyncio.wait({task, waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done() and not stopper.done():
            await asyncio.wait({task, stopper}, timeout=grace_s, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            return task.result()
        await _stop(task)
        return ExecResult(exit_code=-1, stderr="\n".join(stderr))
    finally:
        waiter.cancel()
        stopper.cancel()
        if not task.done():
            await _stop(task)


async def _stop(task: asyncio.Future[ExecResult]) -> None:
    """Cancel `task` (which kills its process group) and wait until it is gone."""
    task.cancel()
    await asyncio.wait({task})


class JsonStream(Protocol):
    """Parses an agent CLI's JSON lines into events and, at the end, an outcome."""

    finished: asyncio.Event

    async def handle(self, obj: dict[str, Any]) -> None: ...

    def outcome(self, done: ExecResult, timeout_s: float | None) -> AgentResult: ...


class RedactingSink:
    """An EventSink that hides `secrets` in every event before passing it on: the keys an adapter
    hands its CLI may come from the worker's environment, which the step's own sink does not know."""

    def __init__(self, inner: EventSink, secrets: Iterable[str | None]) -> None:
        self._inner = inner
        self._redactor = Redactor(secrets)

    async def emit(self, type: str, data: dict[str, Any] | None = None, level: str = "info") -> None:
        await self._inner.emit(type, self._redactor.data(dict(data or {})), level)


async def run_json_cli(
    workspace: Workspace,
    argv: Sequence[str],
    parser: Callable[[EventSink], JsonStream],
    request: AgentRequest,
    events: EventSink,
    *,
    env: Mapping[str, str],
    secrets: Iterable[str | None],
    grace_s: float,
    stdin: str | None = None,
) -> AgentResult:
    """Run a JSON-lines agent CLI with the prompt on stdin (or `stdin` when given); judge the
    outcome from its own events, which `parser` makes of its lines. `secrets` are hidden in the
    events and the result."""
    secrets = list(secrets)
    events = RedactingSink(events, secrets)
    stream = parser(events)
    try:
        done = await exec_until_finished(
            workspace,
            argv,
            stream.finished,
            grace_s,
            timeout_s=request.timeout_s,
            env=env,
            stdin=request.prompt if stdin is None else stdin,
            on_line=json_lines(events, stream.handle),
        )
    except OSError as err:
        return failure(f"cannot start {argv[0]}: {err}", kind="unavailable", retryable=False)
    outcome = stream.outcome(done, request.timeout_s)
    await events.emit("agent.usage", {**outcome.usage.model_dump(mode="json"), "final": True})
    return redact_result(outcome, secrets)
