"""Providers by config (`agent_providers`): each real CLI sent to the scripted model server by
Shipyard's config alone (an endpoint, a model, the variable holding the key), its key read from
a variable the sandbox would otherwise drop and handed to the CLI by that name. (Kilo Code's run
is test_real_kilocode.py's rejected key: each run of it costs seconds of CPU.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripted_model import CODEX_MODEL, ScriptedModel, Turn
from shipyard.agents.claude import ClaudeAgent, bundled_claude
from shipyard.agents.codex import CodexAgent
from shipyard.agents.gemini import GeminiAgent
from shipyard.agents.opencode import OpencodeAgent
from shipyard.agents.registry import build_agent
from shipyard.config import AgentProvider, Settings
from shipyard.domain.events import ListSink
from shipyard.domain.models import AgentRequest, AgentResult
from shipyard.sandboxes.workspace import LocalWorkspace
from support import installed_cli, serving

KEY = "sk-provider-by-config-0123456789"
KEY_ENV = "TEAM_LLM_KEY"  # not on the sandbox's allow-list, and no CLI's own name
# No key of Shipyard's own: the provider's is the only one.
NO_KEYS = {"openai_api_key": None, "anthropic_api_key": None, "gemini_api_key": None}


def settings_for(agent: str, base_url: str, model: str, **more: object) -> Settings:
    provider = AgentProvider(base_url=base_url, model=model, key_env=KEY_ENV)
    return Settings(agent_providers={agent: provider}, **NO_KEYS, **more)  # type: ignore[arg-type]


async def answer_once(agent: object, model: ScriptedModel, workdir: Path, tmp_path: Path) -> AgentResult:
    """One run whose scripted answer is a single message; its events must not hold the key."""
    model.turns = [Turn(text="Nothing to change.", input_tokens=10, output_tokens=5)]
    workspace = LocalWorkspace(workdir, env={"HOME": str(tmp_path)})
    sink = ListSink()
    result = await agent.run(AgentRequest(prompt="Look around.", timeout_s=120), workspace, sink)  # type: ignore[attr-defined]
    assert result.ok, result.error
    assert result.output == "Nothing to change."
    assert KEY not in json.dumps(sink.events)
    return result


async def test_codex_gets_the_endpoint_model_and_key_from_config(workdir: Path, tmp_path: Path) -> None:
    model = ScriptedModel([], model=CODEX_MODEL)
    async with serving(model.app) as url:
        settings = settings_for("codex", f"{url}/v1", CODEX_MODEL, codex_binary=installed_cli("codex"))
        await answer_once(CodexAgent(settings, environ={KEY_ENV: KEY}), model, workdir, tmp_path)

    assert model.keys == {KEY}
    assert {r["model"] for r in model.requests} == {CODEX_MODEL}


async def test_opencode_gets_the_endpoint_model_and_key_from_config(workdir: Path, tmp_path: Path) -> None:
    model = ScriptedModel([], model="team-model")
    async with serving(model.app) as url:
        settings = settings_for(
            "opencode", f"{url}/v1", "team-model", opencode_binary=installed_cli("opencode")
        )
        await answer_once(OpencodeAgent(settings, environ={KEY_ENV: KEY}), model, workdir, tmp_path)

    assert model.keys == {KEY}
    assert {r["model"] for r in model.requests} == {"team-model"}


async def test_claude_gets_the_endpoint_model_and_key_from_config(workdir: Path, tmp_path: Path) -> None:
    model = ScriptedModel([], model="claude-sonnet-4-5")
    async with serving(model.app) as url:
        settings = settings_for("claude", url, "claude-sonnet-4-5", claude_binary=bundled_claude())
        agent = ClaudeAgent(settings, environ={KEY_ENV: KEY, "CLAUDE_CONFIG_DIR": str(tmp_path / "cfg")})
        await answer_once(agent, model, workdir, tmp_path)

    assert model.keys == {KEY}
    assert {r["model"] for r in model.requests} == {"claude-sonnet-4-5"}


async def test_gemini_gets_the_endpoint_model_and_key_from_config(workdir: Path, tmp_path: Path) -> None:
    model = ScriptedModel([])
    async with serving(model.app) as url:
        settings = settings_for("gemini", url, "gemini-2.5-flash", gemini_binary=installed_cli("gemini"))
        result = await answer_once(GeminiAgent(settings, environ={KEY_ENV: KEY}), model, workdir, tmp_path)

    assert model.keys == {KEY}
    assert result.usage.input_tokens == 10


@pytest.mark.parametrize("agent", ["claude", "codex", "opencode", "kilocode", "gemini"])
def test_without_the_providers_key_an_agent_lacks_credentials(agent: str) -> None:
    binary = bundled_claude() if agent == "claude" else installed_cli(agent)
    settings = settings_for(agent, "http://127.0.0.1:9", "m", **{f"{agent}_binary": binary})
    state = build_agent(agent, settings).check()
    with_key = type(build_agent(agent, settings))(settings, environ={KEY_ENV: KEY})  # type: ignore[call-arg]

    assert state.reason.startswith(f"{KEY_ENV} (the key of its configured provider) is not set")
    assert state.credentials is False
    assert with_key.check().credentials is True


def test_providers_come_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_AGENT_PROVIDERS", '{"codex": {"base_url": "http://x/v1", "key_env": "K"}}')
    assert Settings().agent_providers == {"codex": AgentProvider(base_url="http://x/v1", key_env="K")}


def test_a_bad_provider_in_the_environment_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_AGENT_PROVIDERS", '{"codex": {"base_url": "http://x", "key_env": "A KEY"}}')
    with pytest.raises(ValueError, match="key_env"):
        Settings()
