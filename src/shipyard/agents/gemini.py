"""The `gemini` agent: Google's Gemini CLI in headless mode (`gemini -o stream-json`).

Gemini CLI reads its user settings from `$GEMINI_CLI_HOME/.gemini/settings.json` (default: the
home directory) and refuses an API key unless they select it (`security.auth.selectedType`), so the
adapter gives it a home of its own next to the workspace, with those settings, and the key from
settings as GEMINI_API_KEY. `GEMINI_CLI_HOME` in the worker's environment is used instead, as it
is; `GOOGLE_GEMINI_BASE_URL` there sends the CLI to another Gemini API endpoint.
"""

from __future__ import annotations

import hashlib
import json

from shipyard.agents._classify import failure
from shipyard.agents._cli import CliAgent
from shipyard.agents._gemini_stream import GeminiStream
from shipyard.agents._provider import key_env, missing_key
from shipyard.agents._util import cli_availability, run_json_cli
from shipyard.domain.events import EventSink
from shipyard.domain.models import AgentRequest, AgentResult, Availability
from shipyard.sandboxes.base import Workspace

_NOT_FOUND = "gemini not installed (shipyard agents install gemini)"
# Read from the worker's environment and handed to the CLI: another Gemini API endpoint, and a
# config directory of the operator's own.
_PASSTHROUGH_ENV = ("GOOGLE_GEMINI_BASE_URL", "GEMINI_CLI_HOME")
# The user settings of the home the adapter makes: an API key as the way in; a rate-limited or
# failing request tried 3 times, not 10 with backoff (Shipyard retries the step itself).
SETTINGS = {"security": {"auth": {"selectedType": "gemini-api-key"}}, "general": {"maxAttempts": 3}}
# Runs in the workspace, so that the home is made where the CLI runs (a container, a bwrap
# sandbox): writes the settings the adapter hands over, then becomes the CLI.
_WITH_HOME = (
    'mkdir -p "$GEMINI_CLI_HOME/.gemini" && printf %s "$1" > "$GEMINI_CLI_HOME/.gemini/settings.json"'
    ' && shift && exec "$@"'
)


class GeminiAgent(CliAgent):
    """Runs `gemini` on the prompt (stdin), approving its edits and commands (`--approval-mode=yolo`)."""

    name = "gemini"
    description = "Google Gemini CLI in headless mode (gemini -o stream-json)."

    def check(self) -> Availability:
        """Binary present and runnable; `no credentials` without an API key (or without the key
        of the provider configured for it)."""
        if self._provider.key_env:
            why = missing_key(self._provider, self._environ)
        else:
            why = "" if self._settings.gemini_api_key else "set GEMINI_API_KEY"
        return cli_availability(self.binary(), _NOT_FOUND, missing_credentials=why)

    def command(self, binary: str, request: AgentRequest) -> list[str]:
        """The argv of one run; without `-p` the CLI reads the prompt from stdin."""
        # The work order's sandbox is the boundary, as for claude's bypassPermissions; the
        # workspace is a fresh checkout the CLI has not been told to trust.
        argv = [binary, "-o", "stream-json", "--approval-mode=yolo", "--skip-trust"]
        model = request.model or self._provider.model or self._settings.gemini_model
        if model:
            argv += ["-m", model]
        if request.session_id:
            argv += ["--resume", request.session_id]
        return argv

    def env(self, workspace: Workspace) -> dict[str, str]:
        """GEMINI_API_KEY from settings, the pass-through variables, and the CLI's home."""
        env = {k: v for k in _PASSTHROUGH_ENV if (v := self._environ.get(k))}
        env.setdefault("GEMINI_CLI_HOME", _home_for(workspace))
        if key := self._settings.gemini_api_key:
            env["GEMINI_API_KEY"] = key.get_secret_value()
        if self._provider.base_url:
            env["GOOGLE_GEMINI_BASE_URL"] = self._provider.base_url
        # The CLI reads its key from GEMINI_API_KEY only.
        return env | key_env(self._provider, self._environ, "GEMINI_API_KEY")

    async def run(self, request: AgentRequest, workspace: Workspace, events: EventSink) -> AgentResult:
        """Run gemini on the prompt; success is a result line that says so."""
        binary = self.binary()
        if binary is None:
            return failure(_NOT_FOUND, kind="unavailable", retryable=False)
        argv = self.command(binary, request)
        if "GEMINI_CLI_HOME" not in self._environ:
            argv = ["bash", "-c", _WITH_HOME, "gemini-home", json.dumps(SETTINGS), *argv]
        env = self.env(workspace)
        return await run_json_cli(
            workspace,
            argv,
            GeminiStream,
            request,
            events,
            env=env,
            secrets=[env.get("GEMINI_API_KEY")],
            grace_s=self._exit_grace_s,
        )


def _home_for(workspace: Workspace) -> str:
    """The CLI's home for one workspace, the same on every run so that `--resume` finds its chats."""
    digest = hashlib.sha256(str(workspace.path).encode()).hexdigest()[:16]
    return f"/tmp/shipyard-gemini-{digest}"
