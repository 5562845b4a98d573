"""How each kind of step runs inside the `run_step` activity: `run`, `prompt` and `pr`."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard import gitutil
from shipyard.agents.base import Agent
from shipyard.agents.registry import build_agent
from shipyard.config import Settings
from shipyard.domain.events import EventSink
from shipyard.domain.models import AgentRequest, AgentResult, SandboxHandle, StepStatus
from shipyard.engine.types import CallInput, GateStart, LoopIterationInput, RunStepInput, StepOutput
from shipyard.forge.base import Forge, PullRequestSpec
from shipyard.gitutil import commit_all, note_command_leftovers, uncommitted
from shipyard.sandboxes.base import Workspace
from shipyard.workflows import structured
from shipyard.workflows.templating import render

OUTPUT_LIMIT_CHARS = 16_000  # step outputs travel through Temporal history: keep them small
OUTPUT_INVALID = "output_invalid"  # the error type of a step whose output does not match its schema


def tail(text: str, limit: int = OUTPUT_LIMIT_CHARS) -> str:
    """The last `limit` characters, marked when something was cut."""
    return text if len(text) <= limit else f"[… {len(text) - limit} characters cut]\n" + text[-limit:]


@dataclass
class StepRun:
    """A step's outcome inside the activity: the output plus whether a retry could help."""

    output: StepOutput
    retryable: bool = True
    error_type: str = "step_failed"


def template_context(inp: RunStepInput | LoopIterationInput | CallInput | GateStart) -> dict[str, Any]:
    """What templates see: inputs, earlier steps' outputs, the work order, inside a loop `loop`."""
    handle = inp.handle
    context: dict[str, Any] = {
        "inputs": inp.inputs,
        "steps": {k: v.in_templates() for k, v in inp.steps.items()},
        "work_order": {
            "id": inp.work_order_id,
            "branch": handle.branch,
            "base_branch": handle.base_branch,
            "repository_url": handle.repository_url,
        },
    }
    iteration = inp.iteration if isinstance(inp, LoopIterationInput) else None
    iteration = inp.loop_iteration if isinstance(inp, RunStepInput) else iteration
    if iteration:
        context["loop"] = {"iteration": iteration}
    return context


def failed(error: str, *, retryable: bool = True, error_type: str = "step_failed", **kw: Any) -> StepRun:
    return StepRun(StepOutput(status=StepStatus.FAILED, error=error, **kw), retryable, error_type)


async def run_command(
    inp: RunStepInput, workspace: Workspace, events: EventSink, timeout_s: float
) -> StepRun:
    assert inp.step.run is not None
    command = render(inp.step.run, template_context(inp), repo_path=workspace.path, shell=True)
    await events.emit("workflow.step.command", {"command": command})

    async def on_line(stream: str, line: str) -> None:
        await events.emit("log", {"stream": stream, "line": line})

    before = await uncommitted(Path(inp.handle.path))
    result = await workspace.exec(command, timeout_s=timeout_s, on_line=on_line)
    await note_command_leftovers(Path(inp.handle.path), before)  # so the end does not commit them
    output = tail(result.stdout.strip())
    if result.timed_out:
        return failed(
            f"timed out after {timeout_s:g} s",
            exit_code=result.exit_code,
            output=output,
            error_type="timeout",
        )
    if not result.ok:
        stderr = tail(result.stderr.strip(), 2000)
        message = f"exit code {result.exit_code}" + (f": {stderr}" if stderr else "")
        return failed(message, exit_code=result.exit_code, output=output)
    if inp.step.output_schema is None:
        return StepRun(StepOutput(status=StepStatus.COMPLETED, output=output, exit_code=0))
    reading = structured.read_output(result.stdout, inp.step.output_schema)
    if reading.problem is not None:
        problem = structured.mismatch(reading.problem)
        return failed(problem, exit_code=0, output=output, error_type=OUTPUT_INVALID)
    done = StepOutput(status=StepStatus.COMPLETED, output=output, exit_code=0, output_data=reading.data)
    return StepRun(done)


async def run_prompt(
    inp: RunStepInput,
    workspace: Workspace,
    events: EventSink,
    settings: Settings,
    timeout_s: float,
    preamble: str = "",
) -> StepRun:
    """One agent run: a fresh session for a workflow step, the earlier one resumed for a follow-up.
    With an `output_schema`, the answer's JSON is validated; an invalid one gets one correction turn.
    `preamble` (a role's instructions) comes before the prompt."""
    assert inp.step.prompt is not None
    prompt = preamble + (
        inp.step.prompt
        if inp.literal
        else render(inp.step.prompt, template_context(inp), repo_path=workspace.path)
    )
    schema = inp.step.output_schema
    if schema is not None:
        prompt += structured.instruction(schema)
    agent = build_agent(inp.step.agent or inp.agent, settings)
    request = AgentRequest(
        prompt=prompt,
        model=inp.step.model,
        session_id=inp.session_id,
        timeout_s=timeout_s,
        step_id=inp.row_id,
    )
    deadline = time.monotonic() + timeout_s
    result = await _run_agent(agent, request, workspace, events)
    if not result.ok or schema is None:
        return _agent_outcome(agent, result)
    reading = structured.read_output(result.output, schema)
    if reading.problem is not None:
        await events.emit("workflow.step.output_invalid", {"error": reading.problem, "correction": True})
        fix = _correction(request, result, reading.problem, schema, deadline - time.monotonic())
        result = _after(result, await _run_agent(agent, fix, workspace, events))
        if not result.ok:
            return _agent_outcome(agent, result)
        reading = structured.read_output(result.output, schema)
    if reading.problem is not None:
        return failed(
            structured.mismatch(reading.problem),
            error_type=OUTPUT_INVALID,
            output=tail(result.output),
            session_id=result.session_id,
            usage=result.usage,
        )
    return _agent_outcome(agent, result, reading.data)


async def _run_agent(
    agent: Agent, request: AgentRequest, workspace: Workspace, events: EventSink
) -> AgentResult:
    if request.timeout_s is not None and request.timeout_s <= 0:
        return AgentResult(ok=False, error="no time left in the step", error_kind="timeout")
    started = {"agent": agent.name, "model": request.model, "prompt": tail(request.prompt, 4000)}
    started["resume"] = request.session_id
    await events.emit("agent.started", started)
    return await agent.run(request, workspace, events)


def _correction(
    request: AgentRequest, answer: AgentResult, problem: str, schema: dict[str, Any], remaining_s: float
) -> AgentRequest:
    """The correction turn: in the agent's session when it gave one, else with the conversation so
    far in its prompt (an agent that cannot resume, such as the built-in `openai` one)."""
    if answer.session_id:
        prompt = structured.correction(problem, schema)
    else:
        prompt = structured.correction_in_full(request.prompt, answer.output, problem, schema)
    change = {"prompt": prompt, "session_id": answer.session_id, "timeout_s": remaining_s}
    return request.model_copy(update=change)


def _after(first: AgentResult, second: AgentResult) -> AgentResult:
    """The second run's result, with what both spent and the latest session."""
    session_id = second.session_id or first.session_id
    return second.model_copy(update={"usage": first.usage + second.usage, "session_id": session_id})


def _agent_outcome(agent: Agent, result: AgentResult, data: Any = None) -> StepRun:
    common: dict[str, Any] = {"session_id": result.session_id, "usage": result.usage}
    if not result.ok:
        message = f"{agent.name} agent failed ({result.error_kind or 'error'}): {result.error or ''}"
        return failed(
            message.strip(),
            retryable=result.retryable,
            error_type=f"agent_{result.error_kind or 'error'}",
            output=tail(result.output),
            **common,
        )
    done = StepOutput(status=StepStatus.COMPLETED, output=tail(result.output), output_data=data, **common)
    return StepRun(done)


async def commit_changes(
    handle: SandboxHandle, message: str, phase: str | None, events: EventSink
) -> str | None:
    """Commit whatever changed in the working tree, announcing the commit as `git.commit`."""
    sha = await commit_all(Path(handle.path), message, phase)
    if sha is not None:
        await events.emit("git.commit", {"sha": sha, "message": message, "phase": phase})
    return sha


async def commit_leftovers(
    handle: SandboxHandle, message: str, phase: str | None, events: EventSink
) -> str | None:
    """Commit what agents left uncommitted (not commands, not caches), announced as `git.commit`."""
    sha = await gitutil.commit_leftovers(Path(handle.path), message, phase)
    if sha is not None:
        await events.emit("git.commit", {"sha": sha, "message": message, "phase": phase})
    return sha


def pr_title(inp: RunStepInput) -> str:
    assert inp.step.pr is not None
    title_t = inp.step.pr.title or "{{ work_order.id }}: {{ work_order.branch }}"
    return render(title_t, template_context(inp)).strip()


async def open_pr(
    inp: RunStepInput, forge: Forge, events: EventSink, default_body: Callable[[], Awaitable[str]]
) -> tuple[StepRun, str]:
    """Commit leftovers, push the branch and open (or update) its pull request; returns the URL too.
    The body is the step's template, else `default_body()` (read after the last commit)."""
    assert inp.step.pr is not None
    handle = inp.handle
    await commit_leftovers(handle, f"chore: remaining changes of {inp.work_order_id}", inp.step.phase, events)
    body = render(inp.step.pr.body, template_context(inp)) if inp.step.pr.body else await default_body()
    await forge.push(handle)
    spec = PullRequestSpec(
        work_order_id=inp.work_order_id, title=pr_title(inp), body=body, draft=inp.step.pr.draft
    )
    pr = await forge.open_or_update_pr(handle, spec)
    await events.emit("pr.opened", pr.model_dump(mode="json"))
    return StepRun(StepOutput(status=StepStatus.COMPLETED, output=pr.url)), pr.url
