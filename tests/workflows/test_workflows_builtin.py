from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shipyard.domain.errors import InvalidInput
from shipyard.workflows.loader import bind_inputs, builtin_names, load_builtin
from shipyard.workflows.schema import WorkflowDefinition
from shipyard.workflows.templating import evaluate_condition, render

WriteFile = Callable[[str, str], Path]  # the `write` fixture of conftest.py

SEED_003 = [
    "agent_workflow_build",
    "agent_workflow_plan",
    "agent_workflow_plan_build",
    "agent_workflow_plan_build_test",
    "agent_workflow_test",
]
PHASES = {
    "agent_workflow_plan": ["planning"],
    "agent_workflow_build": ["implementing"],
    "agent_workflow_test": ["testing"],
    "agent_workflow_plan_build": ["planning", "implementing"],
    "agent_workflow_plan_build_test": ["planning", "implementing", "testing"],
}
PROMPT = "Add a /health endpoint\nthat returns 200"


def sample_context(defn: WorkflowDefinition, **given: str) -> dict[str, Any]:
    return {
        "inputs": bind_inputs(defn, given),
        "steps": {},
        "work_order": {"id": "wo-abc12345", "branch": "wo/abc12345-health", "base_branch": "main",
                       "repository_url": "/tmp/widgets"},
    }  # fmt: skip


def rendered_steps(defn: WorkflowDefinition, ctx: dict[str, Any], repo: Path | None) -> dict[str, str]:
    """Every template of every step, rendered as the engine would."""
    out: dict[str, str] = {}
    for step in defn.steps:
        if step.when is not None:
            evaluate_condition(step.when, ctx)
        if step.prompt is not None:
            out[f"{step.id}.prompt"] = render(step.prompt, ctx, repo_path=repo)
        if step.run is not None:
            out[f"{step.id}.run"] = render(step.run, ctx, repo_path=repo, shell=True)
        if step.commit is not None:
            out[f"{step.id}.commit"] = render(step.commit, ctx)
        if step.pr is not None and step.pr.title is not None:
            out[f"{step.id}.title"] = render(step.pr.title, ctx)
    return out


def test_the_seed_003_set_is_built_in() -> None:
    assert set(SEED_003) <= set(builtin_names())


@pytest.mark.parametrize("name", SEED_003)
def test_builtin_loads_and_is_described(name: str) -> None:
    defn = load_builtin(name)
    assert defn.name == name
    assert defn.source == f"builtin/{name}.yaml"
    assert len(defn.description) > 40
    assert defn.steps[-1].kind == "pr"
    assert [s.phase for s in defn.steps if s.kind == "prompt"] == PHASES[name]
    assert all(s.commit for s in defn.steps if s.kind == "prompt")
    assert set(defn.inputs) == {"prompt", "issue"}
    assert defn.inputs["prompt"].required is (name != "agent_workflow_test")


@pytest.mark.parametrize("name", SEED_003)
def test_builtin_renders_with_default_prompts(name: str, repo: Path) -> None:
    defn = load_builtin(name)
    out = rendered_steps(defn, sample_context(defn, prompt=PROMPT, issue="42"), repo)
    assert out["pr.title"] == "Add a /health endpoint that returns 200"
    for key, text in out.items():
        if key.endswith(".prompt"):
            assert PROMPT in text
            assert "Related issue: 42" in text
            assert "$ARGUMENTS" not in text and "{{" not in text
        if key.endswith(".commit"):
            assert "\n" not in text and text.endswith("Add a /health endpoint that returns 200")
    if "plan.prompt" in out:
        assert "specs/plan.md" in out["plan.prompt"]


@pytest.mark.parametrize("name", ["agent_workflow_plan", "agent_workflow_plan_build_test"])
def test_repository_plan_command_wins(name: str, repo: Path, write: WriteFile) -> None:
    write(
        ".claude/commands/plan.md",
        "---\ndescription: Our planning ritual\n---\nPLAN FOR: $ARGUMENTS\n",
    )
    defn = load_builtin(name)
    out = rendered_steps(defn, sample_context(defn, prompt="Add caching"), repo)
    assert out["plan.prompt"] == "PLAN FOR: Add caching"
    if "build.prompt" in out:  # the other phases keep their built-in defaults
        assert out["build.prompt"].startswith("Implement the following change")


def test_test_workflow_runs_without_a_prompt(repo: Path) -> None:
    defn = load_builtin("agent_workflow_test")
    out = rendered_steps(defn, sample_context(defn), repo)
    assert out["test.prompt"].startswith("Run this project's tests")
    assert "Focus" not in out["test.prompt"] and "Related issue" not in out["test.prompt"]
    assert out["test.commit"] == "test: run the tests and fix failures"
    assert out["pr.title"] == "Make the test suite pass"


def test_builtin_definitions_need_their_required_prompt() -> None:
    with pytest.raises(InvalidInput, match="needs input 'prompt'"):
        bind_inputs(load_builtin("agent_workflow_plan"), {})


def test_unknown_builtin() -> None:
    with pytest.raises(
        InvalidInput,
        match="unknown built-in workflow 'nope'; built-in workflows: address_review, agent_workflow_build",
    ):
        load_builtin("nope")
