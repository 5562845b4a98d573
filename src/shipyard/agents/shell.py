"""The `shell` agent: the prompt is a bash script run in the workspace (codemods, automation)."""

from __future__ import annotations

from shipyard.agents._classify import failure
from shipyard.agents._util import last_lines, tail
from shipyard.domain.events import EventSink
from shipyard.domain.models import AgentRequest, AgentResult, Availability, Usage
from shipyard.sandboxes.base import Workspace


class ShellAgent:
    """Runs the prompt as a bash script; succeeds iff the script exits 0."""

    name = "shell"
    description = "Runs the prompt as a bash script in the workspace (deterministic automation)."

    def check(self) -> Availability:
        """Always available: bash is all it needs."""
        return Availability(available=True, reason="bash")

    async def run(self, request: AgentRequest, workspace: Workspace, events: EventSink) -> AgentResult:
        """Run the script, streaming each output line as a `log` event."""

        async def on_line(stream: str, line: str) -> None:
            await events.emit("log", {"stream": stream, "line": line})

        result = await workspace.exec(request.prompt, timeout_s=request.timeout_s, on_line=on_line)
        usage = Usage(turns=1)
        output = tail(result.stdout)
        await events.emit("agent.usage", usage.model_dump(mode="json"))
        if result.timed_out:
            message = f"timed out after {request.timeout_s:g} s"
            return failure(message, kind="timeout", retryable=False, output=output, usage=usage)
        if result.exit_code != 0:
            stderr = last_lines(result.stderr)
            message = f"exit code {result.exit_code}" + (f": {stderr}" if stderr else "")
            return failure(message, kind="error", retryable=False, output=output, usage=usage)
        return AgentResult(ok=True, output=output, usage=usage)
