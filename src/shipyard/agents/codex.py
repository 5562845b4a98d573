"""The `codex` agent: OpenAI Codex CLI in non-interactive mode (`codex exec --json`)."""

from __future__ import annotations

import functools
import json
import tomllib
from pathlib import Path

from shipyard.agents._classify import failure
from shipyard.agents._cli import CliAgent
from shipyard.agents._codex_stream import CodexStream
from shipyard.agents._provider import key_env, missing_key, provider_key
from shipyard.agents._util import (
    cli_availability,
    run_json_cli,
)
from shipyard.domain.events import EventSink
from shipyard.domain.models import AgentRequest, AgentResult, Availability
from shipyard.sandboxes.base import Workspace

_NOT_FOUND = "codex not installed (shipyard agents install codex)"
# Read from the worker's environment and handed to the CLI: its config directory, whose
# config.toml may name another model provider (a Responses API `base_url`) and its retries.
_PASSTHROUGH_ENV = ("CODEX_HOME",)


class CodexAgent(CliAgent):
    """Runs `codex exec` on the prompt with permission to edit the workspace and run commands."""

    name = "codex"
    description = "OpenAI Codex CLI in non-interactive mode (codex exec --json)."

    def check(self) -> Availability:
        """Binary present and runnable; `no credentials` without an API key or a codex login, or
        without the key of the provider configured for it."""
        if self._provider.key_env:
            why = missing_key(self._provider, self._environ)
            return cli_availability(self.binary(), _NOT_FOUND, missing_credentials=why)
        codex_home = Path(self._environ.get("CODEX_HOME") or Path.home() / ".codex")
        logged_in = self._settings.openai_api_key or (codex_home / "auth.json").is_file()
        why = "set OPENAI_API_KEY, or log in with `codex login`"
        return cli_availability(self.binary(), _NOT_FOUND, missing_credentials="" if logged_in else why)

    def command(self, binary: str, request: AgentRequest) -> list[str]:
        """The argv of one run; options precede `resume`, and `-` reads the prompt from stdin."""
        # Codex's own sandbox cannot nest inside bwrap or docker and blocks the network; the
        # work order's sandbox is the boundary, as for claude's bypassPermissions.
        argv = [binary, "exec", "--json", "--skip-git-repo-check"]
        argv.append("--dangerously-bypass-approvals-and-sandbox")
        argv += self._provider_overrides()
        if model := request.model or self._provider.model:
            argv += ["-m", model]
        if request.session_id:
            argv += ["resume", request.session_id]
        return [*argv, "-"]

    def _configured_model(self) -> str | None:
        """The `model` of `$CODEX_HOME/config.toml`, which Codex runs unless told otherwise."""
        codex_home = self._environ.get("CODEX_HOME")
        try:
            config = tomllib.loads((Path(codex_home) / "config.toml").read_text()) if codex_home else {}
        except (OSError, ValueError):
            return None
        model = config.get("model")
        return model if isinstance(model, str) else None

    def _provider_overrides(self) -> list[str]:
        """`-c` options that make the configured endpoint the model provider, reading its key
        from the configured variable (a Responses API endpoint: Codex no longer speaks Chat)."""
        url = self._provider.base_url
        if not url:
            return []
        options = {"name": "shipyard", "base_url": url, "wire_api": "responses"}
        if self._provider.key_env:
            options["env_key"] = self._provider.key_env
        pairs = [("model_provider", "shipyard")]
        pairs += [(f"model_providers.shipyard.{k}", v) for k, v in options.items()]
        return [arg for k, v in pairs for arg in ("-c", f"{k}={json.dumps(v)}")]

    def env(self) -> dict[str, str]:
        """The API key from settings, when set (otherwise codex uses its own login), CODEX_HOME,
        and the configured provider's key (as OPENAI_API_KEY too when the endpoint is OpenAI's)."""
        env = {k: v for k in _PASSTHROUGH_ENV if (v := self._environ.get(k))}
        if key := self._settings.openai_api_key:
            env["OPENAI_API_KEY"] = key.get_secret_value()
        fixed = () if self._provider.base_url else ("OPENAI_API_KEY",)
        return env | key_env(self._provider, self._environ, *fixed)

    async def run(self, request: AgentRequest, workspace: Workspace, events: EventSink) -> AgentResult:
        """Run codex on the prompt; success is a completed turn without a failed one."""
        binary = self.binary()
        if binary is None:
            return failure(_NOT_FOUND, kind="unavailable", retryable=False)
        env = self.env()
        argv = self.command(binary, request)
        model = request.model or self._provider.model or self._configured_model()
        return await run_json_cli(
            workspace,
            argv,
            functools.partial(CodexStream, model=model),
            request,
            events,
            env=env,
            secrets=[env.get("OPENAI_API_KEY"), provider_key(self._provider, self._environ)],
            grace_s=self._exit_grace_s,
        )
