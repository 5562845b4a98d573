"""The `claude` agent: Claude Code headless (`claude -p --output-format stream-json`)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path

from shipyard.agents._classify import failure
from shipyard.agents._claude_stream import ClaudeStream
from shipyard.agents._provider import key_env, missing_key, provider_key, provider_of
from shipyard.agents._util import (
    EXIT_GRACE_S,
    cli_availability,
    run_json_cli,
)
from shipyard.agents.install import find_agent_binary
from shipyard.config import Settings
from shipyard.domain.events import EventSink
from shipyard.domain.models import AgentRequest, AgentResult, Availability
from shipyard.sandboxes.base import Workspace

# Read from the worker's environment and handed to the CLI, which gets no other variables.
# CLAUDE_CODE_MAX_RETRIES bounds the CLI's own retries of API errors (401s and 429s included;
# about ten by default, minutes of backoff), for a worker that would rather the step's retries decide.
_PASSTHROUGH_ENV = (
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_CONFIG_DIR",
    "ANTHROPIC_BASE_URL",
    "CLAUDE_CODE_MAX_RETRIES",
)
_NOT_FOUND = "claude CLI not found (shipyard agents install claude, or set SHIPYARD_CLAUDE_BINARY)"


def bundled_claude() -> str | None:
    """The CLI shipped inside the installed `claude-agent-sdk` package, without importing it."""
    spec = importlib.util.find_spec("claude_agent_sdk")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "_bundled" / "claude"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


class ClaudeAgent:
    """Runs Claude Code non-interactively with permission to edit files and run commands."""

    name = "claude"
    description = "Claude Code in headless mode (claude -p, stream-json), edits and runs commands."

    def __init__(
        self,
        settings: Settings,
        environ: Mapping[str, str] | None = None,
        exit_grace_s: float = EXIT_GRACE_S,
    ) -> None:
        self._settings = settings
        self._environ = os.environ if environ is None else environ
        self._exit_grace_s = exit_grace_s
        self._provider = provider_of(settings, "claude")

    def binary(self) -> str | None:
        """`settings.claude_binary`; else the copy `shipyard agents install claude` put in the data
        dir; else `claude` on PATH; else the one claude-agent-sdk ships."""
        found = find_agent_binary(self._settings.data_dir, "claude", self._settings.claude_binary)
        return found if found or self._settings.claude_binary else bundled_claude()

    def has_credentials(self) -> bool:
        """Whether an API key, an OAuth token or a logged-in credentials file is configured."""
        if self._settings.anthropic_api_key or self._environ.get("CLAUDE_CODE_OAUTH_TOKEN"):
            return True
        config_dir = self._environ.get("CLAUDE_CONFIG_DIR")
        base = Path(config_dir) if config_dir else Path.home() / ".claude"
        return (base / ".credentials.json").is_file()

    def check(self) -> Availability:
        """Binary present and runnable; `no credentials` when it would fail to log in, or without
        the key of the provider configured for it."""
        if self._provider.key_env:
            why = missing_key(self._provider, self._environ)
            return cli_availability(self.binary(), _NOT_FOUND, missing_credentials=why)
        why = "set ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN, or log in with `claude`"
        return cli_availability(
            self.binary(), _NOT_FOUND, missing_credentials="" if self.has_credentials() else why
        )

    def command(self, binary: str, request: AgentRequest) -> list[str]:
        """The argv of one run; the prompt goes on stdin."""
        argv = [binary, "-p", "--output-format", "stream-json", "--verbose"]
        argv += ["--permission-mode", "bypassPermissions"]
        model = request.model or self._provider.model or self._settings.claude_model
        if model:
            argv += ["--model", model]
        if request.session_id:
            argv += ["--resume", request.session_id]
        return argv

    def env(self) -> dict[str, str]:
        """Credentials and switches the CLI needs; secrets come only from settings or the worker."""
        # The CLI refuses to skip permission prompts as root unless told it runs in a sandbox;
        # the work order's sandbox is exactly that boundary.
        env = {"IS_SANDBOX": "1"}
        env.update({k: v for k in _PASSTHROUGH_ENV if (v := self._environ.get(k))})
        if self._settings.anthropic_api_key:
            env["ANTHROPIC_API_KEY"] = self._settings.anthropic_api_key.get_secret_value()
        if self._provider.base_url:
            env["ANTHROPIC_BASE_URL"] = self._provider.base_url
        # The CLI reads its key from ANTHROPIC_API_KEY only.
        return env | key_env(self._provider, self._environ, "ANTHROPIC_API_KEY")

    async def run(self, request: AgentRequest, workspace: Workspace, events: EventSink) -> AgentResult:
        """Run Claude Code on the prompt; the outcome comes from its `result` line."""
        binary = self.binary()
        if binary is None:
            return failure(_NOT_FOUND, kind="unavailable", retryable=False)
        env = self.env()
        secrets = [env.get("ANTHROPIC_API_KEY"), env.get("CLAUDE_CODE_OAUTH_TOKEN")]
        secrets.append(provider_key(self._provider, self._environ))
        argv = self.command(binary, request)
        return await run_json_cli(
            workspace,
            argv,
            ClaudeStream,
            request,
            events,
            env=env,
            secrets=secrets,
            grace_s=self._exit_grace_s,
        )
