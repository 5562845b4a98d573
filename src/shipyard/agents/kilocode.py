"""The `kilocode` agent: the Kilo Code CLI (npm `@kilocode/cli`) in non-interactive mode.

Two generations share the package and the `kilocode` binary, told apart by `--version`'s major:
- 7.x (and 1.x before it), an opencode fork: `kilo run --format json --auto`, opencode's JSON lines
  (_opencode_stream.py). Its configuration is `KILO_CONFIG_CONTENT` (JSON, opencode's schema: an
  `@ai-sdk/openai-compatible` provider with a `baseURL`, its key maybe `{env:OPENAI_API_KEY}`), a
  login in its data directory (`kilo auth login`), or a provider key.
- 0.x, an Ink app: `kilocode --auto --json --yolo`, one JSON line per UI message
  (_kilocode_legacy_stream.py). Its provider comes from `~/.kilocode/cli/config.json` or from
  `KILO_PROVIDER_TYPE` with the provider's fields as `KILO_*` variables (`KILO_OPEN_AI_BASE_URL` is
  `openAiBaseUrl`).
Both read the prompt from stdin when none is given as an argument.
"""

from __future__ import annotations

import asyncio
import functools
import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from shipyard.agents._classify import failure
from shipyard.agents._cli import CliAgent
from shipyard.agents._kilocode_legacy_stream import KilocodeLegacyStream
from shipyard.agents._opencode_stream import OpencodeStream
from shipyard.agents._provider import key_env, missing_key, provider_key
from shipyard.agents._util import JsonStream, binary_version, cli_availability, run_json_cli
from shipyard.agents.opencode import config_keys, provider_config
from shipyard.domain.events import EventSink
from shipyard.domain.models import AgentRequest, AgentResult, Availability
from shipyard.sandboxes.base import Workspace

_NOT_FOUND = "kilocode not installed (shipyard agents install kilocode)"
# The CLI's own variables, read from the worker's environment and handed over whole: 7.x's
# KILO_CONFIG_CONTENT and switches, 0.x's provider fields (KILO_*) and Kilo gateway ones (KILOCODE_*).
_OWN_PREFIXES = ("KILO_", "KILOCODE_")
# 7.x run headless in a sandbox: no self-update mid-run, no upload of the session to Kilo's cloud,
# no presence, telemetry or web UI, no embeddings index of the repository (~2.5 s of a run's start
# here). The worker's own KILO_* variables override each.
_HEADLESS = {
    "KILO_DISABLE_AUTOUPDATE": "1", "KILO_DISABLE_SESSION_INGEST": "1", "KILO_DISABLE_PRESENCE": "1",
    "KILO_DISABLE_EMBEDDED_WEB_UI": "1", "KILO_DISABLE_CODEBASE_INDEXING": "1", "KILO_TELEMETRY_LEVEL": "off",
}  # fmt: skip
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD", re.IGNORECASE)
_MAJOR = re.compile(r"(\d+)\.\d+")
LEGACY_MAJOR = 0  # the Ink CLI; later majors are the opencode fork


class KilocodeAgent(CliAgent):
    """Runs Kilo Code on the prompt, approving its edits and commands, in the generation installed."""

    name = "kilocode"
    description = (
        "Kilo Code CLI in non-interactive mode (kilo run --format json; 0.x: kilocode --auto --json)."
    )

    def check(self) -> Availability:
        """Binary present and runnable; `no credentials` without a configuration, a key or a login,
        or without the key of the provider configured for it."""
        if self._provider.key_env:
            why = missing_key(self._provider, self._environ)
            return cli_availability(self.binary(), _NOT_FOUND, missing_credentials=why)
        configured = self.env() or any(path.is_file() for path in self._login_files())
        why = (
            "set KILO_CONFIG_CONTENT (0.x: KILO_PROVIDER_TYPE and its KILO_* fields) or a provider key, "
            "or log in with `kilo auth login`"
        )
        return cli_availability(self.binary(), _NOT_FOUND, missing_credentials="" if configured else why)

    def _login_files(self) -> list[Path]:
        """7.x's logins and 0.x's configuration file."""
        home = Path(self._environ.get("HOME") or Path.home())
        data_home = Path(self._environ.get("XDG_DATA_HOME") or home / ".local" / "share")
        return [data_home / "kilo" / "auth.json", home / ".kilocode" / "cli" / "config.json"]

    def command(self, binary: str, request: AgentRequest, major: int | None) -> list[str]:
        """The argv of one run for the generation `major` (None: unknown, taken as the current one)."""
        if major == LEGACY_MAJOR:
            # --yolo approves every tool; the work order's sandbox is the boundary.
            argv = [binary, "--auto", "--json", "--yolo", "--nosplash"]
            if request.timeout_s:
                argv += ["--timeout", str(math.ceil(request.timeout_s))]
            return argv + (["--model", request.model] if request.model else [])
        argv = [binary, "run", "--format", "json", "--auto", "--print-logs", "--log-level", "ERROR"]
        if request.model:
            argv += ["-m", request.model]  # provider/model
        if request.session_id:
            argv += ["--session", request.session_id]
        return argv

    def env(self) -> dict[str, str]:
        """The CLI's own variables from the worker's environment, the configured provider's (both
        generations' forms) and the provider keys in settings and config."""
        env = {k: v for k, v in self._environ.items() if k.startswith(_OWN_PREFIXES) and v}
        if key := self._settings.openai_api_key:
            env["OPENAI_API_KEY"] = key.get_secret_value()
        if key := self._settings.anthropic_api_key:
            env["ANTHROPIC_API_KEY"] = key.get_secret_value()
        return env | self._provider_env()

    def _provider_env(self) -> dict[str, str]:
        """The configured OpenAI-compatible provider: 7.x's KILO_CONFIG_CONTENT (opencode's schema,
        the key read from `key_env`), 0.x's KILO_PROVIDER_TYPE and its fields."""
        provider = self._provider
        if not provider.base_url:
            return key_env(provider, self._environ)
        env = {"KILO_CONFIG_CONTENT": provider_config(provider), "KILO_PROVIDER_TYPE": "openai"}
        env["KILO_OPEN_AI_BASE_URL"] = provider.base_url
        if provider.model:
            env["KILO_OPEN_AI_MODEL_ID"] = provider.model
        return env | key_env(provider, self._environ, "KILO_OPEN_AI_API_KEY")

    async def major(self, binary: str) -> int | None:
        """The major version `binary --version` prints; None when it does not say."""
        version = await asyncio.to_thread(binary_version, binary)
        found = _MAJOR.search(version or "")
        return int(found[1]) if found else None

    async def run(self, request: AgentRequest, workspace: Workspace, events: EventSink) -> AgentResult:
        """Run Kilo Code on the prompt; success is judged from its events, as its generation prints them."""
        binary = self.binary()
        if binary is None:
            return failure(_NOT_FOUND, kind="unavailable", retryable=False)
        major = await self.major(binary)
        env = self.env()
        if major != LEGACY_MAJOR:
            env = _HEADLESS | env
        parser = _legacy_parser(request.prompt) if major == LEGACY_MAJOR else _opencode_parser
        return await run_json_cli(
            workspace,
            self.command(binary, request, major),
            parser,
            request,
            events,
            env=env,
            secrets=[*_secrets(env), provider_key(self._provider, self._environ)],
            grace_s=self._exit_grace_s,
        )


def _opencode_parser(events: EventSink) -> JsonStream:
    return OpencodeStream(events, cli="kilo")


def _legacy_parser(prompt: str) -> Callable[[EventSink], JsonStream]:
    return functools.partial(KilocodeLegacyStream, prompt=prompt)


def _secrets(env: Mapping[str, str]) -> list[str]:
    """What to hide in events and results: keys, tokens and passwords by their variable's name, and
    the keys written into KILO_CONFIG_CONTENT (a `{env:NAME}` reference is no secret)."""
    secrets = [value for name, value in env.items() if _SECRET_NAME.search(name)]
    return secrets + config_keys(env.get("KILO_CONFIG_CONTENT"))
