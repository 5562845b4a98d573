"""The activities of WorkOrderWorkflow. Everything with side effects happens here."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from shipyard.agents.roles import RoleProfile
from shipyard.config import Settings
from shipyard.domain.budget import Budget, stored_budget
from shipyard.domain.errors import BudgetExceeded, InvalidInput, NotFound, ShipyardError, WorkflowInvalid
from shipyard.domain.events import EventSink
from shipyard.domain.models import SandboxHandle, SandboxSpec, StepStatus, Usage, WorkOrderStatus
from shipyard.domain.work_orders import BranchProgress, StepChange, WorkOrder, WorkOrderChange
from shipyard.engine import actions_step, forge_steps, roles_step, steps
from shipyard.engine.guard import BudgetGuard, Limit
from shipyard.engine.publish import Publisher, read_progress
from shipyard.engine.recovery import completed_earlier
from shipyard.engine.sandbox_env import sandbox_token, step_env
from shipyard.engine.sink import StoreSink, sink_for
from shipyard.engine.slots import agent_slot
from shipyard.engine.types import (
    FinishHereInput,
    FinishInput,
    GateInput,
    LoopIterationInput,
    PrepareResult,
    RunStepInput,
    SetStatusInput,
    StartWorkOrderInput,
    StepOutput,
)
from shipyard.logging import Redactor
from shipyard.sandboxes.registry import build_sandbox
from shipyard.store.store import Store
from shipyard.store.vault import reveal_secrets
from shipyard.workflows.loader import bind_inputs, resolve_definition
from shipyard.workflows.schema import WorkflowDefinition
from shipyard.workflows.structured import map_strings
from shipyard.workflows.templating import evaluate_condition, render


def now() -> datetime:
    return datetime.now(UTC)


def to_application_error(err: ShipyardError) -> ApplicationError:
    """Bad input and missing things are final; anything else may be retried by policy."""
    final = isinstance(err, InvalidInput | NotFound)
    return ApplicationError(err.message, type=err.code, non_retryable=final)


@contextlib.asynccontextmanager
async def heartbeating(interval_s: float) -> AsyncIterator[None]:
    """Heartbeat in the background so a dead worker is noticed and the step retried elsewhere."""

    async def beat() -> None:
        while True:  # the first after an interval: most bookkeeping activities end before it
            await asyncio.sleep(interval_s)
            activity.heartbeat()

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


T = TypeVar("T")


def beating(
    method: Callable[[WorkOrderActivities, T], Awaitable[None]],
) -> Callable[[WorkOrderActivities, T], Awaitable[None]]:
    """A bookkeeping activity that heartbeats while it runs (its workflow sets a heartbeat timeout)."""

    @functools.wraps(method)
    async def run(self: WorkOrderActivities, inp: T) -> None:
        async with heartbeating(self.beat_s):
            await method(self, inp)

    return run


class WorkOrderActivities:
    """Activities bound to this worker's settings, store and worker-specific task queue."""

    def __init__(self, settings: Settings, store: Store, worker_queue: str, redactor: Redactor) -> None:
        self.settings = settings
        self.store = store
        self.worker_queue = worker_queue
        self.redactor = redactor
        # Cancellation reaches an activity with a heartbeat's answer: beat often so cancel is prompt.
        self.beat_s = min(settings.heartbeat_timeout_s / 3, 1.0)
        self.publish = Publisher(settings, store)

    def sink(self, wo: WorkOrder, step_id: str | None = None, *secrets: str) -> StoreSink:
        """The work order's (or step's) events, with every secret we hold and `secrets` redacted;
        a step's are written in batches."""
        redactor = self.redactor.including(*secrets) if secrets else self.redactor
        return sink_for(self.settings, self.store, wo, step_id, redactor, batched=step_id is not None)

    @activity.defn(name="prepare_work_order")
    async def prepare(self, inp: StartWorkOrderInput) -> PrepareResult:
        wo = await self.store.get_work_order(inp.work_order_id)
        events = self.sink(wo)
        started = WorkOrderChange(status=WorkOrderStatus.RUNNING, execution_started_at=now())
        wo = await self.store.update_work_order(wo.id, started)
        await events.emit("workflow.started", {"workflow": inp.workflow_name, "agent": inp.agent})
        await self.publish.update_thread(wo, events)
        try:
            async with heartbeating(self.beat_s):
                handle = await self._setup_sandbox(inp, wo)
            if inp.definition is not None:  # resolved at creation, its inputs bound
                definition, inputs = inp.definition, inp.inputs
            else:
                definition, inputs = await self._resolve_in_repository(inp, wo, handle)
        except ShipyardError as err:
            await events.emit("workflow.prepare_failed", {"error": err.message}, level="error")
            raise to_application_error(err) from err
        return PrepareResult(
            handle=handle, definition=definition, inputs=inputs, task_queue=self.worker_queue
        )

    async def _resolve_in_repository(
        self, inp: StartWorkOrderInput, wo: WorkOrder, handle: SandboxHandle
    ) -> tuple[WorkflowDefinition, dict[str, Any]]:
        """A workflow the cloned repository defines, and the inputs bound to it; recorded."""
        definition = resolve_definition(
            inp.workflow_name, text=inp.workflow_text, source=inp.workflow_source, repo_path=Path(handle.path)
        )
        inputs = bind_inputs(definition, inp.inputs, inp.implicit_inputs)
        resolved = WorkOrderChange(
            workflow_type=definition.name, definition=definition.model_dump(mode="json")
        )
        await self.store.update_work_order(wo.id, resolved)
        return definition, inputs

    async def _setup_sandbox(self, inp: StartWorkOrderInput, wo: WorkOrder) -> SandboxHandle:
        if wo.sandbox and Path(wo.sandbox.path).exists():  # a retried attempt: reuse its tree
            return wo.sandbox
        sandbox = build_sandbox(inp.sandbox_type, self.settings)
        spec = SandboxSpec(
            work_order_id=wo.id,
            repository_url=inp.repository_url,
            branch=inp.branch,
            base_branch=inp.base_branch,
            git_token=await self.publish.forge(wo).git_token(required=True),
        )
        handle = await sandbox.setup(spec)
        ready = WorkOrderChange(git_branch_name=handle.branch, base_branch=handle.base_branch, sandbox=handle)
        await self.store.update_work_order(wo.id, ready)
        await self.sink(wo).emit(
            "sandbox.ready", {"sandbox_type": handle.sandbox_type, "branch": handle.branch}
        )
        return handle

    @activity.defn(name="run_step")
    async def run_step(self, inp: RunStepInput) -> StepOutput:
        """One step: skipped by its `when`, or run and committed; its result and the branch's
        progress recorded, the branch pushed along. A failure is raised for the workflow's retries."""
        wo = await self.store.get_work_order(inp.work_order_id)
        token = sandbox_token(self.settings, wo)
        events = self.sink(wo, inp.row_id, token)
        message = functools.partial(self._commit_message, inp) if inp.step.commit else None
        earlier = await completed_earlier(self.store, inp, wo, activity.info().attempt, message)
        if earlier is not None:
            if not earlier.stored and await self._record(inp, wo, earlier.output):
                await self.publish.follow_along(wo, inp.handle, events)
            return await self._report_earlier(inp, wo, earlier.output, events)
        try:
            result = await self._attempt(inp, wo, events, token)
        except asyncio.CancelledError:
            await events.flush()
            cancelled = StepChange(status=StepStatus.CANCELLED, completed_at=now())
            await self.store.upsert_step(wo.id, inp.row_id, cancelled)
            await events.emit("workflow.step.cancelled", {}, level="warning")
            raise
        if result is None:
            return StepOutput(status=StepStatus.SKIPPED)
        await events.flush()
        out = result.output  # what the step printed may hold a secret it was given
        out.output = events.redact(out.output)
        out.error = events.redact(out.error) if out.error else None
        out.output_data = map_strings(out.output_data, events.redact)
        if await self._record(inp, wo, out) and inp.step.kind != "pr":
            await self.publish.follow_along(wo, inp.handle, events)
        return await self._report(inp, result, events)

    async def _report_earlier(
        self, inp: RunStepInput, wo: WorkOrder, out: StepOutput, events: StoreSink
    ) -> StepOutput:
        """Finish what the attempt that completed the step may not have: its last event."""
        recent = await self.store.last_events(wo.id, limit=50)
        if not any(e.type == "workflow.step.completed" and e.step_id == inp.row_id for e in recent):
            await events.emit("workflow.step.completed", {"commit_sha": out.commit_sha})
        attempt = activity.info().attempt
        await events.emit("workflow.step.reused", {"attempt": attempt, "commit_sha": out.commit_sha})
        return out

    async def _attempt(
        self, inp: RunStepInput, wo: WorkOrder, events: StoreSink, token: str
    ) -> steps.StepRun | None:
        """Run the step with its secrets, under its budget, and commit what it changed; None when
        its `when` skips it. A failure is a result, not an exception."""
        role = await roles_step.profile_for(self.store, inp, wo)
        limits = await self._limits(inp, wo, role[0] if role else None)
        guard = BudgetGuard(events, limits) if limits else None
        try:
            if inp.step.when and not evaluate_condition(inp.step.when, steps.template_context(inp)):
                await self._skip(inp, events)
                return None
            async with heartbeating(self.beat_s), agent_slot(self.store, self.settings, inp, wo, events):
                await self._mark_started(inp, wo)
                attempt = activity.info().attempt
                await events.emit("workflow.step.started", {"kind": inp.step.kind, "attempt": attempt})
                secrets = await reveal_secrets(
                    self.settings.secrets_key, self.store, wo.project_id, inp.secret_names
                )
                events.hide(*secrets.values())
                env = step_env(self.settings, wo, inp.row_id, token) | secrets
                result = await self._execute(inp, wo, guard or events, env, role, events.redact)
                if result.output.status == StepStatus.COMPLETED and inp.step.commit:
                    result.output.commit_sha = await self._commit(inp, events)
            return result
        except BudgetExceeded as err:
            spent, session_id = (guard.run_usage, guard.session_id) if guard else (Usage(), None)
            return steps.failed(
                err.message, retryable=False, error_type=err.code, usage=spent, session_id=session_id
            )
        except ShipyardError as err:
            retryable = not isinstance(err, InvalidInput)
            return steps.failed(err.message, retryable=retryable, error_type=err.code)

    async def _limits(self, inp: RunStepInput, wo: WorkOrder, role: RoleProfile | None = None) -> list[Limit]:
        """The budgets the step runs under: the work order's, the step's own (else its role's), and
        every ancestor work order's (against what that ancestor has spent, its children's spend
        included)."""
        limits = [Limit(inp.budget, wo.usage)] if inp.budget else []
        if inp.step.budget is not None:
            limits.append(Limit(Budget.model_validate(inp.step.budget.model_dump()), Usage(), "the step's "))
        elif role is not None and (budget := roles_step.role_budget(role)) is not None:
            limits.append(Limit(budget, Usage(), f"the {role.type} role's "))
        for ancestor in await self._ancestors(wo):
            if (budget := stored_budget(ancestor)) is not None:
                limits.append(Limit(budget, ancestor.usage, f"{ancestor.id}'s "))
        return limits

    async def _ancestors(self, wo: WorkOrder) -> list[WorkOrder]:
        """The work orders `wo` is a child of, nearest first."""
        found: list[WorkOrder] = []
        while (parent_id := (found[-1] if found else wo).parent_id) is not None:
            found.append(await self.store.get_work_order(parent_id))
        return found

    async def _report(self, inp: RunStepInput, result: steps.StepRun, events: StoreSink) -> StepOutput:
        """The step's last event; a failure raised, final once its retries are used up."""
        out = result.output
        if out.status == StepStatus.FAILED:
            await events.emit("workflow.step.failed", {"error": out.error}, level="error")
            final = not result.retryable or activity.info().attempt > inp.step.retries
            # BENIGN: a failed step is an outcome, already logged as the event above; Temporal
            # would otherwise log this exception's traceback as a warning at every failure.
            raise ApplicationError(
                out.error or "failed",
                out.model_dump(mode="json"),  # what it printed and its exit code, for later steps
                type=result.error_type,
                non_retryable=final,
                category=ApplicationErrorCategory.BENIGN,
            )
        await events.emit("workflow.step.completed", {"commit_sha": out.commit_sha})
        return out

    async def _skip(self, inp: RunStepInput, events: StoreSink) -> None:
        skipped = StepChange(
            position=inp.position, kind=inp.step.kind, phase=inp.step.phase, status=StepStatus.SKIPPED
        )
        await self.store.upsert_step(inp.work_order_id, inp.row_id, skipped)
        await events.emit("workflow.step.skipped", {"when": inp.step.when})

    async def _mark_started(self, inp: RunStepInput, wo: WorkOrder) -> None:
        step = inp.step
        started = StepChange(
            position=inp.position, kind=step.kind, phase=step.phase,
            agent=(step.agent or inp.agent) if step.kind == "prompt" else None,
            status=StepStatus.RUNNING, attempt=activity.info().attempt, started_at=now(),
            completed_at=None, error=None, output=None,
        )  # fmt: skip
        await self.store.upsert_step(wo.id, inp.row_id, started)
        if step.phase:
            await self.store.update_work_order(wo.id, WorkOrderChange(current_phase=step.phase))

    async def _execute(
        self,
        inp: RunStepInput,
        wo: WorkOrder,
        events: EventSink,
        env: dict[str, str],
        role: tuple[RoleProfile, str | None] | None = None,
        known: Callable[[str], str] = str,
    ) -> steps.StepRun:
        """Run the step (`role`: a prompt step's profile, and the onboarding document the store
        keeps for it; `known` hides the secrets the step knows from what its role reads)."""
        sandbox = build_sandbox(inp.handle.sandbox_type, self.settings)
        network = inp.network and (role is None or "network" in role[0].tools)
        workspace = sandbox.workspace(inp.handle, network=network, env=env)
        timeout_s = inp.step_timeout_s
        if inp.step.kind == "run":
            return await steps.run_command(inp, workspace, events, timeout_s)
        if inp.step.kind == "prompt" and role is not None:
            profile, doc = role
            return await roles_step.run_as_role(
                profile, doc, inp, wo, workspace, events, known, self.settings, self.store, timeout_s
            )
        if inp.step.kind == "prompt":
            return await steps.run_prompt(inp, workspace, events, self.settings, timeout_s)
        if inp.step.kind == "pr":
            forge = self.publish.forge(wo)

            async def body() -> str:
                return await self.publish.pr_body(wo.id, inp.handle)

            run, url = await steps.open_pr(inp, forge, events, body)
            await self.store.update_work_order(wo.id, WorkOrderChange(github_pull_request_url=url))
            return run
        if inp.step.kind == "review":
            return await forge_steps.post_review(inp, self.publish.forge(wo), events)
        if inp.step.kind == "reply":
            return await forge_steps.post_replies(inp, self.publish.forge(wo), events)
        if inp.step.kind == "actions":
            forge = self.publish.forge(wo)
            run_id = activity.info().workflow_run_id or ""
            return await actions_step.run_in_actions(inp, wo, forge, self.store, events, run_id)
        raise InvalidInput(f"step '{inp.step.id}': '{inp.step.kind}' steps are not supported yet")

    def _commit_message(self, inp: RunStepInput) -> str:
        assert inp.step.commit is not None
        return (
            inp.step.commit if inp.literal else render(inp.step.commit, steps.template_context(inp)).strip()
        )

    async def _commit(self, inp: RunStepInput, events: StoreSink) -> str | None:
        message = self._commit_message(inp)
        return await steps.commit_changes(inp.handle, message, inp.step.phase, events)

    async def _record(self, inp: RunStepInput, wo: WorkOrder, out: StepOutput) -> int:
        """Store the step's result and the branch's progress; the branch's commit count."""
        ended = StepChange(
            status=out.status, completed_at=now(), exit_code=out.exit_code, output=out.output,
            error=out.error, commit_sha=out.commit_sha, usage=out.usage, output_data=out.output_data,
        )  # fmt: skip
        await self.store.upsert_step(wo.id, inp.row_id, ended)
        progress = await self.note_progress(wo.id, inp.handle, out)
        return progress.commit_count

    async def note_progress(
        self, work_order_id: str, handle: SandboxHandle, out: StepOutput | None = None
    ) -> BranchProgress:
        """Store the branch's progress and what the step `out` spent, added to the work order's
        usage and its ancestors' in place (steps that end at once all count, children in parents)."""
        progress = await read_progress(handle)
        change = WorkOrderChange(progress=progress)
        if out is not None and out.session_id:
            change.agent_session_id = out.session_id
        wo = await self.store.update_work_order(work_order_id, change)
        if out is not None and out.usage != Usage():
            ancestors = [a.id for a in await self._ancestors(wo)]
            await self.store.add_usage([work_order_id, *ancestors], out.usage)
        return progress

    @activity.defn(name="record_gate")
    @beating
    async def record_gate(self, inp: GateInput) -> None:
        """A step the workflow runs itself: a gate as it waits and as it is answered, a loop as it
        starts, goes round and ends."""
        waiting = inp.status == StepStatus.WAITING
        error = inp.output if inp.status == StepStatus.FAILED else None
        gate = StepChange(
            position=inp.position, kind=inp.kind, phase=inp.phase, status=inp.status, output=inp.output,
            error=error, completed_at=None if waiting else now(), output_data=inp.output_data,
        )  # fmt: skip
        if waiting:
            gate.started_at = now()
        await self.store.upsert_step(inp.work_order_id, inp.step_id, gate)
        wo = await self.store.get_work_order(inp.work_order_id)
        event = "workflow.gate.waiting" if waiting else f"workflow.gate.{inp.status.value}"
        if inp.kind != "gate":
            event = f"workflow.{inp.kind}.{inp.status.value}"
        await self.sink(wo, inp.step_id).emit(event, {"message": inp.message, "response": inp.output})

    @activity.defn(name="end_loop_iteration")
    async def end_loop_iteration(self, inp: LoopIterationInput) -> bool:
        """Whether the loop's `until` holds after iteration `inp.iteration`; the loop's row says
        where it stands. A condition that cannot be evaluated fails the loop (not retried)."""
        assert inp.step.loop is not None
        try:
            done = evaluate_condition(inp.step.loop.until, steps.template_context(inp))
        except WorkflowInvalid as err:
            raise ApplicationError(
                f"loop '{inp.step.id}': until: {err.message}", type=err.code, non_retryable=True
            ) from None
        state = "until holds" if done else "until does not hold yet"
        row = StepChange(
            output=f"iteration {inp.iteration} of at most {inp.step.loop.max_iterations}: {state}"
        )
        await self.store.upsert_step(inp.work_order_id, inp.step.id, row)
        return done

    @activity.defn(name="set_work_order_status")
    @beating
    async def set_status(self, inp: SetStatusInput) -> None:
        """Pause and resume as they take effect (between steps)."""
        wo = await self.store.get_work_order(inp.work_order_id)
        event = "workflow.paused" if inp.status == WorkOrderStatus.PAUSED else "workflow.resumed"
        await self.sink(wo).emit_with(WorkOrderChange(status=inp.status), event, {"step_id": None})

    @activity.defn(name="finish_work_order")
    @beating
    async def finish(self, inp: FinishInput) -> None:
        wo = await self.store.get_work_order(inp.work_order_id)
        events = self.sink(wo)
        ending = WorkOrderChange(status=inp.status, error_message=inp.error)
        handle = inp.handle or wo.sandbox  # a cancelled set-up may have left a tree behind
        if handle is not None and Path(handle.path).exists():
            ending.progress = await self._wrap_up_sandbox(handle, wo, ending, events, inp.open_pr)
        if wo.status.is_terminal:
            return  # a retried finish: the first attempt got this far
        for prompt in inp.dropped_prompts:
            reason = f"the work order was {inp.status.value} before this prompt could run"
            await events.emit("agent.prompt_dropped", {"prompt": prompt, "reason": reason}, level="warning")
        if inp.status == WorkOrderStatus.COMPLETED:
            ending.current_phase = "completed"
        ending.execution_completed_at = now()
        latest = await self.store.get_work_order(wo.id)  # the pull request may have opened meanwhile
        await self.publish.update_thread(latest.changed(ending), events)
        level = "info" if inp.status == WorkOrderStatus.COMPLETED else "error"
        await events.emit_with(ending, f"workflow.{inp.status.value}", {"error": inp.error}, level)

    @activity.defn(name="finish_work_order_here")
    async def finish_here(self, inp: FinishHereInput) -> bool:
        """`finish` where this worker serves `inp.task_queue` (the sandbox's host, or the shared
        queue for a work order that never got one); False, having done nothing, elsewhere."""
        if inp.task_queue not in (self.worker_queue, self.settings.task_queue):
            return False
        await self.finish(inp.finish)
        return True

    async def _wrap_up_sandbox(
        self, handle: SandboxHandle, wo: WorkOrder, ending: WorkOrderChange, events: StoreSink, open_pr: bool
    ) -> BranchProgress:
        """Commit what agents left (not what `run` steps left, nor caches), read progress, push the
        branch, open its pull request when asked (`open_pr`), bring the pull request's description
        up to date (as the work order will be after `ending`), remove the working tree."""
        message = f"chore: uncommitted changes of {wo.id}"
        await steps.commit_leftovers(handle, message, wo.current_phase, events)
        progress = await read_progress(handle)
        if progress.commit_count:
            await self.publish.push(wo, handle, events)
            if open_pr and (url := await self.publish.open_pr(wo, handle, events)):
                ending.github_pull_request_url = url
            if not wo.status.is_terminal:  # a retried finish: the first attempt wrote it
                final = wo.changed(ending.model_copy(update={"progress": progress}))
                await self.publish.final_pr_body(final, handle, events)
        await build_sandbox(handle.sandbox_type, self.settings).cleanup(handle)
        await events.emit("sandbox.removed", {"path": handle.path})
        return progress
