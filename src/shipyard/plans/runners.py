"""The runner registry (seed 004): a runner is a named agent + sandbox + options that carries a
job's plan out. One is built in, `sandbox_kilo` (kilocode in the install's default sandbox, e2b
when its key is set); `[runners.<name>]` in shipyard.toml adds more or changes it, and
`SHIPYARD_CODING_AGENT_RUNNER` picks the one a job gets unless its request names another."""

from __future__ import annotations

from dataclasses import dataclass

from shipyard.config import RunnerConfig, Settings
from shipyard.domain.errors import InvalidInput

BUILT_IN = "sandbox_kilo"


@dataclass(frozen=True)
class Runner:
    name: str
    config: RunnerConfig
    agent: str  # the agent a work order runner's plan and fix run with
    sandbox: str

    @property
    def remote(self) -> bool:
        return self.config.kind == "remote"

    def describe(self) -> str:
        """One line a person reads: what runs the job, and where."""
        if self.remote:
            return f"remote executor at {self.config.url}"
        return f"{self.agent} in a {self.sandbox} sandbox"


def configured(settings: Settings) -> dict[str, RunnerConfig]:
    """Every runner by name: the built-in one, then the install's own."""
    return {BUILT_IN: RunnerConfig(agent="kilocode"), **settings.runners}


def runner_for(settings: Settings, name: str | None = None) -> Runner:
    """The runner `name` (default: the install's); InvalidInput naming the known ones otherwise."""
    name = name or settings.coding_agent_runner
    runners = configured(settings)
    if name not in runners:
        raise InvalidInput(f"unknown runner {name!r}; known: {', '.join(sorted(runners))}")
    config = runners[name]
    sandbox = config.sandbox or ("e2b" if settings.e2b_api_key else settings.sandbox)
    return Runner(name=name, config=config, agent=config.agent or settings.agent, sandbox=sandbox)


def all_runners(settings: Settings) -> list[Runner]:
    """Every runner, the install's default first."""
    names = sorted(configured(settings), key=lambda n: (n != settings.coding_agent_runner, n))
    return [runner_for(settings, n) for n in names]
