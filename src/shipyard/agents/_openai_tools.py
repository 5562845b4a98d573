"""The tools of the built-in `openai` agent, confined to the workspace.

Tool failures (bad arguments, paths outside the workspace, missing files) go back to the model as
error text it can act on; they never end the run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.agents._util import PathEscape, clip, tail
from shipyard.agents._util import inside as resolve_inside
from shipyard.domain.events import EventSink
from shipyard.sandboxes.base import Workspace

COMMAND_TIMEOUT_S = 600.0
READ_LIMIT_CHARS = 50_000
COMMAND_OUTPUT_CHARS = 10_000
LIST_LIMIT = 500


def _function(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    parameters = {"type": "object", "properties": properties, "required": required}
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


_STR = {"type": "string"}
TOOLS: list[dict[str, Any]] = [
    _function(
        "list_files",
        "List files under a directory of the repository (recursive).",
        {"path": _STR},
        [],
    ),
    _function("read_file", "Read a text file of the repository.", {"path": _STR}, ["path"]),
    _function(
        "write_file",
        "Create or overwrite a file with the given content.",
        {"path": _STR, "content": _STR},
        ["path", "content"],
    ),
    _function("run_command", "Run a bash command at the repository root.", {"command": _STR}, ["command"]),
    _function("finish", "Say the task is done, with a short summary.", {"summary": _STR}, ["summary"]),
]


class ToolError(Exception):
    """A tool call the model got wrong; its message goes back to the model."""


@dataclass
class ToolOutcome:
    """What a tool call returns to the model; `finish` is set when the model said it is done."""

    text: str
    is_error: bool = False
    finish: str | None = None


def inside(root: Path, path: str) -> Path:
    """`path` resolved inside `root`; ToolError when it leads outside."""
    try:
        return resolve_inside(root, path)
    except PathEscape as err:
        raise ToolError(str(err)) from err


class Toolbox:
    """Runs the model's tool calls in one workspace."""

    def __init__(self, workspace: Workspace, events: EventSink) -> None:
        self._workspace = workspace
        self._events = events

    async def call(self, name: str, arguments: str) -> ToolOutcome:
        """Run tool `name` with its JSON `arguments`."""
        try:
            args = json.loads(arguments or "{}")
            if not isinstance(args, dict):
                raise ToolError("arguments must be a JSON object")
            return await self._dispatch(name, args)
        except ValueError as err:
            return ToolOutcome(f"error: arguments are not valid JSON ({err})", is_error=True)
        except (ToolError, OSError, KeyError, TypeError) as err:
            return ToolOutcome(f"error: {_describe(err)}", is_error=True)

    async def _dispatch(self, name: str, args: dict[str, Any]) -> ToolOutcome:
        root = self._workspace.path
        if name == "list_files":
            return ToolOutcome(list_files(root, str(args.get("path") or ".")))
        if name == "read_file":
            text = inside(root, str(args["path"])).read_text(errors="replace")
            return ToolOutcome(clip(text, READ_LIMIT_CHARS))
        if name == "write_file":
            return ToolOutcome(write_file(root, str(args["path"]), str(args["content"])))
        if name == "run_command":
            return await self._run(str(args["command"]))
        if name == "finish":
            summary = str(args.get("summary") or "")
            return ToolOutcome("finished", finish=summary)
        raise ToolError(f"unknown tool {name!r}; tools: {', '.join(t['function']['name'] for t in TOOLS)}")

    async def _run(self, command: str) -> ToolOutcome:
        async def on_line(stream: str, line: str) -> None:
            await self._events.emit("log", {"stream": stream, "line": line})

        done = await self._workspace.exec(command, timeout_s=COMMAND_TIMEOUT_S, on_line=on_line)
        head = f"timed out after {COMMAND_TIMEOUT_S:g} s" if done.timed_out else f"exit code {done.exit_code}"
        output = tail(done.stdout + done.stderr, COMMAND_OUTPUT_CHARS)
        return ToolOutcome(f"{head}\n{output}", is_error=not done.ok)


def _describe(err: Exception) -> str:
    if isinstance(err, KeyError):
        return f"missing argument {err}"
    if isinstance(err, OSError):
        return f"{err.strerror or err}: {Path(err.filename).name if err.filename else ''}".rstrip(": ")
    return str(err)


def list_files(root: Path, path: str) -> str:
    """Files under `path` (relative to `root`), directories marked with `/`, `.git` skipped."""
    start = inside(root, path)
    if not start.is_dir():
        raise ToolError(f"{path!r} is not a directory")
    base = root.resolve()
    found: list[str] = []
    for current, dirs, files in os.walk(start):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        here = Path(current)
        found += [f"{(here / d).relative_to(base)}/" for d in dirs]
        found += [str((here / f).relative_to(base)) for f in sorted(files)]
        if len(found) >= LIST_LIMIT:
            return "\n".join(found[:LIST_LIMIT]) + f"\n… (more than {LIST_LIMIT} entries)"
    return "\n".join(found) or "(empty)"


def write_file(root: Path, path: str, content: str) -> str:
    """Write `content` to `path` inside `root`, creating parent directories."""
    target = inside(root, path)
    if target.is_dir():
        raise ToolError(f"{path!r} is a directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    return f"wrote {len(content.encode())} bytes to {target.relative_to(root.resolve())}"
