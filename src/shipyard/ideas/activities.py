"""The idea run's activities: the store, the forge and the work orders, for the workflow in
`workflow.py`. Each can run twice (a worker that died): each finds what an earlier attempt did
(the epic, the tree, a branch, a work order by its derived id, a merged pull request).
"""

from __future__ import annotations

import hashlib
import json
from importlib.resources import files
from typing import Any

import structlog
from temporalio import activity

from shipyard.domain.errors import Conflict, InvalidInput, ShipyardError
from shipyard.domain.ideas import IssueStatus, IssueType, RunState, issue_branch, slug
from shipyard.domain.ids import derived_work_order_id
from shipyard.domain.models import CreateWorkOrderRequest, StepStatus, WorkOrderStatus
from shipyard.domain.untrusted import quote
from shipyard.domain.work_orders import Step
from shipyard.engine.activities import to_application_error
from shipyard.forge.base import CheckRun, Forge
from shipyard.forge.registry import forge_for
from shipyard.ideas import mirror
from shipyard.ideas.defects import check_defects
from shipyard.ideas.tree import children_by_parent, tree_from_plan
from shipyard.ideas.types import (
    DeployAsk,
    DeployPlan,
    HoldInput,
    IssueInput,
    Node,
    QaInput,
    ReleaseInput,
    StateInput,
    WorkEnded,
    WorkInput,
    WorkKind,
    WorkStart,
)
from shipyard.service.creation import record_work_order, retry_input, retrying
from shipyard.service.work_orders import WorkOrderService
from shipyard.store.ideas import RunEventNote
from shipyard.store.records import IdeaRunRecord, IssueNodeRecord, PlannedIssue

log = structlog.get_logger()
INTEGRATION = "integration"  # seed 002: the epic's branch comes from it, its pull request goes into it
_WORKFLOWS = {  # the bundled workflow each kind of work runs
    "spec": "idea_spec", "implement": "idea_task", "integrate": "idea_integrate", "qa": "idea_qa",
    "release": "idea_release", "draft": "idea_draft", "resolve": "resolve_conflicts",
}  # fmt: skip


def workflow_text(name: str) -> str:
    """A bundled workflow of ideas/workflows/, as YAML."""
    return files("shipyard.ideas").joinpath("workflows", f"{name}.yaml").read_text()


def spec_path(run: IdeaRunRecord) -> str:
    """Where the spec is written: named after the idea (a second run of it writes it anew)."""
    return f"specs/{slug(run.idea_text)}.md"


def release_tag(run: IdeaRunRecord) -> str:
    return f"release/{run.id}"


class IdeaActivities:
    """Bound to the service the work orders are made through (its settings and store)."""

    def __init__(self, service: WorkOrderService) -> None:
        self.service = service
        self.store = service.store
        self.settings = service.settings

    def forge(self, run: IdeaRunRecord) -> Forge:
        return forge_for(run.forge, self.settings, run.repository_url, self.store)

    async def log(
        self, run: IdeaRunRecord, event_type: str, msg: str, *, level: str = "info", **data: Any
    ) -> None:
        """One entry of the run's timeline (and its stream)."""
        await self.store.add_run_event(
            run.id, event_type, phase=run.state.value, msg=msg, level=level, data=data
        )

    async def issue_changed(self, run: IdeaRunRecord, issue: IssueNodeRecord, msg: str) -> None:
        """An issue was made or changed: mirrored on the forge, and said on the timeline."""
        issue = await mirror.sync_issue(self.forge(run), self.store, run, issue)
        data: dict[str, Any] = {"issue_id": issue.id, "type": issue.type.value, "status": issue.status.value}
        data |= {"branch": issue.branch, "pr_url": issue.pr_url}
        await self.log(run, "issue.updated", msg, **data)

    @activity.defn(name="idea_set_state")
    async def set_state(self, inp: StateInput) -> None:
        """Move the run to a state (saying why); an ending one records its error."""
        run = await self.store.get_run(inp.run_id)
        if run.state == inp.state:
            return  # an attempt that ran before
        fields: dict[str, Any] = {"state": inp.state}
        if inp.state.is_terminal:
            fields |= {"error": inp.error, "current_issue_id": None}
        level = "error" if inp.state == RunState.FAILED else "info"
        data = {"state": inp.state.value, "error": inp.error}
        await self.store.update_run_saying(run.id, RunEventNote("run.state", inp.msg, level, data), **fields)

    @activity.defn(name="idea_prepare")
    async def prepare(self, run_id: str) -> Node:
        """The epic (the idea's root issue) on its branch from `integration`, both made if missing."""
        run = await self.store.get_run(run_id)
        try:
            forge = self.forge(run)
            check, problem = await forge.check_repository()
            if problem is not None:
                raise InvalidInput(problem)
            if await self._make_branch(forge, INTEGRATION, check.default_branch or "main"):
                await self.log(run, "branch.created", f"made {INTEGRATION} from {check.default_branch}")
            epic = await self._epic(run)
            if epic.branch is None:
                branch = issue_branch(IssueType.EPIC, epic.id, epic.title)
                await self._make_branch(forge, branch, INTEGRATION)
                epic = await self.store.update_issue(epic.id, branch=branch, status=IssueStatus.IN_PROGRESS)
                await self.issue_changed(run, epic, f"epic #{epic.id} on {branch}")
        except ShipyardError as err:
            raise to_application_error(err) from None
        return Node(id=epic.id, type=epic.type, title=epic.title)

    async def _epic(self, run: IdeaRunRecord) -> IssueNodeRecord:
        if run.root_issue_id is not None:
            return await self.store.get_issue(run.root_issue_id)
        title = run.idea_text.strip().splitlines()[0][:120] if run.idea_text.strip() else run.id
        planned = PlannedIssue(type=IssueType.EPIC, title=title, body=run.idea_text)
        epic = await self.store.create_issue(run.id, planned)
        await self.store.update_run(run.id, root_issue_id=epic.id)
        return epic

    async def _make_branch(self, forge: Forge, branch: str, from_ref: str) -> bool:
        """Make `branch` at `from_ref`'s tip; False when it is there already."""
        try:
            await forge.create_branch(branch, from_ref)
        except Conflict:
            return False
        return True

    @activity.defn(name="idea_start_work")
    async def start_work(self, inp: WorkInput) -> WorkStart:
        """Record the issue's work order and say so. The same work again (a walk of the tree after
        the run was retried) finds its work order: one that completed is kept, one that failed or
        was cancelled runs again from its first step that did not complete."""
        run = await self.store.get_run(inp.run_id)
        issue = await self.store.get_issue(inp.issue_id)
        trigger = {"source": "idea", "run": run.id, "issue": issue.id, "work": inp.kind, "round": inp.round}
        try:
            request, branch = await self._request(run, issue, inp.kind)
            recorded = await record_work_order(
                self.settings,
                self.store,
                request,
                work_order_id(run.id, inp.kind, issue.id, inp.round),
                trigger=trigger,
                branch=branch,
            )
            wo, start = recorded.work_order, recorded.start
            if not recorded.created and wo.status == WorkOrderStatus.COMPLETED:
                return WorkStart(work_order_id=wo.id)
            if not recorded.created and wo.status in (WorkOrderStatus.FAILED, WorkOrderStatus.CANCELLED):
                start = await retry_input(self.settings, self.store, wo)
                await self.store.update_work_order(wo.id, retrying())
        except ShipyardError as err:
            raise to_application_error(err) from None
        await self.store.update_issue(issue.id, work_order_id=wo.id)
        run = await self.store.update_run(run.id, current_issue_id=issue.id)
        await self.log(
            run, "workflow.step.started", f"{inp.kind} of {issue.type.value} #{issue.id}: {wo.id}",
            issue_id=issue.id, work=inp.kind, work_order_id=wo.id, branch=wo.git_branch_name,
        )  # fmt: skip
        return WorkStart(work_order_id=wo.id, start=start)

    async def _request(
        self, run: IdeaRunRecord, issue: IssueNodeRecord, kind: WorkKind
    ) -> tuple[CreateWorkOrderRequest, str]:
        """The work order's request and the branch it works on."""
        options = run.options or {}
        inputs: dict[str, Any]
        if kind == "spec":
            inputs = {"idea": quote("the idea", run.idea_text), "spec_path": spec_path(run)}
            inputs["size"] = options.get("size", "medium")
            branch, base = issue.branch, INTEGRATION
        elif kind == "release":
            merged = [i for i in await self.store.list_issues(run.id) if i.pr_url]
            lines = "\n".join(f"- {i.type.value} #{i.id} {i.title} ({i.pr_url})" for i in merged)
            inputs = {"version": release_tag(run), "merged": lines or "- (none)"}
            branch, base = INTEGRATION, INTEGRATION
        elif kind == "resolve":  # the bundled resolve_conflicts, on the issue's pull request
            branch = issue.branch
            request = CreateWorkOrderRequest(
                repository_url=run.repository_url, workflow_type="resolve_conflicts",
                github_pull_request_number=issue.pr_number, project=run.project_id, forge=run.forge,
                inputs={"test_command": options.get("test_command", "")},
                agent=(options.get("agents") or {}).get("default"),
            )  # fmt: skip
            if branch is None or issue.pr_number is None:
                raise InvalidInput(f"issue #{issue.id} has no pull request to resolve")
            return request, branch
        elif kind == "draft":
            branch, base = issue.branch, await self._parent_branch(issue)
            inputs = {"title": issue.title, "issue": _issue_text(issue)}
            inputs["file"] = f"{issue.id}-{slug(issue.title)}.md"
        elif kind == "qa":
            branch, base = issue.branch, await self._parent_branch(issue)
            inputs = {"issue": quote(f"issue #{issue.id}", _issue_text(issue))}
            inputs["test_command"] = options.get("test_command", "")
            checks = options.get("required_checks") or []
            inputs["required_checks"] = json.dumps(checks) if checks else ""
        else:
            parent = await self._parent_branch(issue)
            branch, base = issue.branch, parent
            inputs = {"title": issue.title}
            if kind == "implement":
                inputs |= {
                    "issue": quote(f"issue #{issue.id}", _issue_text(issue)),
                    "spec_path": spec_path(run),
                }
        if branch is None:
            raise InvalidInput(f"issue #{issue.id} has no branch yet")
        agents = options.get("agents") or {}
        request = CreateWorkOrderRequest(
            repository_url=run.repository_url,
            workflow_definition=workflow_text(_WORKFLOWS[kind]),
            workflow_source=f"ideas/workflows/{_WORKFLOWS[kind]}.yaml",
            inputs=inputs,
            base_branch=base,
            agent=agents.get(kind) or agents.get("default"),
            project=run.project_id,
            forge=run.forge,
            title=f"{issue.type.value} {issue.id} {issue.title}",
        )
        return request, branch

    async def _parent_branch(self, issue: IssueNodeRecord) -> str:
        """The branch of the issue's nearest ancestor not yet done (seed 002 §3.2); the epic's
        parent is `integration`."""
        parent_id = issue.parent_id
        while parent_id is not None:
            parent = await self.store.get_issue(parent_id)
            if parent.status != IssueStatus.DONE and parent.branch:
                return parent.branch
            parent_id = parent.parent_id
        return INTEGRATION

    @activity.defn(name="idea_work_ended")
    async def work_ended(self, inp: WorkEnded) -> None:
        """The work order's end on the timeline; an issue with a pull request goes to review."""
        run = await self.store.get_run(inp.run_id)
        issue = await self.store.get_issue(inp.issue_id)
        wo = await self.store.get_work_order(inp.work_order_id)
        ok = inp.status == WorkOrderStatus.COMPLETED.value
        if not ok:
            issue = await self.store.update_issue(issue.id, status=IssueStatus.BLOCKED)
            await self.issue_changed(run, issue, f"{issue.type.value} #{issue.id} blocked: {inp.error}")
        elif inp.kind in ("implement", "integrate", "draft") and wo.github_pull_request_url:
            url = wo.github_pull_request_url
            issue = await self.store.update_issue(
                issue.id, status=IssueStatus.REVIEW, pr_url=url, pr_number=_pr_number(url)
            )
            await self.issue_changed(run, issue, f"{issue.type.value} #{issue.id}: pull request {url}")
        what = f"{inp.kind} of {issue.type.value} #{issue.id} {inp.status}"
        await self.log(
            run, "workflow.step.completed" if ok else "workflow.step.failed",
            what + (f": {inp.error}" if inp.error else ""), level="info" if ok else "error",
            issue_id=issue.id, work=inp.kind, work_order_id=inp.work_order_id,
        )  # fmt: skip

    @activity.defn(name="idea_plant")
    async def plant(self, inp: IssueInput) -> Node:
        """The planner's tree, checked against the rules, as issues under the epic (once)."""
        run = await self.store.get_run(inp.run_id)
        epic = await self.store.get_issue(inp.issue_id)
        # The spec's work order by its id: the epic's own field names its latest work (a dry run's
        # draft, say), which a retried run walks past on its way here.
        steps = {s.step_id: s for s in await self.store.list_steps(work_order_id(run.id, "spec", epic.id))}
        try:
            planned = tree_from_plan(steps["plan"].output_data if "plan" in steps else None)
        except InvalidInput as err:
            broken = InvalidInput(f"the issue plan breaks the tree rules: {err.message}")
            raise to_application_error(broken) from None
        made = await self.store.plant_tree(run.id, epic.id, planned)
        for issue in made:
            await self.issue_changed(run, issue, f"{issue.type.value} #{issue.id}: {issue.title}")
        return _node(epic, [epic, *made])

    @activity.defn(name="idea_children")
    async def children(self, inp: IssueInput) -> list[Node]:
        """The issue's children in their order now, each with its own subtree."""
        issue = await self.store.get_issue(inp.issue_id)
        tree = _node(issue, await self.store.list_issues(inp.run_id))
        return tree.children

    @activity.defn(name="idea_file_defects")
    async def file_defects(self, inp: QaInput) -> list[Node]:
        """What a QA round found, filed as defects under the issue (once per round): a failing
        test run, each required check that failed (or never reported), and each defect the QA
        tester answered. The issue waits in QA while any is open."""
        run = await self.store.get_run(inp.run_id)
        issue = await self.store.get_issue(inp.issue_id)
        label = f"qa-round-{inp.round}"
        children = await self.store.children_of(issue.id)
        made = [child for child in children if label in child.labels]
        if not made:
            for n, planned in enumerate(await self._found(run, inp.work_order_id, label)):
                made.append(await self.store.create_issue(run.id, planned, issue.id, len(children) + n))
        if not made:
            said = f"QA round {inp.round} of task #{issue.id} found no defect"
            await self.log(run, "qa.passed", said, issue_id=issue.id, round=inp.round)
            return []
        issue = await self.store.update_issue(issue.id, status=IssueStatus.QA)
        await self.issue_changed(run, issue, f"QA round {inp.round} of task #{issue.id}: {len(made)} defects")
        for defect in made:
            await self.issue_changed(run, defect, f"defect #{defect.id} under #{issue.id}: {defect.title}")
        return [Node(id=d.id, type=d.type, title=d.title, done=d.status == IssueStatus.DONE) for d in made]

    async def _found(self, run: IdeaRunRecord, work_order_id: str, label: str) -> list[PlannedIssue]:
        steps = {s.step_id: s for s in await self.store.list_steps(work_order_id)}
        found = []
        check = steps.get("check")
        command = (run.options or {}).get("test_command", "")
        if check is not None and check.status == StepStatus.FAILED:
            said = "\n\n".join(part for part in (check.error, check.output) if part)
            found.append(
                PlannedIssue(
                    type=IssueType.DEFECT,
                    title=f"Tests fail: {command}"[:200],
                    labels=[label],
                    body=f"`{command}` failed on the branch:\n\n{said[-3000:]}",
                )
            )
        ci = steps.get("ci")
        if ci is not None and ci.status == StepStatus.FAILED:
            found += [
                PlannedIssue(type=IssueType.DEFECT, title=title, body=body, labels=[label])
                for title, body in check_defects(ci, await self._check_runs(run, ci))
            ]
        answer = steps["review"].output_data if "review" in steps else None
        for defect in (answer or {}).get("defects", []):
            title, body = str(defect.get("title") or "defect")[:200], str(defect.get("body") or "")
            found.append(PlannedIssue(type=IssueType.DEFECT, title=title, body=body, labels=[label]))
        return found

    async def _check_runs(self, run: IdeaRunRecord, ci: Step) -> dict[str, CheckRun]:
        """The check runs on the commit the QA gate heard of, by name: what each said of itself
        (the gate heard only how it ended). None when the forge cannot say."""
        heard = (ci.output_data or {}).get("checks") if isinstance(ci.output_data, dict) else None
        sha = next((c.get("sha") for c in heard or [] if isinstance(c, dict) and c.get("sha")), None)
        if not sha:
            return {}
        try:
            return {check.name: check for check in await self.forge(run).list_check_runs(sha)}
        except ShipyardError as err:
            await self.log(run, "ci.unread", f"the check runs of {sha[:12]}: {err.message}", level="warning")
            return {}

    @activity.defn(name="idea_hold")
    async def hold(self, inp: HoldInput) -> None:
        """The run waits for a person (as a pause does), saying why: said on its timeline first, so
        whoever sees it paused finds why there."""
        run = await self.store.get_run(inp.run_id)
        await self.log(run, "run.held", inp.reason, level="warning")
        await self.store.update_run(run.id, paused=True, interrupt_reason=inp.reason)

    @activity.defn(name="idea_open_branch")
    async def open_branch(self, inp: IssueInput) -> None:
        """The issue's branch from its nearest open ancestor's; the issue in progress."""
        run = await self.store.get_run(inp.run_id)
        issue = await self.store.get_issue(inp.issue_id)
        if issue.branch is not None:  # an attempt before this one: its mirror may not have followed
            await mirror.sync_issue(self.forge(run), self.store, run, issue)
            return
        branch = issue_branch(issue.type, issue.id, issue.title)
        try:
            await self._make_branch(self.forge(run), branch, await self._parent_branch(issue))
        except ShipyardError as err:
            raise to_application_error(err) from None
        issue = await self.store.update_issue(issue.id, branch=branch, status=IssueStatus.IN_PROGRESS)
        await self.issue_changed(run, issue, f"{issue.type.value} #{issue.id} on {branch}")

    @activity.defn(name="idea_merge")
    async def merge(self, inp: IssueInput) -> str:
        """The merge gate: the issue's pull request merges into its parent's branch once every
        descendant is done; the issue is then done. A pull request that does not merge cleanly is
        not an error: what conflicts is answered (empty when it merged), for the loop to resolve."""
        run = await self.store.get_run(inp.run_id)
        issue = await self.store.get_issue(inp.issue_id)
        if issue.status == IssueStatus.DONE:  # as in open_branch
            await mirror.sync_issue(self.forge(run), self.store, run, issue)
            return ""
        open_below = [i for i in await self._descendants(issue) if i.status != IssueStatus.DONE]
        if open_below:
            names = ", ".join(f"{i.type.value} #{i.id} ({i.status.value})" for i in open_below[:5])
            raise to_application_error(InvalidInput(f"#{issue.id} cannot merge: not done below it: {names}"))
        if issue.pr_number is None:
            raise to_application_error(InvalidInput(f"#{issue.id} has no pull request to merge"))
        forge = self.forge(run)
        try:
            pull = await forge.get_pr(issue.pr_number)
            if pull.state != "merged":
                await forge.merge_pr(issue.pr_number)
        except Conflict as err:
            await self.log(
                run, "merge.conflict", f"#{issue.pr_number} ({issue.branch}) does not merge: {err.message}",
                level="warning", issue_id=issue.id,
            )  # fmt: skip
            return err.message
        except ShipyardError as err:
            raise to_application_error(err) from None
        issue = await self.store.update_issue(issue.id, status=IssueStatus.DONE)
        await self.issue_changed(
            run, issue, f"merged #{issue.pr_number} ({issue.branch}) into {pull.base_branch}"
        )
        return ""

    async def _descendants(self, issue: IssueNodeRecord) -> list[IssueNodeRecord]:
        """Everything under the issue, from one read of the run's issues."""
        below = children_by_parent(await self.store.list_issues(issue.run_id))
        found, todo = [], [issue.id]
        while todo:
            for child in below.get(todo.pop(), []):
                found.append(child)
                todo.append(child.id)
        return found

    @activity.defn(name="idea_release")
    async def release(self, inp: ReleaseInput) -> str:
        """Tag the integration branch and publish the release with the notes the release manager
        wrote; the tag."""
        run = await self.store.get_run(inp.run_id)
        steps = {s.step_id: s for s in await self.store.list_steps(inp.work_order_id)}
        notes = (steps["notes"].output or "") if "notes" in steps else ""
        tag = release_tag(run)
        try:
            made = await self.forge(run).create_release(tag, INTEGRATION, f"{tag}: {_first_line(run)}", notes)
        except ShipyardError as err:
            raise to_application_error(err) from None
        await self.log(run, "release.published", f"released {tag} at {made.sha[:12]}", tag=tag, url=made.url)
        return tag

    @activity.defn(name="idea_deploy_plan")
    async def deploy_plan(self, run_id: str) -> DeployPlan:
        """Where the release deploys: its project's `deployment_env` (else its first environment)
        when the project deploys `auto`; nowhere otherwise."""
        run = await self.store.get_run(run_id)
        project = await self.store.get_project(run.project_id) if run.project_id else None
        settings = project.deployment if project else None
        if settings is None or settings.deployment_strategy != "auto":
            return DeployPlan()
        env = settings.deployment_env or next(iter(settings.environments))
        return DeployPlan(env=env, approval=settings.require_approval)

    @activity.defn(name="idea_deploy")
    async def deploy(self, inp: DeployAsk) -> str:
        """The release's deployment, recorded once (its id comes from the run's); its id."""
        run = await self.store.get_run(inp.run_id)
        assert run.project_id is not None
        key = "dep-" + hashlib.sha256(f"idea:{run.id}".encode()).hexdigest()[:8]
        dep = await self.store.create_deployment(run.project_id, inp.env, inp.version, id=key)
        await self.log(
            run, "deploy.started", f"deploying {inp.version} to {inp.env}: {dep.id}", deployment=dep.id
        )
        return dep.id


def work_order_id(run_id: str, kind: WorkKind, issue_id: int, round: int = 0) -> str:
    """The id of the issue's work of `kind` (in QA round `round`): the same work is one work order."""
    return derived_work_order_id(run_id, kind, str(issue_id), *([str(round)] if round else []))


def _node(root: IssueNodeRecord, issues: list[IssueNodeRecord]) -> Node:
    """`root` and its descendants among `issues`, siblings in their order."""
    below = children_by_parent(issues)

    def node(issue: IssueNodeRecord) -> Node:
        children = below.get(issue.id, [])
        done = issue.status == IssueStatus.DONE
        return Node(
            id=issue.id, type=issue.type, title=issue.title, done=done, children=[node(c) for c in children]
        )

    return node(root)


def _issue_text(issue: IssueNodeRecord) -> str:
    text = f"{issue.type.value} #{issue.id}: {issue.title}\n\n{issue.body}".rstrip()
    if issue.acceptance_criteria:
        text += "\n\nAcceptance criteria:\n" + "\n".join(f"- {c}" for c in issue.acceptance_criteria)
    return text


def _pr_number(url: str) -> int | None:
    last = url.rstrip("/").rsplit("/", 1)[-1]
    return int(last) if last.isdigit() else None


def _first_line(run: IdeaRunRecord) -> str:
    return (run.idea_text.strip().splitlines() or [run.id])[0][:80]
