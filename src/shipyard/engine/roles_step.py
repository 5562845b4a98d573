"""A prompt step with a `role:` (agents/roles.py): the agent runs as that profile.

Before the agent starts, the profile's context packs are written to `.shipyard/context/` in the
working tree (and listed in an `agent.context` event); the agent is told its role and those files
before its prompt; the files are taken away again before anything is committed. Where Shipyard
can, it holds the agent to the profile: a role without the `network` tool runs with the network
off (sandboxes that can forbid it), one without `edit` may change no file (what it changed is
put back as it was before the agent ran and the step fails, naming the files; new caches and
build output such as `__pycache__/` do not count), and the profile's budget applies when the step
has none of its own. The profile's `agent` and `model`, when set, serve the step unless it names its
own (seed 002's "Nemotron" roles on an OpenAI-compatible model, its "Cursor" roles on a CLI).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from shipyard.agents import context
from shipyard.agents.roles import RoleProfile, applied, builtin_profile, stored_doc
from shipyard.config import Settings
from shipyard.domain.budget import Budget
from shipyard.domain.events import EventSink
from shipyard.domain.models import StepStatus
from shipyard.domain.work_orders import WorkOrder
from shipyard.engine.steps import StepRun, failed, run_prompt
from shipyard.engine.types import RunStepInput
from shipyard.gitutil.leftovers import Fingerprints, uncommitted
from shipyard.gitutil.run import run_git
from shipyard.sandboxes.base import Workspace
from shipyard.store.store import Store


async def profile_for(
    store: Store, inp: RunStepInput, wo: WorkOrder
) -> tuple[RoleProfile, str | None] | None:
    """The step's role with the store's overrides (install-wide, then the project's), and the
    onboarding document the store keeps for it, if any; None for a step without a role."""
    if inp.step.role is None:
        return None
    overrides = (await store.role_overrides(wo.project_id)).get(inp.step.role, [])
    return applied(builtin_profile(inp.step.role), *overrides), stored_doc(overrides)


def role_budget(profile: RoleProfile) -> Budget | None:
    """The profile's limits, as a step's budget."""
    if profile.budget is None:
        return None
    return Budget(max_turns=profile.budget.max_turns, max_cost_usd=profile.budget.max_cost_usd)


async def run_as_role(
    profile: RoleProfile,
    stored_doc: str | None,
    inp: RunStepInput,
    wo: WorkOrder,
    workspace: Workspace,
    events: EventSink,
    known: Callable[[str], str],
    settings: Settings,
    store: Store,
    timeout_s: float,
) -> StepRun:
    """Run the prompt step as `profile` (see the module's note)."""
    if not profile.enabled:
        return failed(f"role '{profile.type}' is disabled here (PUT /api/agents/{profile.type}/onboarding)",
                      retryable=False)  # fmt: skip
    repo = Path(workspace.path)
    local = repo.is_dir()  # a remote sandbox's tree (e2b) is not on this machine
    files = await context.gather(profile, repo, store, wo, known, stored_doc) if local else []
    listed = [
        {"name": str(context.CONTEXT_DIR / f.name), "pack": f.pack, "chars": len(f.text), "cut": f.cut,
         "redacted": f.redacted}
        for f in files
    ]  # fmt: skip
    note = None if local else "the sandbox's working tree is not on this machine: no context files"
    await events.emit("agent.context", {"role": profile.type, "files": listed, "note": note})
    agent = inp.step.agent or profile.agent or inp.agent
    step = inp.step.model_copy(update={"model": inp.step.model or profile.model})
    as_role = inp.model_copy(update={"agent": agent, "step": step})
    guarded = local and "edit" not in profile.tools
    before = await _Snapshot.take(repo) if guarded else None
    try:
        if local:
            await context.keep_out_of_git(repo)
            context.write(repo, files)
        run = await run_prompt(
            as_role, workspace, events, settings, timeout_s, preamble=context.preamble(profile, files)
        )
    finally:
        if local:
            context.remove(repo)
    if before is None or run.output.status != StepStatus.COMPLETED:
        return run
    changed, kept = await before.restore(repo)
    if not changed:
        return run
    names = ", ".join(changed[:10]) + (f" and {len(changed) - 10} more" if len(changed) > 10 else "")
    undone = f" (undone but {', '.join(kept)})" if kept else " (undone)"
    return failed(f"role '{profile.type}' may not change files; it changed {names}{undone}",
                  retryable=False, output=run.output.output, usage=run.output.usage)  # fmt: skip


class _Snapshot:
    """The working tree before a read-only role's agent ran: what differed from HEAD (by content)
    and a commit of the tracked files as they were (`git stash create`), to put back what it changed."""

    def __init__(self, dirty: Fingerprints, base: str) -> None:
        self.dirty, self.base = dirty, base

    @classmethod
    async def take(cls, repo: Path) -> _Snapshot:
        stashed = (await run_git("stash", "create", cwd=repo)).stdout.strip()
        return cls(await uncommitted(repo), stashed or "HEAD")

    async def restore(self, repo: Path) -> tuple[list[str], list[str]]:
        """Put back each file that differs now from then (new caches aside): (those, and those that
        could not be: untracked files it changed, which no commit holds)."""
        now = await uncommitted(repo)
        changed = sorted(n for n in self.dirty.keys() | now.keys() if self.dirty.get(n, "") != now.get(n, ""))
        kept = []
        for name in changed:
            if (await run_git("cat-file", "-e", f"{self.base}:{name}", cwd=repo)).ok:
                await run_git("checkout", self.base, "--", name, cwd=repo)
                await run_git("reset", "-q", "--", name, cwd=repo)  # as it was: not staged
            elif name not in self.dirty:
                (repo / name).unlink(missing_ok=True)  # a file it made
            else:
                kept.append(name)
        return changed, kept
