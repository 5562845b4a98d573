"""WorkOrderWorkflow: interprets a resolved definition step by step as activities.

Determinism wall: this module imports only typed payloads; git, agents, sandboxes and the
database run in activities (engine/activities.py), referenced here by name.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    FailureError,
    WorkflowAlreadyStartedError,
)
from temporalio.workflow import (
    ActivityCancellationType,
    ActivityHandle,
    ChildWorkflowCancellationType,
    ChildWorkflowHandle,
    ParentClosePolicy,
)

with workflow.unsafe.imports_passed_through():
    from shipyard.domain.budget import Budget
    from shipyard.domain.models import StepStatus, WorkOrderStatus
    from shipyard.engine.types import (
        CallEndInput,
        CallInput,
        CallPlan,
        CheckReport,
        ChildEndInput,
        ChildInput,
        ChildPlan,
        ChildResult,
        FinishHereInput,
        FinishInput,
        GateChecks,
        GateInput,
        GateStart,
        LoopIterationInput,
        PrepareResult,
        RunStepInput,
        SetStatusInput,
        StartWorkOrderInput,
        StepOutput,
        WorkOrderOutcome,
    )
    from shipyard.workflows import graph
    from shipyard.workflows.schema import StepDef

PREPARE_TIMEOUT = timedelta(minutes=30)
# The patch under which the prepare and, on the sandbox's host, the finish became local activities.
LOCAL_BOOKKEEPING = "local-bookkeeping"
# The patch under which a gate counts only checks of its branch's head commit.
CHECKS_ON_HEAD = "checks-on-head"
FINISH_TIMEOUT = timedelta(minutes=10)
# Errors that no retry can fix: bad definitions, unknown names, missing repositories.
NON_RETRYABLE = ["invalid_input", "workflow_invalid", "not_found"]
LOST_WORKER_ATTEMPTS = 3
PASSING = ("success", "neutral", "skipped")
FAILING = ("failure", "cancelled", "timed_out", "action_required", "startup_failure", "error")
UNRECORDED_END = "unrecorded_end"  # the failure type of a workflow whose finish could not write
# Rows are listed by position: step i at i * POSITION_STRIDE, a loop's runs numbered after it,
# follow-up prompts after every step of the workflow.
POSITION_STRIDE = 1000
FOLLOWUP_POSITION = 1_000_000_000
T = TypeVar("T")


def failure_message(err: BaseException) -> str:
    """The innermost application error's message (what the activity raised)."""
    cause: BaseException | None = err
    while isinstance(cause, ActivityError | ChildWorkflowError) and cause.cause is not None:
        cause = cause.cause
    return cause.message if isinstance(cause, ApplicationError) else str(cause)


def failed_output(err: ActivityError, message: str) -> StepOutput:
    """A failed step's output as later steps see it: `message`, and what the step printed and its
    exit code when the activity gave them (a step's own failure does; a lost worker does not)."""
    cause = err.cause
    details = cause.details if isinstance(cause, ApplicationError) else ()
    try:
        reported = StepOutput.model_validate(details[0]) if details else None
    except ValueError:
        reported = None
    if reported is None:
        return StepOutput(status=StepStatus.FAILED, error=message)
    return reported.model_copy(update={"status": StepStatus.FAILED, "error": message})


def unrecorded_end(status: WorkOrderStatus, error: str | None, err: ActivityError) -> ApplicationError:
    """The workflow's failure when the store could not be told how the work order ended: it keeps
    the real outcome (in its details) for the reconciler to record once the store can be written."""
    why = failure_message(err)
    return ApplicationError(
        f"{error or status.value}; recording it failed: {why}",
        status.value,
        error,
        why,
        type=UNRECORDED_END,
        non_retryable=True,
    )


def effective_budget(inp: StartWorkOrderInput, prep: PrepareResult) -> Budget | None:
    """The work order's own budget, else its workflow's."""
    if inp.budget is not None:
        return inp.budget
    spec = prep.definition.budget
    return Budget.model_validate(spec.model_dump()) if spec else None


def step_retry_policy(step: StepDef) -> RetryPolicy:
    """The activity marks its own failures final once `retries` is used up; the extra attempts are
    for infrastructure: a worker that died mid-step (heartbeat timeout) is retried."""
    return RetryPolicy(
        maximum_attempts=step.retries + 1 + LOST_WORKER_ATTEMPTS,
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        non_retryable_error_types=NON_RETRYABLE,
    )


async def activity_result(handle: ActivityHandle[T], activity: str) -> T:
    """An activity's result. A local activity's failure reaches the workflow bare (the activity's
    ApplicationError, a TimeoutError or a CancelledError) where a scheduled activity's comes as an
    ActivityError around it: wrapped alike here, so that both are handled the same way."""
    try:
        return await handle
    except ActivityError:
        raise
    except FailureError as err:
        raise ActivityError(
            f"local activity {activity} failed",
            scheduled_event_id=0,
            started_event_id=0,
            identity="",
            activity_type=activity,
            activity_id="",
            retry_state=None,
        ) from err


def is_cancellation(err: BaseException) -> bool:
    return isinstance(err, asyncio.CancelledError) or (
        isinstance(err, ActivityError | ChildWorkflowError) and isinstance(err.cause, CancelledError)
    )


@workflow.defn(name="WorkOrder")
class WorkOrderWorkflow:
    """One work order: prepare the sandbox, run each step, then finish (progress, push, cleanup).

    Signals: `pause` (takes effect between steps), `resume`, `cancel` (also cancels the running
    activity, which kills its process group). A Temporal-native cancel is handled like `cancel`.
    """

    def __init__(self) -> None:
        self._started_steps: list[str] = []  # running now, in the order they started
        self._outputs: dict[str, StepOutput] = {}
        self._paused = False
        self._stop: tuple[WorkOrderStatus, str] | None = None  # why the steps must end early
        self._running: dict[str, ActivityHandle[Any]] = {}  # activities to cancel on a stop, by step
        self._failing = False  # a step failed: the others (and running children) are being stopped
        self._children: dict[str, ChildWorkflowHandle[Any, Any]] = {}  # running child work orders, by id
        self._sending: set[asyncio.Task[None]] = set()  # signals on their way to children
        self._prompts: list[str] = []  # follow-ups a user sent, delivered after the running step
        self._followups = 0
        self._last_agent: tuple[str, str | None] | None = None  # (agent, session) of the last agent step
        self._gate: str | None = None  # the gate step waiting now
        self._gate_answer: tuple[StepStatus, str] | None = None
        self._checks: dict[str, CheckReport] = {}  # CI check name → how it ended, as last reported
        self._gate_sha = ""  # the commit whose checks the waiting gate counts ("": any)

    @workflow.query
    def state(self) -> dict[str, Any]:
        return {
            "current_step": self._started_steps[0] if self._started_steps else None,
            "running_steps": list(self._started_steps),
            "paused": self._paused,
            "gate": self._gate,
            "stopping": self._stop[1] if self._stop else None,
            "steps": {k: v.status.value for k, v in self._outputs.items()},
        }

    @workflow.signal
    def pause(self, reason: str | None = None) -> None:
        self._paused = True
        self._tell_children("pause", reason)

    @workflow.signal
    def resume(self, reason: str | None = None) -> None:
        self._paused = False
        self._tell_children("resume", reason)

    def _tell_children(self, signal: str, reason: str | None, only: str | None = None) -> None:
        """Pass a pause or resume on to the running child work orders (or child `only`)."""
        why = f"parent {workflow.info().workflow_id}" + (f": {reason}" if reason else "")
        for child_id, handle in self._children.items():
            if only is None or child_id == only:
                sending = asyncio.create_task(handle.signal(signal, why))
                self._sending.add(sending)
                sending.add_done_callback(self._sending.discard)

    @workflow.signal
    def approve(self, response: str = "") -> None:
        if self._gate is not None:
            self._gate_answer = (StepStatus.COMPLETED, response)

    @workflow.signal
    def advance(self) -> None:
        if self._gate is not None:
            self._gate_answer = (StepStatus.SKIPPED, "")

    @workflow.signal
    def ci_status(self, status: dict[str, Any]) -> None:
        name, conclusion = status.get("name"), status.get("conclusion")
        if isinstance(name, str) and isinstance(conclusion, str):
            url, sha = status.get("url"), status.get("sha")
            report = CheckReport(
                name=name,
                conclusion=conclusion,
                url=url if isinstance(url, str) else "",
                sha=sha if isinstance(sha, str) else "",
            )
            if not self._stale(report):
                self._checks[name] = report

    def _stale(self, report: CheckReport) -> bool:
        """A report on another commit than the one the gate waits on (an earlier push's run)."""
        return bool(self._gate_sha and report.sha and report.sha != self._gate_sha)

    def _checks_verdict(self, wanted: list[str]) -> tuple[StepStatus, str] | None:
        """How the named checks ended: failed as soon as one fails, passed once all pass."""
        failed = [
            self._checks[n] for n in wanted if n in self._checks and self._checks[n].conclusion in FAILING
        ]
        if failed:
            said = [
                f"check '{c.name}' concluded {c.conclusion}" + (f" ({c.url})" if c.url else "")
                for c in failed
            ]
            return StepStatus.FAILED, "; ".join(said)
        if wanted and all(n in self._checks and self._checks[n].conclusion in PASSING for n in wanted):
            return StepStatus.COMPLETED, "checks passed: " + ", ".join(wanted)
        return None

    def _checks_seen(self, wanted: list[str]) -> dict[str, Any]:
        """Each named check as the gate last heard of it (`conclusion` None: not reported)."""
        heard = [
            self._checks[n].model_dump() if n in self._checks else {"name": n, "conclusion": None}
            for n in wanted
        ]
        return {"checks": heard}

    @workflow.signal
    def prompt(self, text: str) -> None:
        self._prompts.append(text)

    @workflow.signal
    def cancel(self, reason: str | None = None) -> None:
        self._halt(WorkOrderStatus.CANCELLED, f"cancelled: {reason}" if reason else "cancelled")

    def _halt(self, status: WorkOrderStatus, reason: str) -> None:
        """End the work order early: running activities are cancelled, no further step starts."""
        self._stop = self._stop or (status, reason)
        for handle in self._running.values():
            handle.cancel()

    async def _deadline(self, inp: StartWorkOrderInput, prep: PrepareResult) -> None:
        limit_s = prep.definition.timeout_s or inp.work_order_timeout_s
        reason = f"timeout: the work order ran longer than {limit_s:g} s"
        budget = effective_budget(inp, prep)
        if budget and budget.max_duration_s and budget.max_duration_s < limit_s:
            limit_s = budget.max_duration_s
            reason = f"budget_exceeded: max_duration {limit_s:g} s"
        started = workflow.info().start_time
        await asyncio.sleep(max(limit_s - (workflow.now() - started).total_seconds(), 0))
        self._halt(WorkOrderStatus.FAILED, reason)

    @workflow.run
    async def run(self, inp: StartWorkOrderInput) -> WorkOrderOutcome:
        prep: PrepareResult | None = None
        error: str | None = None
        try:
            prep = await self._prepare(inp)
            if prep is not None:
                error = await self._run_with_deadline(inp, prep)
        except ActivityError as err:
            error = failure_message(err)
        except asyncio.CancelledError:  # cancelled through Temporal itself
            self._stop = self._stop or (WorkOrderStatus.CANCELLED, "cancelled")
            await self._finish(inp, prep, *self._stop)
            raise
        if self._stop:
            return await self._finish(inp, prep, *self._stop)
        status = WorkOrderStatus.FAILED if error else WorkOrderStatus.COMPLETED
        return await self._finish(inp, prep, status, error)

    async def _run_with_deadline(self, inp: StartWorkOrderInput, prep: PrepareResult) -> str | None:
        timer = asyncio.create_task(self._deadline(inp, prep))
        try:
            return await self._run_steps(inp, prep)
        finally:
            timer.cancel()

    async def _prepare(self, inp: StartWorkOrderInput) -> PrepareResult | None:
        """The sandbox set up, on whichever worker runs this workflow task: it becomes the work
        order's host (`prep.task_queue`). A local activity, run inside the workflow task: four
        Temporal requests fewer than a scheduled one (bench/hops.py). A worker lost in it is
        noticed when the workflow task times out, and the next worker runs it again (setup reuses
        a tree already made). Work orders started before it was local replay as they ran."""
        common: dict[str, Any] = {
            "result_type": PrepareResult,
            "start_to_close_timeout": PREPARE_TIMEOUT,
            "retry_policy": RetryPolicy(maximum_attempts=3, non_retryable_error_types=NON_RETRYABLE),
            "cancellation_type": ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        }
        if workflow.patched(LOCAL_BOOKKEEPING):
            handle = workflow.start_local_activity("prepare_work_order", inp, **common)
        else:
            heartbeat = timedelta(seconds=inp.heartbeat_timeout_s)
            handle = workflow.start_activity("prepare_work_order", inp, heartbeat_timeout=heartbeat, **common)
        self._running["prepare"] = handle
        try:
            prep: PrepareResult = await activity_result(handle, "prepare_work_order")
            return prep
        except ActivityError as err:
            if is_cancellation(err):
                return None
            raise
        finally:
            del self._running["prepare"]

    async def _run_steps(self, inp: StartWorkOrderInput, prep: PrepareResult) -> str | None:
        """Start each step once every step it depends on has ended, several at once where the
        graph allows; the first failure (without `continue_on_error`) stops the rest. Steps before
        `start_at` (a retry) ended in the earlier run, their outputs given; those not given run."""
        self._outputs.update(inp.previous)
        steps = prep.definition.steps
        ids = [step.id for step in steps]
        first = ids.index(inp.start_at) if inp.start_at in ids else 0
        deps = graph.dependencies(steps)
        waiting = {
            step.id: (position, step)
            for position, step in enumerate(steps)
            if position >= first or step.id not in inp.previous
        }
        tasks: dict[str, asyncio.Task[str | None]] = {}
        error: str | None = None
        while waiting or tasks:
            if error is None and not self._stop and not tasks:
                await self._hold_while_paused(inp)  # a pause takes effect once no step runs
            if error is None and not self._stop and not (self._paused and tasks):
                for step_id in [s for s in waiting if not (set(deps[s]) & (waiting.keys() | tasks.keys()))]:
                    position, step = waiting.pop(step_id)
                    self._started_steps.append(step_id)
                    row_position = position * POSITION_STRIDE
                    tasks[step_id] = asyncio.create_task(self._one_step(inp, prep, step, row_position))
            if not tasks:
                break  # a stop or a failure: what waits never starts
            await workflow.wait_condition(lambda: any(task.done() for task in tasks.values()))
            for step_id in [s for s, task in tasks.items() if task.done()]:
                self._started_steps.remove(step_id)
                failed = tasks.pop(step_id).result()
                if failed and error is None:
                    error, self._failing = failed, True
                    for handle in self._running.values():  # the work order fails: stop the others
                        handle.cancel()
            if error is None and not tasks:
                await self._deliver_prompts(inp, prep, steps[ids.index(step_id)])
        return None if self._stop else error

    async def _one_step(
        self, inp: StartWorkOrderInput, prep: PrepareResult, step: StepDef, position: int
    ) -> str | None:
        """Run one step and keep its output; the failure that ends the work order, if it does."""
        try:
            if step.kind in ("gate", "loop", "call"):
                runs: dict[str, Callable[[StartWorkOrderInput, StepDef, int], Awaitable[StepOutput]]] = {
                    "gate": functools.partial(self._wait_at_gate, prep=prep),
                    "loop": functools.partial(self._run_loop, prep=prep),
                    "call": functools.partial(self._run_call, prep=prep),
                }
                run = runs[step.kind]
                ended = self._outputs[step.id] = await run(inp, step, position)
                if ended.status == StepStatus.FAILED and not step.continue_on_error:
                    return f"step '{step.id}' failed: {ended.error}"
            else:
                self._outputs[step.id] = await self._run_step(inp, prep, step, position)
                self._remember_agent(inp, step, self._outputs[step.id])
        except ActivityError as err:
            if is_cancellation(err) or self._stop:
                self._outputs[step.id] = StepOutput(status=StepStatus.CANCELLED)
                return None
            message = f"step '{step.id}' failed: {failure_message(err)}"
            self._outputs[step.id] = failed_output(err, message)
            if not step.continue_on_error:
                return message
        return None

    async def _run_loop(
        self, inp: StartWorkOrderInput, step: StepDef, position: int, *, prep: PrepareResult
    ) -> StepOutput:
        """Run the loop's steps in order, iteration after iteration, until its `until` holds after
        one; each run is a row of its own (`fix#2`), and `steps.fix` is the latest."""
        assert step.loop is not None and step.steps
        spec, runs = step.loop, 0
        for inner in step.steps:  # read before their first run: pending and empty
            self._outputs.setdefault(inner.id, StepOutput(status=StepStatus.PENDING))
        row = GateInput(
            work_order_id=inp.work_order_id, step_id=step.id, position=position, phase=step.phase,
            status=StepStatus.RUNNING, kind="loop", message=f"until {spec.until}",
        )  # fmt: skip
        await self._record_gate(inp, row)
        for iteration in range(1, spec.max_iterations + 1):
            for inner in step.steps:
                runs += 1
                if self._stop:
                    return await self._end_loop(inp, row, StepStatus.CANCELLED, "cancelled")
                out = await self._loop_run(inp, prep, inner, position + runs, iteration)
                if out.status == StepStatus.CANCELLED:
                    return await self._end_loop(inp, row, StepStatus.CANCELLED, "cancelled")
                if out.status == StepStatus.FAILED and not inner.continue_on_error:
                    return await self._end_loop(inp, row, StepStatus.FAILED, out.error or "failed")
            if await self._loop_done(inp, prep, step, position, iteration):
                return await self._end_loop(
                    inp, row, StepStatus.COMPLETED, f"until held after iteration {iteration}"
                )
        message = f"ran {spec.max_iterations} iterations and until never held ({spec.until})"
        status = StepStatus.FAILED if spec.on_max == "fail" else StepStatus.COMPLETED
        return await self._end_loop(inp, row, status, message)

    async def _loop_run(
        self, inp: StartWorkOrderInput, prep: PrepareResult, step: StepDef, position: int, iteration: int
    ) -> StepOutput:
        """One run of a loop's step; a failure is its output, a cancellation a cancelled one."""
        try:
            out = await self._run_step(inp, prep, step, position, iteration=iteration)
            self._remember_agent(inp, step, out)
        except ActivityError as err:
            if is_cancellation(err) or self._stop:
                return StepOutput(status=StepStatus.CANCELLED)
            out = failed_output(err, f"step '{step.id}#{iteration}' failed: {failure_message(err)}")
        self._outputs[step.id] = out
        return out

    async def _loop_done(
        self, inp: StartWorkOrderInput, prep: PrepareResult, step: StepDef, position: int, iteration: int
    ) -> bool:
        done: bool = await workflow.execute_activity(
            "end_loop_iteration",
            LoopIterationInput(
                work_order_id=inp.work_order_id,
                handle=prep.handle,
                step=step,
                position=position,
                iteration=iteration,
                inputs=prep.inputs,
                steps=dict(self._outputs),
            ),
            result_type=bool,
            start_to_close_timeout=FINISH_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=5, non_retryable_error_types=NON_RETRYABLE),
        )
        return done

    async def _end_loop(
        self, inp: StartWorkOrderInput, row: GateInput, status: StepStatus, text: str
    ) -> StepOutput:
        await self._record_gate(inp, row.model_copy(update={"status": status, "output": text}))
        if status in (StepStatus.FAILED, StepStatus.CANCELLED):
            return StepOutput(status=status, error=text)
        return StepOutput(status=status, output=text)

    async def _run_call(
        self, inp: StartWorkOrderInput, step: StepDef, position: int, *, prep: PrepareResult
    ) -> StepOutput:
        """A call: a child work order (a fan-out: one per item, at most `max_parallel` at once), each
        a child workflow; its commits merged back, or its pull request read, as each ends; the
        step's output says how each went."""
        assert step.call is not None
        call = CallInput(
            work_order_id=inp.work_order_id, handle=prep.handle, step=step, position=position,
            inputs=prep.inputs, steps=dict(self._outputs), run_id=workflow.info().run_id,
        )  # fmt: skip
        plan = await self._call_activity(inp, prep, "start_call", call, CallPlan)
        if plan.skipped:
            return StepOutput(status=StepStatus.SKIPPED)
        slots = asyncio.Semaphore(step.fan_out.max_parallel if step.fan_out else 1)
        # One at a time: a merge into the parent's tree (which pushes its branch along) and a child's
        # making (which pushes the branch first); two pushes of one branch at once fail.
        branch = asyncio.Lock()
        fail_fast = step.fan_out is None or step.fan_out.join == "all_success"
        ended: dict[int, ChildResult] = {}

        async def one(child: ChildPlan) -> None:
            async with slots:
                hopeless = fail_fast and any(not e.succeeded for e in ended.values())
                if self._stop or self._failing or hopeless:
                    ended[child.index] = ChildResult(index=child.index, status=StepStatus.SKIPPED.value)
                    return
                ended[child.index] = await self._child(inp, prep, call, child, branch)

        await asyncio.gather(*(one(child) for child in plan.children))
        results = [ended[child.index] for child in plan.children]
        stopped = bool(self._stop or self._failing)
        return await self._call_activity(
            inp, prep, "end_call", CallEndInput(call=call, children=results, stopped=stopped), StepOutput
        )

    async def _child(
        self,
        inp: StartWorkOrderInput,
        prep: PrepareResult,
        call: CallInput,
        child: ChildPlan,
        branch: asyncio.Lock,
    ) -> ChildResult:
        """Make one child, run it as a child workflow (told to cancel when this work order stops),
        then bring its commits back. After a retry of this work order, the child an earlier run
        made for the item is kept if it completed (its commits brought back, once), else run again."""
        if child.kept and child.earlier_id is not None:
            kept = ChildEndInput(
                call=call, index=child.index, work_order_id=child.earlier_id, status=WorkOrderStatus.COMPLETED
            )
            async with branch:
                return await self._call_activity(inp, prep, "end_child", kept, ChildResult)
        making = "retry_child" if child.earlier_id else "create_child"
        failed = WorkOrderStatus.FAILED.value
        try:
            async with branch:
                start = await self._call_activity(
                    inp, prep, making, ChildInput(call=call, plan=child), StartWorkOrderInput
                )
            handle = await workflow.start_child_workflow(
                WorkOrderWorkflow.run,
                start,
                id=start.work_order_id,
                task_queue=inp.task_queue,  # children run on any worker
                parent_close_policy=ParentClosePolicy.REQUEST_CANCEL,
                cancellation_type=ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
        except ActivityError as err:
            return ChildResult(index=child.index, status=failed, error=failure_message(err))
        except WorkflowAlreadyStartedError as err:  # a retried child whose earlier run has not ended
            return ChildResult(
                index=child.index, status=failed, error=f"child {err.workflow_id} is still running"
            )
        self._children[start.work_order_id] = handle
        if self._paused:  # started while this work order is paused: it pauses too
            self._tell_children("pause", None, only=start.work_order_id)
        await workflow.wait_condition(lambda: handle.done() or bool(self._stop or self._failing))
        if not handle.done():  # its own cancel: it stops its step and removes its sandbox
            reason = self._stop[1] if self._stop else "another step failed"
            await handle.signal(WorkOrderWorkflow.cancel, f"parent {inp.work_order_id}: {reason}")
        try:
            outcome: WorkOrderOutcome = await handle
            status, error = outcome.status, outcome.error
        except ChildWorkflowError as err:
            status = WorkOrderStatus.CANCELLED if is_cancellation(err) else WorkOrderStatus.FAILED
            error = failure_message(err)
        finally:
            self._children.pop(start.work_order_id, None)
        end = ChildEndInput(
            call=call, index=child.index, work_order_id=start.work_order_id, status=status, error=error
        )
        async with branch:
            return await self._call_activity(inp, prep, "end_child", end, ChildResult)

    async def _call_activity(
        self, inp: StartWorkOrderInput, prep: PrepareResult, activity: str, arg: Any, result_type: type[T]
    ) -> T:
        """One of a call's activities, on the parent's worker (its sandbox: pushes, merges)."""
        result: T = await workflow.execute_activity(
            activity,
            arg,
            result_type=result_type,
            task_queue=prep.task_queue,
            start_to_close_timeout=PREPARE_TIMEOUT,
            heartbeat_timeout=timedelta(seconds=inp.heartbeat_timeout_s),
            retry_policy=RetryPolicy(maximum_attempts=3, non_retryable_error_types=NON_RETRYABLE),
        )
        return result

    async def _wait_at_gate(
        self, inp: StartWorkOrderInput, step: StepDef, position: int, *, prep: PrepareResult
    ) -> StepOutput:
        """Wait for approve (its response becomes the output) or advance; a gate with checks, for
        them to pass (it fails when one fails), counting those the forge reported before it
        started; a `timeout` fails the step. Checks from an expression that gives none skip it."""
        assert step.gate is not None
        checks = step.gate.checks if isinstance(step.gate.checks, list) else None
        if checks is None or checks:
            started = await self._start_gate(inp, prep, step, position)
            checks = started.names
            # Only the branch head's checks count; work orders that reached a gate before this
            # change replay as they ran.
            self._gate_sha = started.head_sha if workflow.patched(CHECKS_ON_HEAD) else ""
            self._checks = {name: c for name, c in self._checks.items() if not self._stale(c)}
            for report in started.reported:  # a signal heard meanwhile is newer
                if not self._stale(report):
                    self._checks.setdefault(report.name, report)
        gate = GateInput(
            work_order_id=inp.work_order_id, step_id=step.id, position=position, phase=step.phase,
            status=StepStatus.WAITING,
            message=step.gate.message or (f"waiting for checks: {', '.join(checks)}" if checks else None),
        )  # fmt: skip
        if not checks and not isinstance(step.gate.checks, list):
            skipped = StepOutput(status=StepStatus.SKIPPED, output="no checks to wait for")
            await self._record_gate(
                inp, gate.model_copy(update={"status": skipped.status, "output": skipped.output})
            )
            return skipped
        self._gate = step.id
        await self._record_gate(inp, gate)
        status, text = await self._gate_answer_for(step, checks)
        data = self._checks_seen(checks) if checks else None
        await self._record_gate(
            inp, gate.model_copy(update={"status": status, "output": text, "output_data": data})
        )
        if status == StepStatus.FAILED:
            return StepOutput(status=status, error=text, output_data=data)
        return StepOutput(status=status, output=text, output_data=data)

    async def _gate_answer_for(self, step: StepDef, checks: list[str]) -> tuple[StepStatus, str]:
        """Approve, advance, the checks' verdict, a stop (cancelled) or the gate's timeout."""

        def answered() -> bool:
            decided = self._gate_answer is not None or self._stop is not None
            return decided or self._checks_verdict(checks) is not None

        try:
            await workflow.wait_condition(answered, timeout=step.timeout_s)
            self._gate_answer = self._gate_answer or self._checks_verdict(checks)
        except TimeoutError:
            open_ = [n for n in checks if n not in self._checks or self._checks[n].conclusion not in PASSING]
            why = f"checks; no result from {', '.join(open_)}" if checks else "approval"
            self._gate_answer = (StepStatus.FAILED, f"timed out after {step.timeout_s:g} s waiting for {why}")
        answer = self._gate_answer or (StepStatus.CANCELLED, "")
        self._gate, self._gate_answer = None, None
        return answer

    async def _start_gate(
        self, inp: StartWorkOrderInput, prep: PrepareResult, step: StepDef, position: int
    ) -> GateChecks:
        """The checks the gate waits for, and those the forge has already (an activity: it renders
        templates and asks the forge)."""
        start = GateStart(
            work_order_id=inp.work_order_id, handle=prep.handle, step=step, position=position,
            inputs=prep.inputs, steps=dict(self._outputs),
        )  # fmt: skip
        found: GateChecks = await workflow.execute_activity(
            "start_gate",
            start,
            result_type=GateChecks,
            start_to_close_timeout=FINISH_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=3, non_retryable_error_types=NON_RETRYABLE),
        )
        return found

    async def _record_gate(self, inp: StartWorkOrderInput, gate: GateInput) -> None:
        await self._bookkeeping(inp, "record_gate", gate)

    async def _bookkeeping(
        self, inp: StartWorkOrderInput, activity: str, arg: Any, task_queue: str | None = None
    ) -> None:
        """A short activity that records where the work order is. It heartbeats, so a worker lost
        in it is noticed within the heartbeat timeout and the activity retried, not after FINISH_TIMEOUT."""
        await workflow.execute_activity(
            activity,
            arg,
            task_queue=task_queue,
            start_to_close_timeout=FINISH_TIMEOUT,
            heartbeat_timeout=timedelta(seconds=inp.heartbeat_timeout_s),
            retry_policy=RetryPolicy(maximum_attempts=5),
        )

    def _remember_agent(self, inp: StartWorkOrderInput, step: StepDef, output: StepOutput) -> None:
        if step.kind == "prompt":
            self._last_agent = (step.agent or inp.agent, output.session_id)

    async def _deliver_prompts(self, inp: StartWorkOrderInput, prep: PrepareResult, after: StepDef) -> None:
        """Run each queued prompt as a follow-up turn of the last agent, resuming its session."""
        while self._prompts and not self._stop:
            text = self._prompts.pop(0)
            self._followups += 1
            agent, session = self._last_agent or (inp.agent, None)
            step = StepDef(
                id=f"prompt-{self._followups}",
                phase=after.phase,
                prompt=text,
                agent=agent,
                commit=f"prompt: {' '.join(text.split())[:60]}",
            )
            output = await self._run_step(inp, prep, step, FOLLOWUP_POSITION + self._followups, session)
            self._outputs[step.id] = output
            self._last_agent = (agent, output.session_id or session)

    async def _hold_while_paused(self, inp: StartWorkOrderInput) -> None:
        if not self._paused or self._stop:
            return
        await self._set_status(inp, WorkOrderStatus.PAUSED)
        await workflow.wait_condition(lambda: not self._paused or self._stop is not None)
        if not self._stop:
            await self._set_status(inp, WorkOrderStatus.RUNNING)

    async def _set_status(self, inp: StartWorkOrderInput, status: WorkOrderStatus) -> None:
        await self._bookkeeping(
            inp, "set_work_order_status", SetStatusInput(work_order_id=inp.work_order_id, status=status)
        )

    async def _run_step(
        self,
        inp: StartWorkOrderInput,
        prep: PrepareResult,
        step: StepDef,
        position: int,
        session_id: str | None = None,
        iteration: int | None = None,
    ) -> StepOutput:
        timeout_s = step.timeout_s or inp.step_timeout_s
        handle = self._running[step.id] = workflow.start_activity(
            "run_step",
            self._step_input(inp, prep, step, position, session_id, timeout_s, iteration),
            result_type=StepOutput,
            task_queue=prep.task_queue,
            # Room for the activity's own timeout to fire first and report it cleanly.
            start_to_close_timeout=timedelta(seconds=timeout_s + 60),
            heartbeat_timeout=timedelta(seconds=inp.heartbeat_timeout_s),
            retry_policy=step_retry_policy(step),
            # Cleanup must not start before the step has stopped its processes.
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        try:
            output: StepOutput = await handle
            return output
        finally:
            del self._running[step.id]

    def _step_input(
        self,
        inp: StartWorkOrderInput,
        prep: PrepareResult,
        step: StepDef,
        position: int,
        session_id: str | None,
        timeout_s: float,
        iteration: int | None = None,
    ) -> RunStepInput:
        return RunStepInput(
            work_order_id=inp.work_order_id,
            handle=prep.handle,
            step=step,
            position=position,
            agent=inp.agent,
            inputs=prep.inputs,
            steps=dict(self._outputs),
            step_timeout_s=timeout_s,
            literal=position >= FOLLOWUP_POSITION,
            budget=effective_budget(inp, prep),
            session_id=session_id,
            network=prep.definition.network if step.network is None else step.network,
            secret_names=sorted({*prep.definition.secrets, *step.secrets}),  # names only, never values
            loop_iteration=iteration,
        )

    async def _finish(
        self,
        inp: StartWorkOrderInput,
        prep: PrepareResult | None,
        status: WorkOrderStatus,
        error: str | None,
    ) -> WorkOrderOutcome:
        end = FinishInput(
            work_order_id=inp.work_order_id,
            status=status,
            handle=prep.handle if prep else None,
            error=error,
            dropped_prompts=self._prompts,  # queued, but the work order stopped first
            open_pr=inp.open_pr and status == WorkOrderStatus.COMPLETED,
        )
        host = prep.task_queue if prep else inp.task_queue
        try:
            if not (workflow.patched(LOCAL_BOOKKEEPING) and await self._finished_here(end, host)):
                await self._bookkeeping(inp, "finish_work_order", end, task_queue=host)
        except ActivityError as err:
            raise unrecorded_end(status, error, err) from err
        return WorkOrderOutcome(status=status, error=error)

    async def _finished_here(self, end: FinishInput, host: str) -> bool:
        """The finish run inside this workflow task (a local activity: four Temporal requests fewer)
        when the worker running it is the sandbox's host, as on the embedded defaults; False, having
        done nothing, when it is another host's, whose own queue then runs it."""
        handle = workflow.start_local_activity(
            "finish_work_order_here",
            FinishHereInput(finish=end, task_queue=host),
            result_type=bool,
            start_to_close_timeout=FINISH_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=5),
        )
        here: bool = await activity_result(handle, "finish_work_order_here")
        return here
