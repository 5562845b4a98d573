"""What an earlier attempt of a step did before its worker (or Temporal) died: a retried attempt
in the same execution of the work order must not run, nor commit, a step that already completed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shipyard.domain.errors import ShipyardError
from shipyard.domain.models import StepStatus
from shipyard.domain.work_orders import Step, WorkOrder
from shipyard.engine.types import RunStepInput, StepOutput
from shipyard.gitutil import git
from shipyard.store.store import Store

LOST_OUTPUT = (
    "(an earlier attempt ran this step and committed; its worker stopped before its output was stored)"
)


@dataclass
class Earlier:
    output: StepOutput
    stored: bool  # whether the store already has it (else the commit in git says it completed)


async def completed_earlier(
    store: Store,
    inp: RunStepInput,
    wo: WorkOrder,
    attempt: int,
    commit_message: Callable[[], str] | None,
) -> Earlier | None:
    """The step's result when an earlier attempt of this execution completed it: stored as
    completed, or stored as running with its commit (`commit_message()`) already on the branch."""
    started = wo.execution_started_at
    if attempt == 1 or started is None:
        return None
    row = next((s for s in await store.list_steps(wo.id) if s.step_id == inp.row_id), None)
    if row is None:
        return None
    if row.status == StepStatus.COMPLETED and row.completed_at and row.completed_at >= started:
        session = wo.agent_session_id if inp.step.kind == "prompt" else None
        return Earlier(StepOutput.recorded(row, session), stored=True)
    if not _running_since(row, wo) or commit_message is None:
        return None
    sha = await _commit_of_step(inp, wo, commit_message)
    if sha is None:
        return None
    return Earlier(StepOutput(status=StepStatus.COMPLETED, output=LOST_OUTPUT, commit_sha=sha), stored=False)


def _running_since(row: Step, wo: WorkOrder) -> bool:
    started = wo.execution_started_at
    return row.status == StepStatus.RUNNING and bool(row.started_at and started and row.started_at >= started)


async def _commit_of_step(inp: RunStepInput, wo: WorkOrder, message: Callable[[], str]) -> str | None:
    """The branch's newest commit when the step made it: new since the last stored progress, with
    the step's message. Steps run one after another in the sandbox, so nothing else made it."""
    path = Path(inp.handle.path)
    if not path.is_dir():
        return None
    try:
        head = await git("log", "-1", "--format=%H%x00%s", cwd=path)
        wanted = message()
    except ShipyardError:  # a broken tree, or a template that cannot render (so made no commit)
        return None
    sha, _, subject = head.strip().partition("\0")
    if sha in (wo.latest_commit_sha, inp.handle.base_sha):
        return None
    return sha if subject == subject_of(wanted) else None


def subject_of(message: str) -> str:
    """A commit message's subject as git shows it (`%s`): its first paragraph on one line."""
    first = message.strip().split("\n\n", 1)[0]
    return " ".join(line.rstrip() for line in first.splitlines())  # git trims line ends only
