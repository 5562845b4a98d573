"""ShellAgent: the prompt is a bash script run in the workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard.agents.shell import ShellAgent
from shipyard.domain.events import ListSink
from shipyard.domain.models import AgentRequest, AgentResult
from shipyard.sandboxes.workspace import LocalWorkspace


async def shell(workdir: Path, script: str, **request: Any) -> tuple[AgentResult, ListSink]:
    sink = ListSink()
    result = await ShellAgent().run(AgentRequest(prompt=script, **request), LocalWorkspace(workdir), sink)
    return result, sink


async def test_script_runs_in_the_workspace_and_streams_lines(workdir: Path) -> None:
    result, sink = await shell(workdir, "echo hello > greeting.txt; cat greeting.txt; echo note >&2")
    assert result.ok
    assert (workdir / "greeting.txt").read_text() == "hello\n"
    assert result.output == "hello\n"
    logs = [data for t, data, _ in sink.events if t == "log"]
    assert {"stream": "stdout", "line": "hello"} in logs
    assert {"stream": "stderr", "line": "note"} in logs
    assert (result.usage.turns, result.usage.input_tokens, result.usage.cost_usd) == (1, 0, None)


async def test_output_is_the_tail_of_stdout(workdir: Path) -> None:
    result, _ = await shell(workdir, "for i in $(seq 1 2000); do echo line-$i; done")
    assert result.ok
    assert result.output.endswith("line-2000\n")
    assert len(result.output) <= 4096
    assert "line-1\n" not in result.output


async def test_non_zero_exit_fails_with_stderr_tail(workdir: Path) -> None:
    result, _ = await shell(workdir, "echo working; echo 'boom: no such file' >&2; exit 4")
    assert (result.ok, result.error_kind, result.retryable) == (False, "error", False)
    assert result.error == "exit code 4: boom: no such file"
    assert result.output == "working\n"


async def test_timeout(workdir: Path) -> None:
    result, _ = await shell(workdir, "sleep 30", timeout_s=0.3)
    assert (result.ok, result.error_kind) == (False, "timeout")
    assert ShellAgent().check().available
