"""The idea run (seed 002): a Temporal workflow that walks the run's states and starts every piece
of work as a child `WorkOrder` workflow.

    SPEC_WRITING    the epic on `epic/<id>-<slug>` from `integration`; a work order writes the
                    spec there and plans the tree (a typed output)
    ISSUE_TREE      the plan, checked against the tree rules, becomes features and tasks
    EXECUTION_LOOP  depth first, siblings one after another: each issue on its branch from its
                    nearest open ancestor's; a leaf is implemented by a work order that opens its
                    pull request into its parent's branch; the merge gate merges it once every
                    descendant is done; an inner node's pull request is opened once its children
                    are merged, and merged in turn
    MERGE           the epic's pull request into `integration`
    RELEASE         a work order writes the release notes on `integration`; the release is tagged
    DONE

Pause holds the run before its next work order; cancel stops the running one and ends the run.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ChildWorkflowError
from temporalio.workflow import ChildWorkflowCancellationType, ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from shipyard.domain.ideas import IssueType, RunState
    from shipyard.domain.models import WorkOrderStatus
    from shipyard.engine.types import WorkOrderOutcome
    from shipyard.engine.workflows import WorkOrderWorkflow, failure_message, is_cancellation
    from shipyard.ideas.types import (
        RESOLVES,
        DeployAsk,
        DeployPlan,
        HoldInput,
        IssueInput,
        Node,
        QaInput,
        ReleaseInput,
        RunInput,
        StateInput,
        WorkEnded,
        WorkInput,
        WorkKind,
        WorkStart,
    )

_ACTIVITY = {
    "start_to_close_timeout": timedelta(minutes=5),
    "retry_policy": RetryPolicy(maximum_attempts=5, initial_interval=timedelta(seconds=1)),
}


class RunStopped(Exception):
    """Cancelled: the run ends as CANCELLED."""


class RunFailed(Exception):
    """Something the run cannot go past: it ends as FAILED, saying this."""


@workflow.defn(name="IdeaRun")
class IdeaRunWorkflow:
    def __init__(self) -> None:
        self._paused: str | None = None  # the reason, while paused
        self._cancel: str | None = None
        self._child: Any = None  # the running work order's handle

    @workflow.signal
    def pause(self, reason: str | None) -> None:
        self._paused = reason or "paused"

    @workflow.signal
    def resume(self) -> None:
        self._paused = None

    @workflow.signal
    async def cancel(self, reason: str | None) -> None:
        self._cancel = reason or "cancelled"
        if self._child is not None and not self._child.done():
            await self._child.signal(WorkOrderWorkflow.cancel, f"idea run: {self._cancel}")

    @workflow.query
    def paused(self) -> str | None:
        return self._paused

    @workflow.run
    async def run(self, inp: RunInput) -> str:
        try:
            await self._state(inp, RunState.SPEC_WRITING, "writing the spec")
            epic = await self._act("idea_prepare", inp.run_id, Node)
            await self._work(inp, epic, "spec")
            await self._state(inp, RunState.ISSUE_TREE, "planning the issue tree")
            tree = await self._act("idea_plant", IssueInput(run_id=inp.run_id, issue_id=epic.id), Node)
            if inp.dry_run:
                await self._state(inp, RunState.EXECUTION_LOOP, "dry run: a draft per issue")
                count = await self._draft(inp, tree)
                await self._state(inp, RunState.DONE, f"dry run: {count} branches and draft pull requests")
                return RunState.DONE.value
            await self._state(inp, RunState.EXECUTION_LOOP, f"{_count(tree) - 1} issues to build")
            await self._deliver_children(inp, tree)
            await self._state(inp, RunState.MERGE, "merging the epic into integration")
            await self._work(inp, tree, "integrate")
            await self._merge(inp, tree)
            await self._state(inp, RunState.RELEASE, "writing the release notes")
            notes = await self._work(inp, tree, "release")
            tag = await self._act("idea_release", ReleaseInput(run_id=inp.run_id, work_order_id=notes), str)
            deployed = await self._deploy(inp, tag)
            await self._state(
                inp, RunState.DONE, f"released {tag}" + (f", deployed to {deployed}" if deployed else "")
            )
            return RunState.DONE.value
        except RunStopped:
            await self._state(inp, RunState.CANCELLED, f"cancelled: {self._cancel}")
            return RunState.CANCELLED.value
        except RunFailed as err:
            await self._state(inp, RunState.FAILED, str(err), error=str(err))
            return RunState.FAILED.value

    async def _deploy(self, inp: RunInput, tag: str) -> str | None:
        """Deploy the release where the project's settings say (after a person resumes the run, when
        they ask for approval); the environment, or None when the project does not deploy."""
        plan: DeployPlan = await self._act("idea_deploy_plan", inp.run_id, DeployPlan)
        if plan.env is None:
            return None
        if plan.approval:
            reason = f"waiting for approval to deploy {tag} to {plan.env}: resume the run to deploy"
            self._paused = reason
            await self._act("idea_hold", HoldInput(run_id=inp.run_id, reason=reason))
            await self._hold()
        ask = DeployAsk(run_id=inp.run_id, version=tag, env=plan.env)
        deployment: str = await self._act("idea_deploy", ask, str)
        status = await workflow.execute_child_workflow(
            "Deployment", deployment, id=f"deploy-{deployment}", result_type=str,
            parent_close_policy=ParentClosePolicy.REQUEST_CANCEL,
        )  # fmt: skip
        if status != "success":
            raise RunFailed(f"deploying {tag} to {plan.env} failed: see deployment {deployment}")
        return plan.env

    async def _merge(self, inp: RunInput, node: Node) -> None:
        """Through the merge gate; a pull request that conflicts goes back to the loop: a work
        order merges the base into its branch and resolves the conflicts, then it merges again."""
        issue = IssueInput(run_id=inp.run_id, issue_id=node.id)
        for attempt in range(1, RESOLVES + 2):
            conflict = await self._act("idea_merge", issue, str)
            if not conflict:
                return
            if attempt > RESOLVES:
                raise RunFailed(f"#{node.id} ({node.title}) still does not merge: {conflict}")
            await self._work(inp, node, "resolve", attempt)

    async def _draft(self, inp: RunInput, node: Node) -> int:
        """A dry run: each issue's branch, its text on it and a draft pull request into its
        parent's branch, parents first; how many."""
        await self._act("idea_open_branch", IssueInput(run_id=inp.run_id, issue_id=node.id))
        await self._work(inp, node, "draft")
        return 1 + sum([await self._draft(inp, child) for child in node.children])

    async def _deliver(self, inp: RunInput, node: Node) -> None:
        """The issue built (its children first, one after another), a task through QA, and merged
        into its parent."""
        issue = IssueInput(run_id=inp.run_id, issue_id=node.id)
        await self._act("idea_open_branch", issue)
        leaf = node.type in (IssueType.TASK, IssueType.DEFECT)
        if not leaf:
            await self._deliver_children(inp, node)
        await self._work(inp, node, "implement" if leaf else "integrate")
        if node.type == IssueType.TASK and inp.qa_rounds:
            await self._qa(inp, node)
        await self._deliver_children(inp, node)  # defects people filed by hand meanwhile
        await self._merge(inp, node)

    async def _qa(self, inp: RunInput, node: Node) -> None:
        """QA rounds on the task's branch until one finds no defect; the defects of each round are
        fixed (each on its own branch, merged into the task's) before the next. After `qa_rounds`
        rounds that found defects, the run waits for a person before it fixes them."""
        round = 0
        while True:
            round += 1
            await self._state(inp, RunState.QA, f"QA of task #{node.id} ({node.title}), round {round}")
            qa = await self._work(inp, node, "qa", round)
            found = QaInput(run_id=inp.run_id, issue_id=node.id, work_order_id=qa, round=round)
            defects = await self._act("idea_file_defects", found, list[Node])
            await self._state(inp, RunState.EXECUTION_LOOP, f"back to building: {len(defects)} defects")
            if not defects:
                return
            if round % inp.qa_rounds == 0:
                reason = f"QA found defects in task #{node.id} in {round} rounds: waiting for a person"
                self._paused = reason
                await self._act("idea_hold", HoldInput(run_id=inp.run_id, reason=reason))
                await self._hold()
            for defect in defects:
                await self._deliver(inp, defect)

    async def _deliver_children(self, inp: RunInput, node: Node) -> None:
        """The node's children one after another, in their order as it is when each starts (a
        reorder meanwhile counts); those done already are passed over."""
        delivered: set[int] = set()
        while True:
            await self._hold()  # the next child is picked once the run may go on
            children = await self._act(
                "idea_children", IssueInput(run_id=inp.run_id, issue_id=node.id), list[Node]
            )
            todo = [child for child in children if child.id not in delivered and not child.done]
            if not todo:
                return
            await self._deliver(inp, todo[0])
            delivered.add(todo[0].id)

    async def _work(self, inp: RunInput, node: Node, kind: WorkKind, round: int = 0) -> str:
        """One work order for the issue, as a child workflow; its id once it completed."""
        await self._hold()
        work = WorkInput(run_id=inp.run_id, issue_id=node.id, kind=kind, round=round)
        made: WorkStart = await self._act("idea_start_work", work, WorkStart)
        if made.start is None:  # completed before the run was retried
            return made.work_order_id
        start = made.start
        self._child = await workflow.start_child_workflow(
            WorkOrderWorkflow.run,
            start,
            id=start.work_order_id,
            task_queue=start.task_queue,
            parent_close_policy=ParentClosePolicy.REQUEST_CANCEL,
            cancellation_type=ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        try:
            outcome: WorkOrderOutcome = await self._child
            status, error = outcome.status, outcome.error
        except ChildWorkflowError as err:
            cancelled = is_cancellation(err)
            status = WorkOrderStatus.CANCELLED if cancelled else WorkOrderStatus.FAILED
            error = failure_message(err)
        finally:
            self._child = None
        ended = WorkEnded(
            run_id=inp.run_id, issue_id=node.id, kind=kind, work_order_id=start.work_order_id,
            status=status.value, error=error,
        )  # fmt: skip
        await self._act("idea_work_ended", ended)
        if self._cancel is not None:
            raise RunStopped
        if status != WorkOrderStatus.COMPLETED:
            what = f"{kind} of {node.type.value} #{node.id} ({node.title})"
            raise RunFailed(
                f"{what}: work order {start.work_order_id} {status.value}: {error or 'no reason given'}"
            )
        return start.work_order_id

    async def _hold(self) -> None:
        """Wait while the run is paused; RunStopped once it is cancelled."""
        await workflow.wait_condition(lambda: self._paused is None or self._cancel is not None)
        if self._cancel is not None:
            raise RunStopped

    async def _state(self, inp: RunInput, state: RunState, msg: str, error: str | None = None) -> None:
        await self._act("idea_set_state", StateInput(run_id=inp.run_id, state=state, msg=msg, error=error))

    async def _act(self, name: str, arg: Any, result_type: type[Any] | None = None) -> Any:
        """An activity of the run; a failure it cannot get past fails the run, saying why."""
        try:
            return await workflow.execute_activity(name, arg, result_type=result_type, **_ACTIVITY)  # type: ignore[call-overload]
        except ActivityError as err:
            raise RunFailed(failure_message(err)) from None


def _count(node: Node) -> int:
    return 1 + sum(_count(child) for child in node.children)
