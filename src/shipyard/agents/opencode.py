"""The `opencode` agent: the opencode CLI in non-interactive mode (`opencode run --format json`).

Its provider comes from Shipyard's config for it (`agent_providers.opencode`: an OpenAI-compatible
endpoint, a model and the variable holding the key, made into an `OPENCODE_CONFIG_CONTENT`), else
from its own configuration: `OPENCODE_CONFIG_CONTENT` in the worker's environment (e.g. an
`@ai-sdk/openai-compatible` provider with a `baseURL`, which may read its key as
`{env:OPENAI_API_KEY}`), a login in its data directory (`opencode auth login`), or the provider
keys Shipyard holds (OPENAI_API_KEY, ANTHROPIC_API_KEY), which it hands over.
"""

from __future__ import annotations

import json
from pathlib import Path

from shipyard.agents._classify import failure
from shipyard.agents._cli import CliAgent
from shipyard.agents._opencode_stream import OpencodeStream
from shipyard.agents._provider import key_env, missing_key, provider_key
from shipyard.agents._util import cli_availability, run_json_cli
from shipyard.config import AgentProvider
from shipyard.domain.events import EventSink
from shipyard.domain.models import AgentRequest, AgentResult, Availability
from shipyard.sandboxes.base import Workspace

_NOT_FOUND = "opencode not installed (shipyard agents install opencode)"
# Read from the worker's environment and handed to the CLI: its configuration as JSON (providers,
# their base URLs and keys, the default model).
_PASSTHROUGH_ENV = ("OPENCODE_CONFIG_CONTENT",)


class OpencodeAgent(CliAgent):
    """Runs `opencode run` on the prompt, approving its edits and commands (`--auto`)."""

    name = "opencode"
    description = "opencode CLI in non-interactive mode (opencode run --format json)."

    def check(self) -> Availability:
        """Binary present and runnable; `no credentials` without a configuration, a key or a login,
        or without the key of the provider configured for it."""
        if self._provider.key_env:
            why = missing_key(self._provider, self._environ)
            return cli_availability(self.binary(), _NOT_FOUND, missing_credentials=why)
        configured = self.env() or self._auth_file().is_file()
        why = "set OPENCODE_CONFIG_CONTENT or a provider key, or log in with `opencode auth login`"
        return cli_availability(self.binary(), _NOT_FOUND, missing_credentials="" if configured else why)

    def _auth_file(self) -> Path:
        data_home = self._environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
        return Path(data_home) / "opencode" / "auth.json"

    def command(self, binary: str, request: AgentRequest) -> list[str]:
        """The argv of one run; with no message opencode reads the prompt from stdin."""
        # The work order's sandbox is the boundary, as for claude's bypassPermissions.
        argv = [binary, "run", "--format", "json", "--auto", "--print-logs", "--log-level", "ERROR"]
        if request.model:
            argv += ["-m", request.model]  # provider/model; else the configuration's default
        if request.session_id:
            argv += ["--session", request.session_id]
        return argv

    def env(self) -> dict[str, str]:
        """OPENCODE_CONFIG_CONTENT (the configured provider's, else the worker's) and the provider
        keys in settings and config."""
        env = {k: v for k in _PASSTHROUGH_ENV if (v := self._environ.get(k))}
        if self._provider.base_url:
            env["OPENCODE_CONFIG_CONTENT"] = provider_config(self._provider)
        if key := self._settings.openai_api_key:
            env["OPENAI_API_KEY"] = key.get_secret_value()
        if key := self._settings.anthropic_api_key:
            env["ANTHROPIC_API_KEY"] = key.get_secret_value()
        return env | key_env(self._provider, self._environ)

    async def run(self, request: AgentRequest, workspace: Workspace, events: EventSink) -> AgentResult:
        """Run opencode on the prompt; success is a finished last step without an error line."""
        binary = self.binary()
        if binary is None:
            return failure(_NOT_FOUND, kind="unavailable", retryable=False)
        env = self.env()
        return await run_json_cli(
            workspace,
            self.command(binary, request),
            OpencodeStream,
            request,
            events,
            env=env,
            secrets=[
                env.get("OPENAI_API_KEY"),
                env.get("ANTHROPIC_API_KEY"),
                provider_key(self._provider, self._environ),
                *config_keys(env.get("OPENCODE_CONFIG_CONTENT")),
            ],
            grace_s=self._exit_grace_s,
        )


def provider_config(provider: AgentProvider) -> str:
    """An opencode configuration whose provider `shipyard` is `provider`'s OpenAI-compatible
    endpoint, its key read from `key_env`, its model (if any) the default."""
    options = {"baseURL": provider.base_url}
    if provider.key_env:
        options["apiKey"] = "{env:" + provider.key_env + "}"
    entry: dict[str, object] = {"npm": "@ai-sdk/openai-compatible", "name": "Shipyard", "options": options}
    config: dict[str, object] = {"provider": {"shipyard": entry}}
    if provider.model:
        entry["models"] = {provider.model: {"name": provider.model}}
        config["model"] = f"shipyard/{provider.model}"
    return json.dumps(config)


def config_keys(content: str | None) -> list[str]:
    """The keys written into an opencode configuration itself (each provider's `options.apiKey`),
    to redact like the others; a `{env:NAME}` reference is no secret."""
    try:
        config = json.loads(content or "{}")
    except ValueError:
        return []
    providers = config.get("provider") if isinstance(config, dict) else None
    keys = []
    for provider in providers.values() if isinstance(providers, dict) else []:
        options = provider.get("options") if isinstance(provider, dict) else None
        key = options.get("apiKey") if isinstance(options, dict) else None
        if isinstance(key, str) and key and not key.startswith("{env:"):
            keys.append(key)
    return keys
