"""Settings: `SHIPYARD_*` environment variables, then `shipyard.toml` in the working directory.

Built once in `main()` and passed down; nothing reads the environment at import.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

MIN_API_TOKEN_CHARS = 16


class AgentProvider(BaseModel):
    """Where an agent CLI sends its model requests instead of its vendor's default (Shipyard's
    config per agent): an endpoint of the API the CLI speaks, a default model, and the variable
    holding the key, which reaches the CLI by that name."""

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = None
    model: str | None = None
    # Read from the worker's environment (which sandboxes otherwise never pass on); a project
    # secret of this name given to the step reaches the CLI the same way.
    key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


class RunnerConfig(BaseModel):
    """A coding-agent runner of seed 004's fixes (`[runners.<name>]` in shipyard.toml): a job's
    work order runs with this agent in this sandbox, or (`kind = "remote"`) the job is handed to an
    outside executor with one signed HTTP call and ends on its callback."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["work_order", "remote"] = "work_order"
    agent: str | None = None  # default: SHIPYARD_AGENT
    sandbox: str | None = None  # default: e2b when its key is set, else SHIPYARD_SANDBOX
    # A fix workflow of the repository's (.shipyard/workflows) instead of the bundled `fix`.
    workflow: str | None = None
    url: str | None = None  # remote: where the job is POSTed
    secret: SecretStr | None = None  # remote: signs the call (HMAC-SHA256 of the body)
    timeout_s: float = Field(default=3600.0, gt=0)  # remote: the job fails without a final callback by then

    @model_validator(mode="after")
    def _remote_has_url(self) -> RunnerConfig:
        if self.kind == "remote" and not (self.url and self.url.startswith(("http://", "https://"))):
            raise ValueError("a remote runner needs `url`, an http(s) URL to send its jobs to")
        return self


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "shipyard"


class Settings(BaseSettings):
    """Every knob Shipyard has. The README's configuration table lists them."""

    model_config = SettingsConfigDict(
        env_prefix="SHIPYARD_", toml_file="shipyard.toml", extra="ignore", populate_by_name=True
    )

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = None  # default: SQLite file in data_dir
    temporal_address: str | None = None  # default: embedded dev server
    temporal_namespace: str = "default"
    task_queue: str = "shipyard"
    host: str = "127.0.0.1"
    port: int = 8420
    api_token: SecretStr | None = None
    # Host names (or addresses) people reach this server by, besides loopback, the bind address
    # and SHIPYARD_PUBLIC_URL's host; any other Host header is refused (DNS rebinding).
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Signs sandbox tokens; default: a random key kept in <data dir>/secret.key. Give every
    # server of a fleet the same one.
    secret_key: SecretStr | None = None
    artifact_max_bytes: int = 10 * 1024 * 1024  # one artifact `shipyard report` may upload
    max_body_bytes: int = 1024 * 1024  # a JSON request body (webhooks and artifacts have their own)
    secrets_key: SecretStr | None = None  # a Fernet key: project secrets are stored encrypted with it
    agent: str = "claude"
    sandbox: str = "git_worktree"
    bwrap_binary: str = "bwrap"
    sandbox_cpu_s: int = 3600  # CPU seconds a command may use in a bwrap sandbox (0: no limit)
    sandbox_memory_mb: int = 8192  # address space a command may map in a bwrap sandbox (0: no limit)
    docker_host: str | None = None  # e.g. unix:///var/run/docker.sock; default: DOCKER_HOST
    docker_image: str = "python:3.12-bookworm"  # has git and bash; agents' CLIs must be in it to run there
    docker_cpus: float = 2.0  # CPUs a docker sandbox may use (0: no limit)
    docker_pids_limit: int = 1024
    e2b_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SHIPYARD_E2B_API_KEY", "E2B_API_KEY")
    )
    e2b_template: str = "base"  # the E2B template sandboxes start from; it needs git and bash
    e2b_timeout_s: int = 6 * 3600  # E2B ends a sandbox after this even if nobody kills it
    dagger_image: str = "python:3.12-bookworm"  # each command's container starts from it; it needs bash
    worker_slots: int = 8
    # Worker processes `serve` (or a `shipyard worker`) runs; 0 runs the worker inside serve's own
    # process, on the API's event loop. Default: one per core where there are more than two.
    workers: int | None = Field(default=None, ge=0)
    gc_interval_s: float = 600.0  # how often a worker reclaims sandboxes of ended work orders (0: never)
    heartbeat_timeout_s: float = 30.0
    step_timeout_s: float = 3600.0
    work_order_timeout_s: float = 6 * 3600.0
    log_level: str = "info"
    sse_heartbeat_s: float = 15.0  # a comment line keeps idle event streams open through proxies
    max_log_lines_per_step: int = 10_000  # beyond it, the first and last halves are kept

    claude_binary: str | None = None  # default: `claude` on PATH, else the one claude-agent-sdk ships
    claude_model: str | None = None
    anthropic_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SHIPYARD_ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY"),
    )
    codex_binary: str = "codex"
    opencode_binary: str = "opencode"
    kilocode_binary: str = "kilocode"  # 7.x also installs it as `kilo`
    gemini_binary: str = "gemini"
    aider_binary: str = "aider"
    aider_model: str | None = None  # litellm's provider/model (openai/gpt-4.1); default: aider's choice
    # Retries of a failed model request aider may make before the step gives up on it (and the
    # step's own retries decide); default: aider's own, about a minute of backoff.
    aider_max_retries: int | None = Field(default=None, ge=0)
    gemini_model: str | None = None  # default: the CLI's own choice (`auto`, which asks a router model first)
    gemini_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SHIPYARD_GEMINI_API_KEY", "GEMINI_API_KEY")
    )
    cursor_binary: str = "cursor-agent"  # the install script's unambiguous alias of `agent`
    cursor_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SHIPYARD_CURSOR_API_KEY", "CURSOR_API_KEY")
    )
    # The `acp` agent: the command line of an agent speaking the Agent Client Protocol on its stdio,
    # e.g. `gemini --experimental-acp`; the names of worker environment variables handed to it
    # (comma-separated; the provider keys above go anyway); a method to authenticate with first.
    acp_command: str | None = None
    acp_env: str = ""
    acp_auth_method: str | None = None
    acp_python: str | None = None  # runs the ACP client in the sandbox; default: Shipyard's own
    openai_base_url: str = "https://api.openai.com/v1"
    openai_model: str = "gpt-4o-mini"
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SHIPYARD_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    openai_max_turns: int = 30
    replay_file: Path | None = None
    # At most this many steps of an agent run at once across every worker of the install; the
    # others wait in line. `claude=4,codex=2` in the environment, a table in shipyard.toml.
    agent_limits: Annotated[dict[str, Annotated[int, Field(ge=1)]], NoDecode] = Field(default_factory=dict)
    # Per agent name, e.g. SHIPYARD_AGENT_PROVIDERS='{"codex": {"base_url": "…", "key_env": "MY_KEY"}}'
    # or `[agent_providers.codex]` in shipyard.toml.
    agent_providers: dict[str, AgentProvider] = Field(default_factory=dict)

    # Seed 004's fixes: the runner a job uses unless its request names one (`sandbox_kilo`: kilocode
    # in the default sandbox, e2b when configured), and more runners by name.
    coding_agent_runner: str = Field(
        default="sandbox_kilo",
        validation_alias=AliasChoices(
            "coding_agent_runner", "SHIPYARD_CODING_AGENT_RUNNER", "CODING_AGENT_RUNNER"
        ),
    )
    runners: dict[str, RunnerConfig] = Field(default_factory=dict)

    github_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SHIPYARD_GITHUB_TOKEN", "GITHUB_TOKEN")
    )  # default: what `gh auth token` prints, when gh is installed and logged in
    github_api_url: str = "https://api.github.com"  # GitHub Enterprise: https://<host>/api/v3
    # A GitHub App, used instead of the token when its id and a private key are set.
    github_app_id: str | None = None
    github_app_private_key: SecretStr | None = None  # the PEM text
    github_app_private_key_path: Path | None = None  # or the .pem file GitHub gave
    github_app_installation_id: int | None = None  # default: the app's installation on each repository
    github_app_slug: str | None = None  # its name in github.com/apps/<slug>; default: asked of GitHub
    github_web_url: str | None = None  # default: https://github.com, or GitHub Enterprise's from the API URL
    github_webhook_secret: SecretStr | None = None  # webhooks are refused (401) until it is set
    webhook_max_bytes: int = 25 * 1024 * 1024  # GitHub caps a payload at 25 MB
    github_labels: bool = False  # label issues shipyard:running, then shipyard:completed|failed|cancelled
    public_url: str | None = None  # how people reach this server, for links in PRs and comments

    @field_validator("agent_limits", mode="before")
    @classmethod
    def _parse_limits(cls, value: Any) -> Any:
        """`claude=4, codex=2` in the environment; a table in shipyard.toml."""
        if not isinstance(value, str):
            return value
        limits = {}
        for part in filter(None, (p.strip() for p in value.split(","))):
            name, sep, number = part.partition("=")
            if not sep or not name.strip():
                raise ValueError(f"{part!r} is not NAME=COUNT (e.g. claude=4,codex=2)")
            limits[name.strip()] = number.strip()
        return limits

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        """`a.example, b.example` in the environment; a list in shipyard.toml."""
        return (
            [name.strip() for name in value.split(",") if name.strip()] if isinstance(value, str) else value
        )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def github_app_configured(self) -> bool:
        """Whether a GitHub App (its id and a private key) is set."""
        has_key = self.github_app_private_key is not None or self.github_app_private_key_path is not None
        return bool(self.github_app_id) and has_key

    @property
    def github_web_base(self) -> str:
        """GitHub's web address: SHIPYARD_GITHUB_WEB_URL, else GitHub Enterprise's host when
        SHIPYARD_GITHUB_API_URL ends in /api/v3, else https://github.com."""
        if self.github_web_url:
            return self.github_web_url.rstrip("/")
        api = self.github_api_url.rstrip("/")
        return api.removesuffix("/api/v3") if api.endswith("/api/v3") else "https://github.com"

    def read_github_app_private_key(self) -> str | None:
        """The GitHub App's private key: the PEM text, else the key file's (OSError if unreadable)."""
        if self.github_app_private_key is not None:
            return self.github_app_private_key.get_secret_value()
        if self.github_app_private_key_path is not None:
            return self.github_app_private_key_path.expanduser().read_text(encoding="utf-8")
        return None

    def api_token_problem(self) -> str | None:
        """Why SHIPYARD_API_TOKEN cannot guard a server (None when it can, or when none is set)."""
        if self.api_token is None:
            return None
        length = len(self.api_token.get_secret_value().strip())
        if length >= MIN_API_TOKEN_CHARS:
            return None
        said = "is empty" if length == 0 else f"has {length} characters"
        return (
            f"SHIPYARD_API_TOKEN {said}; use at least {MIN_API_TOKEN_CHARS} (e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`) or unset it"
        )

    @property
    def trusted_hosts(self) -> frozenset[str]:
        """Names this server answers to besides loopback: its bind address, SHIPYARD_PUBLIC_URL's
        host and SHIPYARD_ALLOWED_HOSTS, lower-case."""
        names = {self.host, *self.allowed_hosts}
        if self.public_url:
            names.add(urlsplit(self.public_url).hostname or "")
        return frozenset(name.strip().lower().rstrip(".").strip("[]") for name in names) - {""}

    @property
    def worker_processes(self) -> int:
        """How many worker processes to run: SHIPYARD_WORKERS, else one per core on a machine with
        more than two, else none besides serve's own. Measured on two cores (bench/results): two
        worker processes finished 300 work orders 7-30 % sooner than serve's one loop, for the same
        CPU per work order or less and 37-72 % more memory; processes pay where there are cores to
        spare."""
        if self.workers is not None:
            return self.workers
        cores = os.cpu_count() or 1
        return cores if cores > 2 else 0

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'shipyard.db'}"

    def signing_key(self) -> bytes:
        """The key that signs sandbox tokens: SHIPYARD_SECRET_KEY, else <data dir>/secret.key,
        made (readable by its owner only) the first time it is needed."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.data_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            draft = path.with_name(f".secret.key.{os.getpid()}")
            descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
            with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
                os.link(draft, path)
            draft.unlink()
        return path.read_text().strip().encode()

    @property
    def server_url(self) -> str:
        """How processes on this machine (sandboxes, `shipyard report`) reach the API."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def work_order_link(self, work_order_id: str) -> str:
        """Where people can read a work order (links in pull requests and issue comments)."""
        base = (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")
        return f"{base}/work-orders/{work_order_id}"  # the dashboard page

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def sandboxes_dir(self) -> Path:
        return self.data_dir / "sandboxes"

    @property
    def mirrors_dir(self) -> Path:
        return self.data_dir / "mirrors"
