"""The `cursor` agent: the Cursor CLI in print mode (`cursor-agent -p --output-format stream-json`).

Cursor installs its CLI with a script from its own site, not from a package registry, so Shipyard
cannot install it (`shipyard agents install` has no entry) and its tests run a fake that prints
the documented format. It logs in with CURSOR_API_KEY (from settings) or a browser login kept in
its config directory (`~/.cursor/cli-config.json`, `$CURSOR_CONFIG_DIR` when set; older CLIs
`~/.config/cursor/auth.json`). Its binary is `agent`, with `cursor-agent` as an alias; the
default is the alias, since other CLIs install an `agent` too.
"""

from __future__ import annotations

import json
from pathlib import Path

from shipyard.agents._classify import failure
from shipyard.agents._cli import CliAgent
from shipyard.agents._cursor_stream import CursorStream
from shipyard.agents._util import cli_availability, find_binary, run_json_cli
from shipyard.domain.events import EventSink
from shipyard.domain.models import AgentRequest, AgentResult, Availability
from shipyard.sandboxes.base import Workspace

_NOT_FOUND = "cursor-agent not installed (curl https://cursor.com/install -fsS | bash)"
# Read from the worker's environment and handed to the CLI: a config directory of the operator's own.
_PASSTHROUGH_ENV = ("CURSOR_CONFIG_DIR",)


class CursorAgent(CliAgent):
    """Runs `cursor-agent -p` on the prompt, approving its commands and edits (`--force`)."""

    name = "cursor"
    description = "Cursor CLI in print mode (cursor-agent -p --output-format stream-json)."

    def binary(self) -> str | None:
        """`settings.cursor_binary`: a path, or a name looked up on PATH."""
        return find_binary(self._settings.cursor_binary)

    def check(self) -> Availability:
        """Binary present and runnable; `no credentials` without an API key or a login."""
        logged_in = self._settings.cursor_api_key is not None or self._logged_in()
        why = "" if logged_in else "set CURSOR_API_KEY or log in with `cursor-agent login`"
        return cli_availability(self.binary(), _NOT_FOUND, missing_credentials=why)

    def _logged_in(self) -> bool:
        config_dir = Path(self._environ.get("CURSOR_CONFIG_DIR") or Path.home() / ".cursor")
        try:
            config = json.loads((config_dir / "cli-config.json").read_text())
        except (OSError, ValueError):
            config = {}
        if isinstance(config, dict) and config.get("authInfo"):
            return True
        config_home = Path(self._environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        return (config_home / "cursor" / "auth.json").is_file()

    def command(self, binary: str, request: AgentRequest) -> list[str]:
        """The argv of one run; the prompt is its last argument."""
        # The work order's sandbox is the boundary, as for claude's bypassPermissions: `--force`
        # runs commands without asking; `--trust` trusts the fresh checkout without asking.
        argv = [binary, "-p", "--output-format", "stream-json", "--force", "--trust"]
        if request.model:
            argv += ["--model", request.model]
        if request.session_id:
            argv += ["--resume", request.session_id]
        return [*argv, request.prompt]

    def env(self) -> dict[str, str]:
        """CURSOR_API_KEY from settings and the pass-through variables."""
        env = {k: v for k in _PASSTHROUGH_ENV if (v := self._environ.get(k))}
        if key := self._settings.cursor_api_key:
            env["CURSOR_API_KEY"] = key.get_secret_value()
        return env

    async def run(self, request: AgentRequest, workspace: Workspace, events: EventSink) -> AgentResult:
        """Run cursor-agent on the prompt; success is a result line that says so. A CLI still
        running `grace_s` after its result is stopped (print mode sometimes does not exit)."""
        binary = self.binary()
        if binary is None:
            return failure(_NOT_FOUND, kind="unavailable", retryable=False)
        env = self.env()
        return await run_json_cli(
            workspace,
            self.command(binary, request),
            CursorStream,
            request,
            events,
            env=env,
            secrets=[env.get("CURSOR_API_KEY")],
            grace_s=self._exit_grace_s,
            stdin="",  # the prompt is an argument; an open stdin would be read as more of it
        )
