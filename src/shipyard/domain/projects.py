"""Projects: a repository Shipyard works on, its defaults, and the sources (trigger rules) that
start work orders on it from forge events, or at times (`on: schedule`, domain/schedules.py).

Pure: which GitHub repository a URL names is decided by the caller (`shipyard.forge.github`) and
handed to `with_defaults`.
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shipyard.domain.budget import Budget
from shipyard.domain.errors import InvalidInput
from shipyard.domain.models import RequestModel
from shipyard.domain.schedules import Overlap, check_cron, check_timezone

ForgeName = Literal["github", "local"]

# Normalised event names a source may listen to (GitHub's X-GitHub-Event values).
SOURCE_EVENTS: tuple[str, ...] = (
    "push",
    "pull_request",
    "issues",
    "issue_comment",
    "repository_dispatch",
    "workflow_run",
    "check_run",
    "check_suite",
    "status",
    "schedule",  # not a forge event: times of a cron expression (domain/schedules.py)
)

# Filters that only mean something for some events; anywhere else they would silently match all.
_FILTER_EVENTS: dict[str, tuple[str, ...]] = {
    "branches": ("push", "pull_request"),
    "paths": ("push",),
    "labels": ("issues", "issue_comment", "pull_request"),
    "command": ("issue_comment",),
    "types": ("repository_dispatch",),
}
_NO_ACTIONS = ("push", "status", "schedule")  # GitHub sends these without an `action`
_SCHEDULE_FIELDS = ("cron", "timezone", "overlap")

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_ID = re.compile(r"^prj-[0-9a-f]{8}$")
_FULL_NAME = re.compile(r"^[\w.-]+/[\w.-]+$")
_REPOSITORY_GLOB = re.compile(r"^[\w.*?\[\]!-]+/[\w.*?\[\]!-]+$")


def new_project_id() -> str:
    """A fresh id: `prj-` and 8 lowercase hex characters."""
    return "prj-" + secrets.token_hex(4)


def is_project_id(value: str) -> bool:
    return bool(_ID.match(value))


def is_local_path(url: str) -> bool:
    """Whether `url` names a repository on this machine (a path or file:// URL), not a remote one."""
    if urlparse(url).scheme == "file":
        return True
    return "://" not in url and not url.startswith("git@")


def default_forge(repository_url: str, github_repository: str | None) -> ForgeName:
    """`github` for a remote repository that has a GitHub name, else `local`."""
    return "github" if github_repository and not is_local_path(repository_url) else "local"


def _yaml_on_key(data: Any) -> Any:
    """YAML 1.1 reads a bare `on:` key as the boolean True; take it back as `on`."""
    if isinstance(data, dict) and True in data and "on" not in data:
        data = {("on" if key is True else key): value for key, value in data.items()}
    return data


class Source(BaseModel):
    """One trigger rule: which forge events start which workflow, with which inputs."""

    model_config = ConfigDict(extra="forbid")

    on: str
    repository: str | None = None  # owner/name or a glob (acme/*); None: the project's repository
    branches: list[str] = Field(default_factory=list)  # fnmatch globs; empty: any
    actions: list[str] = Field(default_factory=list)  # opened, labeled, ...; empty: any
    labels: list[str] = Field(default_factory=list)  # at least one present (labeled: the one added)
    command: str | None = None  # issue_comment: the first line starts with this (/fix)
    types: list[str] = Field(default_factory=list)  # repository_dispatch event_type; empty: any
    paths: list[str] = Field(default_factory=list)  # push: a changed file matches one glob
    workflow: str = Field(min_length=1)
    inputs: dict[str, str] = Field(default_factory=dict)  # input -> Jinja2 template over `event`
    agent: str | None = None
    sandbox_type: str | None = None
    # on: schedule
    cron: str | None = None  # five fields or an alias (@daily)
    timezone: str | None = None  # IANA name; None: UTC
    overlap: Overlap | None = None  # a firing while the last work order runs; None: skip

    @model_validator(mode="before")
    @classmethod
    def _on_from_yaml(cls, data: Any) -> Any:
        return _yaml_on_key(data)

    @field_validator("on")
    @classmethod
    def _known_event(cls, value: str) -> str:
        if value not in SOURCE_EVENTS:
            known = ", ".join(SOURCE_EVENTS)
            raise ValueError(f"unknown event '{value}'; a source listens to one of: {known}")
        return value

    @field_validator("repository")
    @classmethod
    def _repository_pattern(cls, value: str | None) -> str | None:
        if value is not None and not _REPOSITORY_GLOB.match(value):
            raise ValueError(f"repository '{value}' is not owner/name or a glob like owner/*")
        return None if value is None else value.lower()

    @field_validator("command")
    @classmethod
    def _command_given(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("command must not be empty")
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return None if value is None else check_cron(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)

    @model_validator(mode="after")
    def _filters_fit_the_event(self) -> Source:
        if self.on == "schedule" and self.cron is None:
            raise ValueError("a schedule needs 'cron' (e.g. '0 3 * * *': every day at 03:00)")
        if self.on == "schedule" and self.repository is not None:
            raise ValueError("'repository' does not apply to 'schedule' (it runs on the project's)")
        for field in _SCHEDULE_FIELDS:
            if getattr(self, field) is not None and self.on != "schedule":
                raise ValueError(f"'{field}' applies only to 'on: schedule'")
        for field, events in _FILTER_EVENTS.items():
            if getattr(self, field) and self.on not in events:
                raise ValueError(f"'{field}' does not apply to '{self.on}' events (only {', '.join(events)})")
        if self.actions and self.on in _NO_ACTIONS:
            raise ValueError(f"'{self.on}' events carry no action; drop 'actions'")
        return self


def _check_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(
            f"project name '{value}' must be 1-63 characters of a-z, 0-9, '.', '_' or '-',"
            " starting with a letter or digit"
        )
    if is_project_id(value):
        raise ValueError(f"project name '{value}' looks like a project id; choose another")
    return value


def _check_full_name(value: str | None) -> str | None:
    if value is not None and not _FULL_NAME.match(value):
        raise ValueError(f"github_repository '{value}' is not owner/name")
    return value


def _check_url(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("repository_url must not be empty")
    return value


# Agent name → how many of its prompt steps may run at once.
AgentLimits = dict[str, Annotated[int, Field(ge=1)]]
ENV_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,39}$"
EnvName = Annotated[str, Field(pattern=ENV_PATTERN)]


class DockerDeploy(BaseModel):
    """A deploy through the Docker engine Shipyard is configured with (SHIPYARD_DOCKER_HOST): a
    container of image `<image>:<version>` is started, `health` is run in it until it succeeds or
    `health_timeout_s` passes, then the environment's earlier container is stopped and removed (on
    a failed check the new one is, and the earlier one stays)."""

    model_config = ConfigDict(extra="forbid")

    image: str = Field(min_length=1, max_length=200, pattern=r"^[a-z0-9][a-z0-9._/:-]*$")  # without its tag
    command: list[str] | None = Field(default=None, max_length=50)  # default: the image's own
    env: dict[str, str] = Field(default_factory=dict, max_length=50)
    health: list[str] | None = Field(default=None, min_length=1, max_length=50)  # exit 0: healthy
    health_timeout_s: float = Field(default=60.0, gt=0, le=3600)


class DeployEnvironment(BaseModel):
    """How a project deploys to one environment: either a workflow (the repository's own or a
    built-in) run as a work order with the inputs `version` and `env` and `inputs` besides, or a
    container started through the Docker engine (`docker`)."""

    model_config = ConfigDict(extra="forbid")

    workflow: str | None = Field(default=None, min_length=1, max_length=100)
    inputs: dict[str, str] = Field(default_factory=dict, max_length=20)
    docker: DockerDeploy | None = None
    url: str | None = Field(default=None, max_length=500)  # where the deployed service answers

    @model_validator(mode="after")
    def _one_way(self) -> DeployEnvironment:
        if (self.workflow is None) == (self.docker is None):
            raise ValueError("an environment deploys with exactly one of `workflow` and `docker`")
        return self


class DeploymentSettings(BaseModel):
    """A project's environments and when an idea run's release deploys (seed 002's user settings)."""

    model_config = ConfigDict(extra="forbid")

    environments: dict[EnvName, DeployEnvironment] = Field(min_length=1, max_length=20)
    # manual: deploys only when asked (`POST /api/projects/:id/deploy`); auto: an idea run's
    # RELEASE phase also deploys its release to `deployment_env`.
    deployment_strategy: Literal["manual", "auto"] = "manual"
    deployment_env: EnvName | None = None  # where `auto` deploys; default: the first environment
    auto_merge_regression: bool = False  # recorded for seed 002's settings; nothing reads it yet
    require_approval: bool = False  # an auto deploy waits until a person approves it

    @model_validator(mode="after")
    def _env_known(self) -> DeploymentSettings:
        if self.deployment_env is not None and self.deployment_env not in self.environments:
            known = ", ".join(self.environments)
            raise ValueError(f"deployment_env '{self.deployment_env}' is none of the environments ({known})")
        return self


class ProjectCreate(RequestModel):
    """What a new project is made of."""

    model_config = ConfigDict(extra="forbid")

    name: str
    repository_url: str
    github_repository: str | None = None  # owner/name; derived from a GitHub repository_url
    forge: ForgeName | None = None  # None: `default_forge`
    agent: str | None = None
    sandbox_type: str | None = None
    budget: Budget | None = None
    # At most this many prompt steps of an agent at once across the project's work orders (the
    # install's SHIPYARD_AGENT_LIMITS apply too).
    limits: AgentLimits | None = None
    deployment: DeploymentSettings | None = None
    sources: list[Source] = Field(default_factory=list)

    _name = field_validator("name")(_check_name)
    _url = field_validator("repository_url")(_check_url)
    _full_name = field_validator("github_repository")(_check_full_name)


class ProjectUpdate(RequestModel):
    """A change to a project: only the fields given change (None clears an optional one)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    repository_url: str | None = None
    github_repository: str | None = None
    forge: ForgeName | None = None
    agent: str | None = None
    sandbox_type: str | None = None
    budget: Budget | None = None
    limits: AgentLimits | None = None
    deployment: DeploymentSettings | None = None
    sources: list[Source] | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> ProjectUpdate:
        for field in ("name", "repository_url", "forge", "sources"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"'{field}' cannot be null")
        return self

    @field_validator("name")
    @classmethod
    def _name_ok(cls, value: str | None) -> str | None:
        return None if value is None else _check_name(value)

    @field_validator("repository_url")
    @classmethod
    def _url_ok(cls, value: str | None) -> str | None:
        return None if value is None else _check_url(value)

    _full_name = field_validator("github_repository")(_check_full_name)


def with_defaults(data: ProjectCreate, named_repository: str | None) -> ProjectCreate:
    """`data` with github_repository (if not given: `named_repository`, the one its remote
    repository_url names) and forge filled in; InvalidInput if forge is github without one."""
    github_repository = data.github_repository
    if github_repository is None and not is_local_path(data.repository_url):
        github_repository = named_repository
    forge = data.forge or default_forge(data.repository_url, github_repository)
    if forge != "local" and github_repository is None:  # a hosted forge names the repository
        raise InvalidInput(
            f"forge '{forge}' needs a GitHub repository: '{data.repository_url}' names none;"
            " give github_repository as owner/name"
        )
    return data.model_copy(update={"github_repository": github_repository, "forge": forge})


def parse_sources(text: str) -> list[Source]:
    """Sources from YAML or JSON text: a list, or a mapping with `sources:`; InvalidInput saying
    which source is wrong and why."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise InvalidInput(f"not valid YAML or JSON: {err}") from None
    if isinstance(data, dict) and "sources" in data:
        data = data["sources"]
    if data is None:
        return []
    if not isinstance(data, list):
        raise InvalidInput("expected a list of sources (or a mapping with `sources:`)")
    return [_source(number, item) for number, item in enumerate(data, start=1)]


def _source(number: int, item: Any) -> Source:
    try:
        return Source.model_validate(item)  # also takes back YAML's `on:` read as True
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        text = first["msg"].removeprefix("Value error, ")
        raise InvalidInput(
            f"source {number}: {where}: {text}" if where else f"source {number}: {text}"
        ) from None
