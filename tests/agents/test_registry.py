"""The agent registry."""

from __future__ import annotations

import pytest

from shipyard.agents.registry import AGENT_NAMES, build_agent, describe_agents
from shipyard.config import Settings
from shipyard.domain.errors import InvalidInput


def test_every_name_builds_its_adapter() -> None:
    settings = Settings(codex_binary="definitely-not-codex-xyz")
    assert AGENT_NAMES == (
        "shell",
        "claude",
        "codex",
        "opencode",
        "kilocode",
        "gemini",
        "aider",
        "cursor",
        "acp",
        "openai",
        "replay",
    )
    for name in AGENT_NAMES:
        assert build_agent(name, settings).name == name


def test_unknown_name_is_invalid_input_listing_the_known_ones() -> None:
    with pytest.raises(InvalidInput, match="unknown agent 'nope'; known: shell, claude, codex"):
        build_agent("nope", Settings())


def test_describe_agents_reports_availability() -> None:
    settings = Settings(
        codex_binary="definitely-not-codex-xyz",
        opencode_binary="no-such-opencode",
        kilocode_binary="no-such-kilocode",
        gemini_binary="no-such-gemini",
        aider_binary="no-such-aider",
        openai_api_key=None,
    )
    described = {
        name: (description, availability) for name, description, availability in describe_agents(settings)
    }
    assert list(described) == list(AGENT_NAMES)
    assert described["shell"][1].available
    assert described["codex"][1].available is False
    assert "shipyard agents install codex" in described["codex"][1].reason
    assert described["opencode"][1].state == "not installed"
    assert "shipyard agents install opencode" in described["opencode"][1].reason
    assert described["kilocode"][1].state == "not installed"
    assert described["gemini"][1].state == "not installed"
    assert "shipyard agents install gemini" in described["gemini"][1].reason
    assert described["aider"][1].state == "not installed"
    assert "shipyard agents install aider" in described["aider"][1].reason
    assert all(description for description, _ in described.values())
