"""The `acp` agent: any agent that speaks the Agent Client Protocol (ACP) on its stdio, by its
command line (`SHIPYARD_ACP_COMMAND`, e.g. `gemini --experimental-acp` or `npx
@zed-industries/claude-code-acp`).

ACP needs a live two-way conversation with the agent, and the client answers the agent's
requests to read and write files and to go ahead with a tool call, so the client must run where
the agent does: inside the sandbox. The adapter runs the bridge there (`python -P -m
shipyard.agents._acp_bridge -- <command>`, the prompt on stdin; see _acp_bridge.py), which is the
client and prints what happens as JSON lines, and parses them (_acp_stream.py). The bridge runs
with Shipyard's own Python (`SHIPYARD_ACP_PYTHON` to name another, e.g. in a container image).
"""

from __future__ import annotations

import importlib.util
import shlex
import sys
from pathlib import Path

import shipyard
from shipyard.agents._acp_stream import AcpStream
from shipyard.agents._classify import failure
from shipyard.agents._cli import CliAgent
from shipyard.agents._util import cli_availability, find_binary, run_json_cli
from shipyard.domain.events import EventSink
from shipyard.domain.models import AgentRequest, AgentResult, Availability
from shipyard.sandboxes.base import Workspace

_UNSET = "set SHIPYARD_ACP_COMMAND to the command line of an ACP agent, e.g. `gemini --experimental-acp`"
_BRIDGE = "shipyard.agents._acp_bridge"
# Where the `shipyard` package is, for the bridge's Python to import it from.
_PACKAGE_ROOT = str(Path(shipyard.__file__).resolve().parent.parent)


class AcpAgent(CliAgent):
    """Runs an ACP agent on the prompt through the bridge, approving its tool calls and answering
    its file requests inside the workspace."""

    name = "acp"
    description = "Any Agent Client Protocol agent, by its command line (SHIPYARD_ACP_COMMAND)."

    def agent_argv(self) -> list[str]:
        """The agent's command line, split as a shell would; empty when it is not configured."""
        return shlex.split(self._settings.acp_command or "")

    def check(self) -> Availability:
        """Configured, its program found and runnable (`--version`), and an ACP client to run it."""
        argv = self.agent_argv()
        if not argv:
            return Availability(available=False, installed=False, reason=_UNSET)
        if self._settings.acp_python is None and importlib.util.find_spec("acp") is None:
            return Availability(available=False, reason="the agent-client-protocol package is missing")
        return cli_availability(self.binary(), f"{argv[0]} not found (SHIPYARD_ACP_COMMAND)")

    def binary(self) -> str | None:
        """The configured agent's program: a path, or a name on PATH; None when none is set."""
        argv = self.agent_argv()
        return find_binary(argv[0]) if argv else None

    def command(self, request: AgentRequest) -> list[str]:
        """The bridge's argv, the agent's after `--`."""
        argv = [self._settings.acp_python or sys.executable, "-P", "-m", _BRIDGE]
        if request.session_id:
            argv += ["--session", request.session_id]
        if request.model:
            argv += ["--model", request.model]
        if self._settings.acp_auth_method:
            argv += ["--auth", self._settings.acp_auth_method]
        return [*argv, "--", *self.agent_argv()]

    def env(self) -> dict[str, str]:
        """The provider keys Shipyard holds, the variables SHIPYARD_ACP_ENV names, and where the
        bridge's Python finds Shipyard."""
        names = [name.strip() for name in self._settings.acp_env.split(",") if name.strip()]
        env = {name: value for name in names if (value := self._environ.get(name))}
        keys = {
            "ANTHROPIC_API_KEY": self._settings.anthropic_api_key,
            "OPENAI_API_KEY": self._settings.openai_api_key,
            "GEMINI_API_KEY": self._settings.gemini_api_key,
            "CURSOR_API_KEY": self._settings.cursor_api_key,
        }
        env.update({name: key.get_secret_value() for name, key in keys.items() if key})
        return {**env, "PYTHONPATH": _PACKAGE_ROOT}

    async def run(self, request: AgentRequest, workspace: Workspace, events: EventSink) -> AgentResult:
        """Run the agent on the prompt; success is a turn that ended with `end_turn`."""
        if not self.agent_argv():
            return failure(_UNSET, kind="unavailable", retryable=False)
        env = self.env()
        return await run_json_cli(
            workspace,
            self.command(request),
            AcpStream,
            request,
            events,
            env=env,
            secrets=[value for name, value in env.items() if name != "PYTHONPATH"],
            grace_s=self._exit_grace_s,
        )
