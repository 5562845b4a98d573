"""The agent registry: short names → adapters built from settings."""

from __future__ import annotations

from collections.abc import Callable

from shipyard.agents.acp import AcpAgent
from shipyard.agents.aider import AiderAgent
from shipyard.agents.base import Agent
from shipyard.agents.claude import ClaudeAgent
from shipyard.agents.codex import CodexAgent
from shipyard.agents.cursor import CursorAgent
from shipyard.agents.gemini import GeminiAgent
from shipyard.agents.kilocode import KilocodeAgent
from shipyard.agents.openai import OpenAIAgent
from shipyard.agents.opencode import OpencodeAgent
from shipyard.agents.replay import ReplayAgent
from shipyard.agents.shell import ShellAgent
from shipyard.config import Settings
from shipyard.domain.errors import InvalidInput
from shipyard.domain.models import Availability

_FACTORIES: dict[str, Callable[[Settings], Agent]] = {
    "shell": lambda settings: ShellAgent(),
    "claude": ClaudeAgent,
    "codex": CodexAgent,
    "opencode": OpencodeAgent,
    "kilocode": KilocodeAgent,
    "gemini": GeminiAgent,
    "aider": AiderAgent,
    "cursor": CursorAgent,
    "acp": AcpAgent,
    "openai": OpenAIAgent,
    "replay": ReplayAgent,
}
AGENT_NAMES: tuple[str, ...] = tuple(_FACTORIES)


def build_agent(name: str, settings: Settings) -> Agent:
    """The adapter registered as `name`; InvalidInput for an unknown name."""
    factory = _FACTORIES.get(name)
    if factory is None:
        raise InvalidInput(f"unknown agent {name!r}; known: {', '.join(AGENT_NAMES)}")
    return factory(settings)


def describe_agents(settings: Settings) -> list[tuple[str, str, Availability]]:
    """(name, description, availability) of every agent, for `agents ls` and `doctor`."""
    described = []
    for name in AGENT_NAMES:
        agent = build_agent(name, settings)
        described.append((name, agent.description, agent.check()))
    return described
