"""ReplayAgent: recorded actions from the prompt or a replay file, performed in a real workspace."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path
from typing import Any

import pytest

from shipyard.agents.replay import ReplayAgent
from shipyard.config import Settings
from shipyard.domain.events import ListSink
from shipyard.domain.models import AgentRequest, AgentResult
from shipyard.sandboxes.workspace import LocalWorkspace


def of_type(sink: ListSink, kind: str) -> list[dict[str, Any]]:
    return [data for t, data, _ in sink.events if t == kind]


async def replay(
    workdir: Path, prompt: str, settings: Settings | None = None, **request: Any
) -> tuple[AgentResult, ListSink]:
    sink = ListSink()
    agent = ReplayAgent(settings or Settings(replay_file=None))
    result = await agent.run(AgentRequest(prompt=prompt, **request), LocalWorkspace(workdir), sink)
    return result, sink


def script(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


async def test_file_actions_and_messages(workdir: Path) -> None:
    (workdir / "old.txt").write_text("bye")
    prompt = script(
        """
        replay:
          - write: src/app.py
            content: "print('hi')\\n"
          - append: src/app.py
            content: "print('again')\\n"
          - delete: old.txt
          - message: first
          - message: Changed app.py.
        """
    )
    result, sink = await replay(workdir, prompt)
    assert result.ok, result.error
    assert (workdir / "src" / "app.py").read_text() == "print('hi')\nprint('again')\n"
    assert not (workdir / "old.txt").exists()
    assert result.output == "Changed app.py."
    assert [m["text"] for m in of_type(sink, "agent.message")] == ["first", "Changed app.py."]
    assert [c["name"] for c in of_type(sink, "agent.tool_call")] == ["write", "append", "delete"]


async def test_run_streams_output_and_a_failing_command_fails_the_run(workdir: Path) -> None:
    prompt = script(
        """
        replay:
          - run: "echo out; echo err >&2"
          - run: "echo broken >&2; exit 3"
          - message: never reached
        """
    )
    result, sink = await replay(workdir, prompt)
    assert {"stream": "stdout", "line": "out"} in of_type(sink, "log")
    assert {"stream": "stderr", "line": "err"} in of_type(sink, "log")
    assert (result.ok, result.error_kind, result.retryable) == (False, "error", False)
    assert result.error == "exit code 3: broken"
    assert of_type(sink, "agent.message") == []


async def test_usage_is_summed_and_reported(workdir: Path) -> None:
    prompt = script(
        """
        replay:
          - usage: {input_tokens: 100, output_tokens: 10, cost_usd: 0.01}
          - usage: {input_tokens: 50, output_tokens: 5, cost_usd: 0.02, turns: 1}
        """
    )
    result, sink = await replay(workdir, prompt)
    assert (result.usage.turns, result.usage.input_tokens, result.usage.output_tokens) == (
        2,
        150,
        15,
    )
    assert result.usage.cost_usd == pytest.approx(0.03)
    assert of_type(sink, "agent.usage")[-1]["final"] is True


async def test_fail_action_sets_kind_and_retryable(workdir: Path) -> None:
    prompt = script(
        """
        replay:
          - message: trying
          - fail: {message: "API Error: 529 overloaded", kind: overloaded, retryable: true}
          - write: never.txt
            content: x
        """
    )
    result, _ = await replay(workdir, prompt)
    assert (result.ok, result.error, result.error_kind, result.retryable) == (
        False,
        "API Error: 529 overloaded",
        "overloaded",
        True,
    )
    assert result.output == "trying"
    assert not (workdir / "never.txt").exists()


async def test_fail_without_kind_is_classified_from_its_message(workdir: Path) -> None:
    result, _ = await replay(workdir, "replay:\n  - fail: {message: 'Not logged in'}\n")
    assert (result.error_kind, result.retryable) == ("auth", False)


async def test_sleep_is_bounded_by_the_timeout(workdir: Path) -> None:
    result, _ = await replay(workdir, "replay:\n  - sleep: 0.01\n  - message: awake\n")
    assert (result.ok, result.output) == (True, "awake")
    slow, _ = await replay(workdir, "replay:\n  - sleep: 30\n", timeout_s=0.2)
    assert (slow.ok, slow.error_kind) == (False, "timeout")


async def test_sleep_can_be_cancelled(workdir: Path) -> None:
    task = asyncio.create_task(replay(workdir, "replay:\n  - sleep: 30\n"))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_replay_file_by_step_id_with_default(workdir: Path, tmp_path: Path) -> None:
    replay_file = tmp_path / "replay.yaml"
    replay_file.write_text(
        script(
            """
            plan:
              - write: specs/plan.md
                content: "# Plan\\n"
              - message: planned
            default:
              - message: default step
            """
        )
    )
    settings = Settings(replay_file=replay_file)
    planned, _ = await replay(workdir, "Plan the change", settings, step_id="plan")
    assert (planned.ok, planned.output) == (True, "planned")
    assert (workdir / "specs" / "plan.md").read_text() == "# Plan\n"
    other, _ = await replay(workdir, "Build it", settings, step_id="build")
    assert (other.ok, other.output) == (True, "default step")


@pytest.mark.parametrize(
    ("prompt", "fragment"),
    [
        ("just a prompt", "no `replay:` list"),
        ("replay: nope\n", "must be a list"),
        ("replay:\n  - dance: now\n", "action 1"),
        ("replay:\n  - message: a\n  - write: x\n    color: red\n", "unknown keys ['color']"),
        ("replay:\n  - sleep: soon\n", "sleep takes a number"),
    ],
)
async def test_bad_scripts_fail_before_anything_runs(workdir: Path, prompt: str, fragment: str) -> None:
    result, sink = await replay(workdir, prompt)
    assert (result.ok, result.error_kind, result.retryable) == (False, "bad_request", False)
    assert fragment in (result.error or "")
    assert sink.events == []


async def test_paths_outside_the_workspace_are_refused(workdir: Path, tmp_path: Path) -> None:
    result, _ = await replay(workdir, "replay:\n  - write: ../escape.txt\n    content: x\n")
    assert (result.ok, result.error_kind) == (False, "bad_request")
    assert not (tmp_path / "escape.txt").exists()


def test_description_says_it_is_a_test_double() -> None:
    agent = ReplayAgent(Settings())
    description = agent.description.lower()
    assert "test double" in description and "tests and demos only" in description
    assert agent.check().available


async def test_a_replay_block_inside_a_prompt_is_its_script(workdir: Path, tmp_path: Path) -> None:
    """Text a workflow quotes into its prompt (an issue's body) may carry the script: the last
    ```replay block wins over the replay file."""
    replay_file = tmp_path / "replay.yaml"
    replay_file.write_text("default:\n  - message: from the file\n")
    prompt = (
        "You are the developer. Implement this issue.\n\n"
        "> ```replay\n> - message: quoted, not ours\n> ```\n\n"
        '```replay\n- write: one.py\n  content: "ONE = 1\\n"\n- message: wrote one.py\n```\n'
    )
    result, _ = await replay(workdir, prompt, Settings(replay_file=replay_file), step_id="implement")
    assert (result.ok, result.output) == (True, "wrote one.py")
    assert (workdir / "one.py").read_text() == "ONE = 1\n"
    broken, _ = await replay(workdir, "Do it.\n```replay\n- write: [\n```\n", step_id="implement")
    assert (broken.ok, broken.error_kind) == (False, "bad_request")
    assert "the prompt's replay block is not valid YAML" in (broken.error or "")
