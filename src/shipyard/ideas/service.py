"""Ideas and their runs: submitted (checked, recorded, their workflow started), read (state,
timeline, issue tree) and steered (pause, resume, cancel)."""

from __future__ import annotations

import uuid

from temporalio.client import WorkflowHandle
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from shipyard.agents.registry import AGENT_NAMES
from shipyard.domain.errors import Conflict, InvalidInput, NotFound, ShipyardError, Unavailable
from shipyard.domain.ideas import IssueStatus, IssueType, RunState
from shipyard.forge.registry import default_forge_name, forge_for
from shipyard.ideas.models import IdeaRequest, IssueView, RunInterrupt, RunView, tree_view
from shipyard.ideas.types import QA_ROUNDS, RunInput
from shipyard.service.requests import checked_repository
from shipyard.service.work_orders import TEMPORAL_DOWN, WorkOrderService
from shipyard.store.records import IdeaRunCreate, IdeaRunRecord


class IdeaService:
    """Over the work-order service: its settings, store and Temporal client."""

    def __init__(self, service: WorkOrderService) -> None:
        self.service = service
        self.store = service.store
        self.settings = service.settings

    async def submit(self, req: IdeaRequest) -> IdeaRunRecord:
        """Check the repository and its forge, record the run, start its workflow."""
        unknown = next(((r, n) for r, n in req.options.agents.items() if n not in AGENT_NAMES), None)
        if unknown is not None:
            known = ", ".join(AGENT_NAMES)
            raise InvalidInput(f"options.agents.{unknown[0]}: unknown agent {unknown[1]!r}; known: {known}")
        if self.service.client is None:
            raise Conflict("this process has no engine; start `shipyard serve` to run ideas")
        project = await self.store.get_project(req.project) if req.project else None
        url = await checked_repository(req.repo)
        name = req.options.forge or (project.forge if project else None)
        name = name or default_forge_name(self.settings, url)
        forge = forge_for(name, self.settings, url, self.store)
        await forge.require_access()
        _, problem = await forge.check_repository()
        if problem is not None:
            raise InvalidInput(f"repo: {problem}")
        run = await self.store.create_run(
            IdeaRunCreate(
                idea_text=req.idea_text,
                repository_url=url,
                project_id=project.id if project else None,
                forge=name,
                options=req.options.model_dump(mode="json"),
                correlation_id=str(uuid.uuid4()),
            )
        )
        await self.store.add_run_event(run.id, "run.state", phase=run.state.value, msg="idea submitted")
        try:
            await self.service.client.start_workflow(
                "IdeaRun",
                run_input(run),
                id=run.id,
                task_queue=self.settings.task_queue,
            )
        except RPCError as err:
            message = f"could not start the run's workflow: {err}"
            await self.store.update_run(run.id, state=RunState.FAILED, error=message)
            raise Unavailable(TEMPORAL_DOWN) from err
        return run

    async def runs(self, limit: int, offset: int = 0) -> tuple[list[IdeaRunRecord], int]:
        """Runs, newest first, and how many there are."""
        return await self.store.list_runs(limit=limit, offset=offset)

    async def get(self, run_id: str) -> IdeaRunRecord:
        """The run as stored; NotFound if there is none."""
        return await self.store.get_run(run_id)

    async def view(self, run_id: str) -> RunView:
        run = await self.store.get_run(run_id)
        return RunView.of(run, await self.store.list_run_events(run.id))

    async def tree(self, run_id: str) -> list[IssueView]:
        run = await self.store.get_run(run_id)
        return tree_view(await self.store.list_issues(run.id))

    async def issue(self, issue_id: int) -> IssueView:
        """The issue and its descendants."""
        issue = await self.store.get_issue(issue_id)
        todo = tree_view(await self.store.list_issues(issue.run_id))
        while todo:
            view = todo.pop()
            if view.id == issue_id:
                return view
            todo.extend(view.children)
        raise AssertionError(f"issue {issue_id} is not in its run's tree")

    async def reorder(self, issue_id: int, order: list[int]) -> IssueView:
        """Set the order the issue's children run in (those not started yet follow it)."""
        await self.store.reorder_children(issue_id, order)
        return await self.issue(issue_id)

    async def retry(self, run_id: str, issue_id: int) -> IdeaRunRecord:
        """Run a failed or cancelled run again from where it stopped: the tree is walked anew, what
        is done stays done, each completed work order is kept, and the issue's failed one runs
        again from its first step that did not complete."""
        run = await self.store.get_run(run_id)
        if self.service.client is None:
            raise Conflict("this process has no engine; start `shipyard serve` to retry runs")
        if run.state not in (RunState.FAILED, RunState.CANCELLED):
            raise Conflict(f"run {run.id} is {run.state.value}; only a failed or cancelled run is retried")
        issue = await self.store.get_issue(issue_id)
        if issue.run_id != run.id:
            raise NotFound(f"issue {issue.id} is not in run {run.id}")
        if issue.status == IssueStatus.DONE:
            raise Conflict(f"issue #{issue.id} is done; nothing of it to run again")
        if issue.status == IssueStatus.BLOCKED:
            await self.store.update_issue(issue.id, status=IssueStatus.IN_PROGRESS)
        # Submitted again: the walk moves it through its states anew, quickly past what is done.
        again = {"state": RunState.IDEA_SUBMITTED, "error": None, "paused": False, "interrupt_reason": None}
        run = await self.store.update_run(run.id, **again)
        what = f"retry from {issue.type.value} #{issue.id} ({issue.title})"
        await self.store.add_run_event(
            run.id, "run.retry", phase=run.state.value, msg=what, data={"issue_id": issue.id}
        )
        try:
            await self.service.client.start_workflow(
                "IdeaRun", run_input(run), id=run.id, task_queue=self.settings.task_queue
            )
        except WorkflowAlreadyStartedError:
            raise Conflict(f"run {run.id} is still going") from None
        except RPCError as err:
            raise Unavailable(TEMPORAL_DOWN) from err
        return run

    async def advance(self, run_id: str) -> IdeaRunRecord:
        """Let a held run go on when nothing blocks it; Conflict saying what blocks it otherwise."""
        run = await self.store.get_run(run_id)
        if run.state.is_terminal:
            raise Conflict(f"run {run.id} is {run.state.value}; nothing to advance")
        issues = await self.store.list_issues(run.id)
        open_defects = [i for i in issues if i.type == IssueType.DEFECT and i.status != IssueStatus.DONE]
        if open_defects:
            named = ", ".join(f"#{d.id} ({d.title})" for d in open_defects[:3])
            raise Conflict(f"run {run.id} cannot advance: open defects block it: {named}")
        if not run.paused:
            raise Conflict(f"nothing holds run {run.id}: it is {run.state.value} and going on")
        return await self.interrupt(run.id, RunInterrupt(action="resume", reason="advanced"))

    async def interrupt(self, run_id: str, req: RunInterrupt) -> IdeaRunRecord:
        """Signal the run: pause holds it before its next work order, cancel stops the running one."""
        run = await self.store.get_run(run_id)
        if run.state.is_terminal:
            raise Conflict(f"run {run.id} is {run.state.value}; it cannot {req.action}")
        if self.service.client is None:
            raise Conflict("this process has no engine; start `shipyard serve` to steer runs")
        if req.action == "resume" and not run.paused:
            raise Conflict(f"run {run.id} is not paused")
        handle: WorkflowHandle[object, object] = self.service.client.get_workflow_handle(run.id)
        try:
            if req.action == "pause":
                await handle.signal("pause", req.reason)
            elif req.action == "resume":
                await handle.signal("resume")
            else:
                await handle.signal("cancel", req.reason)
        except RPCError as err:
            raise ShipyardError(f"run {run.id}: Temporal refused the {req.action}: {err}") from err
        paused = req.action == "pause"
        run = await self.store.update_run(
            run.id, paused=paused, interrupt_reason=req.reason if paused else None
        )
        await self.store.add_run_event(
            run.id, "run.interrupt", phase=run.state.value,
            msg=f"{req.action}" + (f": {req.reason}" if req.reason else ""), data={"action": req.action},
        )  # fmt: skip
        return run


def run_input(run: IdeaRunRecord) -> RunInput:
    """What the run's workflow starts (or starts again) with, from its options."""
    options = run.options or {}
    return RunInput(
        run_id=run.id, qa_rounds=options.get("qa_rounds", QA_ROUNDS), dry_run=bool(options.get("dry_run"))
    )
