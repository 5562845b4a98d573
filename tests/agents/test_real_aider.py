"""The real aider (PyPI `aider-chat`, installed by `./dev test`) against the scripted model server's
OpenAI Chat Completions API: it asks for a file, edits it with the search/replace block of the
model's answer, runs the operator's test command and finishes; what the adapter makes of it
(events, usage and aider's own price, answer, failures) matches the script.

Aider offers the model no tools: every request it makes takes a turn of the script."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scripted_model import ScriptedModel, Turn
from shipyard.agents.aider import AiderAgent
from shipyard.config import Settings
from shipyard.domain.events import ListSink
from shipyard.domain.models import AgentRequest, AgentResult
from shipyard.sandboxes.workspace import LocalWorkspace
from support import git, installed_cli, serving

KEY = "sk-scripted-aider-0123456789"
MODEL = "scripted-model"
# What aider's --model-metadata-file says of the model: litellm's fields, USD per token.
METADATA = {
    f"openai/{MODEL}": {
        "max_input_tokens": 128000,
        "max_output_tokens": 4096,
        "input_cost_per_token": 3e-6,
        "output_cost_per_token": 15e-6,
        "litellm_provider": "openai",
        "mode": "chat",
    }
}
EDIT = (
    "I will fix the typo.\n\nREADME.md\n```\n<<<<<<< SEARCH\nhelo world\n=======\nhello world\n"
    ">>>>>>> REPLACE\n```\n\nFixed the greeting."
)


def of_type(sink: ListSink, kind: str) -> list[dict[str, Any]]:
    return [data for t, data, _ in sink.events if t == kind]


@pytest.fixture
def aider() -> str:
    return installed_cli("aider", pypi=True)


@pytest.fixture
def model() -> ScriptedModel:
    scripted = ScriptedModel([], model=MODEL)
    scripted.main_loop_offers_tools = False
    return scripted


@pytest.fixture
def repo(workdir: Path) -> Path:
    """A repository whose README has a typo in its greeting."""
    (workdir / "README.md").write_text("# Greeting\nhelo world\n")
    git(workdir, "init", "-q")
    git(workdir, "add", "README.md")
    git(workdir, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "readme")
    return workdir


async def run_aider(
    aider: str,
    model: ScriptedModel,
    repo: Path,
    tmp_path: Path,
    environ: dict[str, str] | None = None,
    **more: Any,
) -> tuple[AgentResult, ListSink]:
    metadata = tmp_path / "model-metadata.json"
    metadata.write_text(json.dumps(METADATA))
    async with serving(model.app) as url:
        workspace = LocalWorkspace(repo, env={"HOME": str(tmp_path)})
        settings = Settings(
            aider_binary=aider,
            openai_api_key=KEY,
            openai_base_url=f"{url}/v1",
            anthropic_api_key=None,
            gemini_api_key=None,
            **more,
        )
        # AIDER_* from the worker's environment, as an operator would set them.
        agent = AiderAgent(settings, environ={"AIDER_MODEL_METADATA_FILE": str(metadata), **(environ or {})})
        sink = ListSink()
        request = AgentRequest(prompt="Fix the greeting.", model=f"openai/{MODEL}", timeout_s=180)
        result = await agent.run(request, workspace, sink)
        return result, sink


async def test_aider_adds_the_file_edits_it_runs_the_test_command_and_answers_as_scripted(
    aider: str, model: ScriptedModel, repo: Path, tmp_path: Path
) -> None:
    model.turns = [
        Turn(text="The greeting is in README.md.", input_tokens=100, output_tokens=20),
        Turn(text=EDIT, input_tokens=200, output_tokens=30),
    ]
    environ = {
        "AIDER_EDIT_FORMAT": "diff",
        "AIDER_AUTO_TEST": "true",
        "AIDER_TEST_CMD": "wc -l README.md > lines.txt",
    }
    result, sink = await run_aider(aider, model, repo, tmp_path, environ)

    assert result.ok, result.error
    assert (repo / "README.md").read_text() == "# Greeting\nhello world\n"
    assert (repo / "lines.txt").read_text().split()[0] == "2"  # the test command ran after the edit
    assert result.output == EDIT
    assert model.turns == []
    # Named in the first answer, the file went to the model with the second request.
    assert "helo world" not in json.dumps(model.requests[0]) and "helo world" in json.dumps(model.requests[1])
    assert {r["model"] for r in model.requests} == {MODEL}
    assert KEY not in json.dumps(model.requests)  # the key goes in a header only
    messages = [m["text"] for m in of_type(sink, "agent.message")]
    assert messages == ["The greeting is in README.md.", EDIT]
    assert [(c["name"], c["input"]) for c in of_type(sink, "agent.tool_call")] == [
        ("edit", {"path": "README.md"})
    ]
    assert [r["is_error"] for r in of_type(sink, "agent.tool_result")] == [False]
    # Aider commits nothing and leaves none of its files behind: Shipyard commits what it changed.
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"
    assert git(repo, "status", "--short", "--untracked-files=all").splitlines() == [
        " M README.md",
        "?? lines.txt",
    ]
    assert result.session_id is None  # aider keeps no session
    assert (result.usage.turns, result.usage.input_tokens, result.usage.output_tokens) == (2, 300, 50)
    running = [u for u in of_type(sink, "agent.usage") if not u["final"]]
    assert [u["input_tokens"] for u in running] == [100, 300]
    # Aider's own price for the model, from the metadata file: $3/M in, $15/M out.
    assert result.usage.cost_usd == pytest.approx((300 * 3.0 + 50 * 15.0) / 1e6)
    assert not result.usage.cost_estimated


async def test_a_rejected_key_is_an_auth_failure(
    aider: str, model: ScriptedModel, repo: Path, tmp_path: Path
) -> None:
    model.turns = [Turn(error_status=401, error_message="Incorrect API key provided")]
    result, sink = await run_aider(aider, model, repo, tmp_path)

    assert not result.ok
    assert (result.error_kind, result.retryable) == ("auth", False), result.error
    assert result.error == "AuthenticationError: OpenAIException - Incorrect API key provided"
    assert len(model.requests) == 1  # not retried
    assert of_type(sink, "agent.message") == []
    assert result.usage.turns == 0


async def test_rate_limits_past_the_retries_allowed_are_retryable(
    aider: str, model: ScriptedModel, repo: Path, tmp_path: Path
) -> None:
    """Aider itself retries a failed request 8 times over about a minute (backing off from 0.25 s
    to 32 s, the OpenAI client under it making each attempt 3 requests); SHIPYARD_AIDER_MAX_RETRIES
    lets the step give up sooner and its own retries decide."""
    model.turns = [Turn(error_status=429, error_message="Rate limit reached") for _ in range(30)]
    result, sink = await run_aider(aider, model, repo, tmp_path, aider_max_retries=1)

    assert not result.ok
    assert (result.error_kind, result.retryable) == ("rate_limit", True), result.error
    assert result.error == "RateLimitError: OpenAIException - Rate limit reached"
    assert len(model.requests) == 6  # two attempts of three requests each, then it was stopped
    retries = [e["line"] for e in of_type(sink, "log") if e["line"].startswith("Retrying in")]
    assert retries == ["Retrying in 0.2 seconds...", "Retrying in 0.5 seconds..."]


async def test_a_request_over_the_context_window_fails_although_aider_counts_it(
    aider: str, model: ScriptedModel, repo: Path, tmp_path: Path
) -> None:
    too_long = "This model's maximum context length is 128000 tokens. However, you requested 130000 tokens."
    model.turns = [Turn(error_status=400, error_message=too_long)]
    result, _ = await run_aider(aider, model, repo, tmp_path)

    assert not result.ok
    assert (result.error_kind, result.retryable) == ("bad_request", False), result.error
    assert result.error.startswith("Model openai/scripted-model has hit a token limit!; Input tokens: ~")
    assert len(model.requests) == 1
    # Aider counts the request as sent, with its own estimate of the tokens, and prices it.
    assert result.usage.turns == 1 and result.usage.output_tokens == 0
    assert result.usage.cost_usd == pytest.approx(result.usage.input_tokens * 3e-6)


def test_check_reports_the_version_and_wants_a_key(aider: str) -> None:
    keyless = Settings(aider_binary=aider, openai_api_key=None, anthropic_api_key=None, gemini_api_key=None)
    with_key = Settings(aider_binary=aider, openai_api_key=None, anthropic_api_key=KEY, gemini_api_key=None)

    bare = AiderAgent(keyless, environ={}).check()

    assert (bare.state, bare.version) == ("no credentials", "aider 0.86.2")
    assert bare.reason == "set OPENAI_API_KEY, ANTHROPIC_API_KEY or GEMINI_API_KEY"
    assert AiderAgent(with_key, environ={}).check().state == "ready"
    assert AiderAgent(Settings(aider_binary=str(Path(aider).parent / "nope")), environ={}).check().state == (
        "not installed"
    )
