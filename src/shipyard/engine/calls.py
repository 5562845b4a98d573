"""The activities of `call` steps: the children planned (a fan-out's list read), each child made as
the service makes a work order, each child's end brought back (merged onto the parent's branch, or
its pull request read), the call's row and output. They run on the parent's worker: its sandbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from shipyard.domain.errors import ShipyardError, WorkflowInvalid
from shipyard.domain.ids import derived_work_order_id
from shipyard.domain.models import CreateWorkOrderRequest, StepStatus, WorkOrderStatus
from shipyard.domain.work_orders import StepChange, WorkOrder
from shipyard.engine import steps
from shipyard.engine.activities import WorkOrderActivities, heartbeating, now, to_application_error
from shipyard.engine.types import (
    CallEndInput,
    CallInput,
    CallPlan,
    ChildEndInput,
    ChildInput,
    ChildPlan,
    ChildResult,
    StartWorkOrderInput,
    StepOutput,
)
from shipyard.gitutil.merging import fetch_branch, has_commit, merge_commit, merge_of
from shipyard.service.creation import check_retryable, record_work_order, retry_input, retrying
from shipyard.workflows import fanout
from shipyard.workflows.schema import CallSpec
from shipyard.workflows.templating import evaluate_condition

_LISTED_PROBLEMS = 5  # children named in a failed fan-out's error; the rest are counted
# A child's answer in the call's output: a fan-out of 100 travels through Temporal history whole.
CHILD_OUTPUT_CHARS = 4000


def plan_children(inp: CallInput) -> list[ChildPlan]:
    """One child per item (one in all without a fan-out), its inputs and base rendered with it."""
    children = fanout.children(inp.step, steps.template_context(inp), Path(inp.handle.path))
    return [
        ChildPlan(index=index, item=child.item, inputs=child.inputs, base=child.base)
        for index, child in enumerate(children)
    ]


def call_output(inp: CallEndInput) -> tuple[StepStatus, Any, str | None]:
    """The call's status by its join, its output (a fan-out's: one entry per item), its error."""
    children, fan_out = inp.children, inp.call.step.fan_out
    data: Any = [child.model_dump(mode="json") for child in children]
    if fan_out is None:
        data = data[0]
    bad = [child for child in children if not child.succeeded]
    join = fan_out.join if fan_out else "all_success"
    if inp.stopped:
        return StepStatus.CANCELLED, data, "cancelled"
    joined = {"all_success": not bad, "all_done": True, "any_success": len(bad) < len(children)}
    if joined[join]:
        return StepStatus.COMPLETED, data, None
    if fan_out is None:
        return StepStatus.FAILED, data, problem(children[0], numbered=False)
    listed = "; ".join(problem(child) for child in bad[:_LISTED_PROBLEMS])
    more = f"; and {len(bad) - _LISTED_PROBLEMS} more" if len(bad) > _LISTED_PROBLEMS else ""
    summary = f"{len(bad)} of {len(children)} children did not succeed ({join})"
    return StepStatus.FAILED, data, f"{summary}: {listed}{more}"


def problem(child: ChildResult, numbered: bool = True) -> str:
    """Why a child did not succeed, in words (one never made: `numbered` by its item)."""
    if child.work_order_id is None:
        why = child.error or "not started (an earlier child failed)"
        return f"item {child.index}: {why}" if numbered else why
    if child.status == WorkOrderStatus.COMPLETED.value:
        return child.error or "completed"
    return f"child {child.work_order_id} {child.status}" + (f": {child.error}" if child.error else "")


class CallActivities:
    """Bound to the worker's WorkOrderActivities (settings, store, forges, events)."""

    def __init__(self, acts: WorkOrderActivities) -> None:
        self.acts = acts
        self.store = acts.store

    @activity.defn(name="start_call")
    async def start_call(self, inp: CallInput) -> CallPlan:
        """Skip the call by its `when`, or plan its children and mark it running."""
        wo = await self.store.get_work_order(inp.work_order_id)
        events = self.acts.sink(wo, inp.step.id)
        row = StepChange(position=inp.position, kind="call", phase=inp.step.phase)
        try:
            context = steps.template_context(inp)
            if inp.step.when and not evaluate_condition(inp.step.when, context):
                skipped = row.model_copy(update={"status": StepStatus.SKIPPED})
                await self.store.upsert_step(wo.id, inp.step.id, skipped)
                await events.emit("workflow.step.skipped", {"when": inp.step.when})
                return CallPlan(skipped=True)
            plans = await self._with_earlier(inp, plan_children(inp))
        except WorkflowInvalid as err:
            message = f"call '{inp.step.id}': {err.message}"
            at = now()
            failed = {"status": StepStatus.FAILED, "error": message, "started_at": at, "completed_at": at}
            await self.store.upsert_step(wo.id, inp.step.id, row.model_copy(update=failed))
            await events.emit("workflow.step.failed", {"error": message}, level="error")
            raise ApplicationError(message, type=err.code, non_retryable=True) from None
        running = {"status": StepStatus.RUNNING, "started_at": now(), "attempt": 1}
        await self.store.upsert_step(wo.id, inp.step.id, row.model_copy(update=running))
        about: dict[str, Any] = {"kind": "call", "children": len(plans)}
        if kept := [plan.earlier_id for plan in plans if plan.kept]:
            about["kept"] = kept
        if again := [plan.earlier_id for plan in plans if plan.earlier_id and not plan.kept]:
            about["retried"] = again
        await events.emit("workflow.step.started", about)
        return CallPlan(children=plans)

    async def _with_earlier(self, inp: CallInput, plans: list[ChildPlan]) -> list[ChildPlan]:
        """Each plan with the child an earlier run of this step (before the parent was retried)
        made for its item with the same inputs: the newest, where there are several."""
        made: dict[int, WorkOrder] = {}
        for child in await self.store.children(inp.work_order_id):  # oldest first
            trigger = child.trigger or {}
            if trigger.get("source") == "call" and trigger.get("step") == inp.step.id:
                made[trigger.get("item", -1)] = child
        found = [(plan, made.get(plan.index)) for plan in plans]
        return [
            plan.model_copy(update={"earlier_id": child.id, "earlier_status": child.status})
            if child is not None and child.inputs == plan.inputs
            else plan
            for plan, child in found
        ]

    @activity.defn(name="create_child")
    async def create_child(self, inp: ChildInput) -> StartWorkOrderInput:
        """Record one child as the service records a work order, on a branch made from the parent's
        as it is now (pushed first, so the child's sandbox finds it wherever it runs)."""
        call, plan = inp.call, inp.plan
        assert call.step.call is not None
        spec, handle = call.step.call, call.handle
        parent = await self.store.get_work_order(call.work_order_id)
        events = self.acts.sink(parent, call.step.id)
        try:
            async with heartbeating(self.acts.beat_s):
                if plan.base is None:
                    await self.acts.publish.forge(parent).push(handle)
                recorded = await record_work_order(
                    self.acts.settings,
                    self.store,
                    self._request(parent, spec, plan, handle.branch),
                    derived_work_order_id(call.run_id, call.step.id, str(plan.index)),
                    trigger={"source": "call", "parent": parent.id, "step": call.step.id, "item": plan.index},
                    parent_id=parent.id,
                    workflows_from=Path(handle.path),
                )
        except ShipyardError as err:
            raise to_application_error(err) from err
        child = recorded.work_order
        about = {"work_order_id": child.id, "branch": child.git_branch_name, "base": child.base_branch}
        await events.emit("workflow.call.child_started", about | {"index": plan.index, "item": plan.item})
        return recorded.start.model_copy(update={"open_pr": spec.merge == "pr"})

    @activity.defn(name="retry_child")
    async def retry_child(self, inp: ChildInput) -> StartWorkOrderInput:
        """Run an earlier run's child that failed or was cancelled again in place, as `retry` does:
        from its first step that did not complete, what completed before it kept."""
        call, plan = inp.call, inp.plan
        assert call.step.call is not None and plan.earlier_id is not None
        child = await self.store.get_work_order(plan.earlier_id)
        parent = await self.store.get_work_order(call.work_order_id)
        try:
            if activity.info().attempt == 1 or child.status != WorkOrderStatus.PENDING:
                check_retryable(child)  # (a later attempt finds it pending if the first marked it)
            start = await retry_input(self.acts.settings, self.store, child)
        except ShipyardError as err:  # its state will not change by trying again
            raise ApplicationError(err.message, type=err.code, non_retryable=True) from err
        await self.store.update_work_order(child.id, retrying())
        about = {"work_order_id": child.id, "branch": child.git_branch_name, "from_step": start.start_at}
        await self.acts.sink(parent, call.step.id).emit(
            "workflow.call.child_retried", about | {"index": plan.index, "item": plan.item}
        )
        return start.model_copy(update={"open_pr": call.step.call.merge == "pr"})

    def _request(
        self, parent: WorkOrder, spec: CallSpec, plan: ChildPlan, branch: str
    ) -> CreateWorkOrderRequest:
        """The child as a request: the parent's repository, project and forge; the call's
        workflow, inputs, agent and sandbox (the parent's by default); based on `branch`."""
        return CreateWorkOrderRequest(
            repository_url=parent.repository_url,
            workflow_type=spec.workflow,
            inputs=plan.inputs,
            agent=spec.agent or parent.agent,
            sandbox_type=spec.sandbox or parent.sandbox_type,
            base_branch=plan.base or branch,
            project=parent.project_id,
            forge=parent.forge,
        )

    @activity.defn(name="end_child")
    async def end_child(self, inp: ChildEndInput) -> ChildResult:
        """How one child went; with `merge: merge`, a completed child's commits merged onto the
        parent's branch in its tree (a conflict undoes the merge and names the files)."""
        call = inp.call
        assert call.step.call is not None
        parent = await self.store.get_work_order(call.work_order_id)
        child = await self.store.get_work_order(inp.work_order_id)
        result = ChildResult(
            index=inp.index, work_order_id=child.id, status=inp.status.value, branch=child.git_branch_name,
            pr_url=child.github_pull_request_url, output=await self._last_output(child), error=inp.error,
        )  # fmt: skip
        merge = call.step.call.merge
        if inp.status == WorkOrderStatus.COMPLETED and child.git_commit_count and child.latest_commit_sha:
            try:
                async with heartbeating(self.acts.beat_s):
                    if merge == "merge":
                        await self._merge(parent, call, child, result)
            except ShipyardError as err:
                result.error = f"merging {child.id} failed: {err.message}"
            if merge == "pr" and not child.github_pull_request_url:
                result.error = f"the pull request of {child.id} could not be opened (its log says why)"
        level = "info" if result.succeeded else "warning"
        await self.acts.sink(parent, call.step.id).emit(
            "workflow.call.child_ended", result.model_dump(mode="json", exclude={"output"}), level=level
        )
        return result

    async def _merge(self, parent: WorkOrder, call: CallInput, child: WorkOrder, result: ChildResult) -> None:
        handle, sha = call.handle, child.latest_commit_sha
        assert sha is not None and child.git_branch_name is not None
        tree = Path(handle.path)
        if not await has_commit(tree, sha):  # made on another machine: its branch was pushed
            token = await self.acts.publish.forge(parent).git_token()
            secret = token.get_secret_value() if token else None
            await fetch_branch(tree, child.repository_url, child.git_branch_name, token=secret)
        elif earlier := await merge_of(tree, sha):  # a child kept from before the parent's retry
            result.merge_sha = earlier
            return
        message = f"Merge {child.id} ({child.git_branch_name}) into {handle.branch}"
        merged = await merge_commit(tree, sha, message)
        if merged.conflicts:
            what = f"merging {child.id} ({child.git_branch_name}) into {handle.branch}"
            result.error = f"{what} conflicts in: {', '.join(merged.conflicts)}"
            return
        result.merge_sha = merged.sha
        events = self.acts.sink(parent, call.step.id)
        await events.emit("git.commit", {"sha": merged.sha, "message": message, "phase": call.step.phase})
        await self.acts.note_progress(parent.id, handle)
        await self.acts.publish.follow_along(parent, handle, events)

    async def _last_output(self, child: WorkOrder) -> str | None:
        """The output of the child's last step that completed: its answer, where it has one."""
        rows = [row for row in await self.store.list_steps(child.id) if row.status == StepStatus.COMPLETED]
        return steps.tail(rows[-1].output or "", CHILD_OUTPUT_CHARS) if rows else None

    @activity.defn(name="end_call")
    async def end_call(self, inp: CallEndInput) -> StepOutput:
        """The call's row and its last event; its output as later steps' templates read it."""
        status, data, error = call_output(inp)
        text = json.dumps(data)
        merges = [child.merge_sha for child in inp.children if child.merge_sha]
        wo = await self.store.get_work_order(inp.call.work_order_id)
        row = StepChange(
            status=status, completed_at=now(), output=steps.tail(text), error=error, output_data=data
        )
        if merges:
            row.commit_sha = merges[-1]
        await self.store.upsert_step(wo.id, inp.call.step.id, row)
        level = "error" if status == StepStatus.FAILED else "info"
        await self.acts.sink(wo, inp.call.step.id).emit(
            f"workflow.step.{status.value}", {"error": error, "commit_sha": row.commit_sha}, level=level
        )
        return StepOutput(
            status=status, output=text, error=error, commit_sha=row.commit_sha, output_data=data
        )


def call_activities(acts: WorkOrderActivities) -> list[Callable[..., Any]]:
    """The call steps' activities, for the worker to register."""
    calls = CallActivities(acts)
    return [calls.start_call, calls.create_child, calls.retry_child, calls.end_child, calls.end_call]
