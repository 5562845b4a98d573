"""The `replay` agent: a test double that performs recorded actions (tests and demos only)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from shipyard.agents._classify import failure
from shipyard.agents._replay_script import Action, actions_from_block, actions_from_file, actions_from_prompt
from shipyard.agents._util import PathEscape, inside, last_lines, preview, tail
from shipyard.config import Settings
from shipyard.domain.errors import InvalidInput
from shipyard.domain.events import EventSink
from shipyard.domain.models import AgentRequest, AgentResult, Availability, Usage
from shipyard.sandboxes.base import Workspace


class _Stop(Exception):
    """Ends the replay early with a failed result."""

    def __init__(self, result: AgentResult) -> None:
        super().__init__(result.error)
        self.result = result


def _change(target: Path, verb: str, content: str) -> None:
    if verb == "delete":
        target.unlink(missing_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a" if verb == "append" else "w") as f:
        f.write(content)


class _Replay:
    """Performs actions in one workspace, keeping the output and usage so far."""

    def __init__(self, workspace: Workspace, events: EventSink) -> None:
        self.workspace = workspace
        self.events = events
        self.output = ""
        self.usage = Usage(turns=1)

    def fail(self, message: str, **kw: Any) -> _Stop:
        return _Stop(failure(message, output=self.output, usage=self.usage, **kw))

    async def perform(self, action: Action) -> None:
        verb = next(key for key in action if key != "content")
        if verb in ("write", "append", "delete"):
            await self.file(verb, action[verb], str(action.get("content", "")))
        elif verb == "run":
            await self.run(action["run"])
        elif verb == "message":
            self.output = action["message"]
            await self.events.emit("agent.message", {"text": self.output, "role": "assistant"})
        elif verb == "sleep":
            await asyncio.sleep(float(action["sleep"]))
        elif verb == "usage":
            await self.spend(action["usage"])
        else:
            spec = action["fail"]
            kind, retryable = spec.get("kind"), spec.get("retryable")
            raise self.fail(str(spec.get("message") or "replayed failure"), kind=kind, retryable=retryable)

    async def file(self, verb: str, path: str, content: str) -> None:
        await self.events.emit("agent.tool_call", {"name": verb, "input": {"path": path}})
        try:
            target = inside(self.workspace.path, path)
        except PathEscape as err:
            raise self.fail(str(err), kind="bad_request") from err
        try:
            _change(target, verb, content)
        except OSError as err:
            raise self.fail(f"cannot {verb} {path}: {err.strerror or err}", kind="error") from err

    async def run(self, command: str) -> None:
        async def on_line(stream: str, line: str) -> None:
            await self.events.emit("log", {"stream": stream, "line": line})

        await self.events.emit("agent.tool_call", {"name": "run", "input": {"command": command}})
        done = await self.workspace.exec(command, on_line=on_line)
        content = preview(tail(done.stdout + done.stderr))
        await self.events.emit("agent.tool_result", {"is_error": not done.ok, "content": content})
        if not done.ok:
            stderr = last_lines(done.stderr)
            raise self.fail(f"exit code {done.exit_code}" + (f": {stderr}" if stderr else ""), kind="error")

    async def spend(self, spec: dict[str, Any]) -> None:
        cost = spec.get("cost_usd")
        self.usage = self.usage + Usage(
            turns=int(spec.get("turns") or 0),
            input_tokens=int(spec.get("input_tokens") or 0),
            output_tokens=int(spec.get("output_tokens") or 0),
            cost_usd=float(cost) if cost is not None else None,
        )
        await self.events.emit("agent.usage", {**self.usage.model_dump(mode="json"), "final": False})


class ReplayAgent:
    """Performs recorded actions from the prompt (`replay:` YAML) or from `settings.replay_file`."""

    name = "replay"
    description = (
        "Test double that replays recorded actions (write, run, message, fail…) "
        "from the prompt or a replay file; for tests and demos only."
    )

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def check(self) -> Availability:
        """Always available: it needs nothing outside the workspace."""
        return Availability(available=True, reason="test double")

    def actions(self, request: AgentRequest) -> list[Action]:
        """The actions to perform; InvalidInput when there are none or they are malformed."""
        script = self._settings.replay_file
        found = actions_from_prompt(request.prompt)
        if found is None and script is not None:
            found = actions_from_file(script, request.step_id, fallback=False)
        if found is None:
            found = actions_from_block(request.prompt)
        if found is not None:
            return found
        if script is None:
            raise InvalidInput("the prompt has no `replay:` list and no replay file is configured")
        return actions_from_file(script, request.step_id) or []

    async def run(self, request: AgentRequest, workspace: Workspace, events: EventSink) -> AgentResult:
        """Perform the actions in order; the output is the last message."""
        try:
            actions = self.actions(request)
        except InvalidInput as err:
            return failure(err.message, kind="bad_request", retryable=False)
        replay = _Replay(workspace, events)
        try:
            async with asyncio.timeout(request.timeout_s):
                for action in actions:
                    await replay.perform(action)
            result = AgentResult(ok=True, output=replay.output, usage=replay.usage)
        except _Stop as stop:
            result = stop.result
        except TimeoutError:
            message = f"timed out after {request.timeout_s or 0:g} s"
            result = failure(
                message, kind="timeout", retryable=False, output=replay.output, usage=replay.usage
            )
        await events.emit("agent.usage", {**result.usage.model_dump(mode="json"), "final": True})
        return result
