"""What a stored webhook delivery starts: work orders from projects' sources, ChatOps commands,
and CI status on the work orders it concerns. Runs after the webhook has been answered.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from temporalio.service import RPCError

from shipyard.domain.errors import Conflict, ShipyardError
from shipyard.domain.ids import derived_work_order_id
from shipyard.domain.models import CreateWorkOrderRequest
from shipyard.domain.projects import Source
from shipyard.domain.work_orders import WorkOrder
from shipyard.engine.sink import sink_for
from shipyard.forge.base import CommentRef, Forge
from shipyard.forge.registry import forge_for, hosted_forge_for
from shipyard.gitutil import default_branch, ensure_mirror, git, run_git
from shipyard.service.dispatch import REPORT_STATES, hear_report
from shipyard.service.work_orders import WorkOrderService
from shipyard.store.records import DeliveryRecord, DeliverySummary, ProjectRecord
from shipyard.store.store import Store
from shipyard.triggers.chatops import USAGE, WRITE_PERMISSIONS, is_command, parse_command
from shipyard.triggers.events import CI_EVENTS, TriggerEvent, normalise
from shipyard.triggers.github import SOURCE, Delivery
from shipyard.triggers.match import matches, render_inputs
from shipyard.workflows.loader import REPOSITORY_DIR, load_definition_text

STATUS_DISPATCH = "orchestrator.status"  # seed 002: a CI workflow reporting back on a work order
Outcome = tuple[str, dict[str, Any]]  # (delivery status, what was done or why not)


class Intake:
    """Turns deliveries into work orders and events; every outcome is recorded on the delivery."""

    def __init__(self, service: WorkOrderService) -> None:
        self.service = service
        self.store = service.store
        self.settings = service.settings

    async def handle(self, delivery: DeliveryRecord) -> Outcome:
        event = normalise(delivery.event, delivery.delivery_id, delivery.payload)
        if event.event in CI_EVENTS or event.dispatch_type == STATUS_DISPATCH:
            return await self._ci_status(event)
        if not event.repository:
            return "ignored", {"reason": "the payload names no repository"}
        projects = await self.store.projects_for_repository(event.repository)
        if not projects:
            return "ignored", {"reason": f"no project watches {event.repository}"}
        if event.event == "issue_comment" and event.action == "created" and is_command(event.comment):
            return await ChatOps(self, event, projects[0]).run()
        return await self._sources(event, projects)

    async def _sources(self, event: TriggerEvent, projects: list[ProjectRecord]) -> Outcome:
        started: list[str] = []
        errors: list[str] = []
        for project in projects:
            rules: list[tuple[str, Source]] = [(f"source {i}", src) for i, src in enumerate(project.sources)]
            try:
                rules += await self._repository_triggers(project, event)
            except ShipyardError as err:
                errors.append(f"{project.name}: cannot read the repository's workflows: {err.message}")
            for rule, source in rules:
                if not matches(source, event, project.github_repository):
                    continue
                try:
                    started.append(await self._start(project, source, rule, event))
                except ShipyardError as err:
                    errors.append(f"{project.name} {rule}: {err.message}")
        if not started and not errors:
            return "ignored", {"reason": f"no source matches this {event.event} event"}
        return ("processed" if started else "failed"), {"work_orders": started, "errors": errors}

    async def _repository_triggers(
        self, project: ProjectRecord, event: TriggerEvent
    ) -> list[tuple[str, Source]]:
        """The `on:` triggers of the repository's own workflows, read at the pushed commit (else
        at the default branch) from the mirror cache."""
        token = await self.project_forge(project).git_token()
        secret = token.get_secret_value() if token else None
        mirror = await ensure_mirror(project.repository_url, self.settings.mirrors_dir, token=secret)
        ref = event.after if event.event == "push" and event.after else None
        ref = ref or f"refs/remotes/origin/{await default_branch(mirror)}"
        rules: list[tuple[str, Source]] = []
        for path, text in await workflow_files_at(mirror, ref):
            for source in load_definition_text(text, path).triggers():
                rules.append((path, source))
        return rules

    async def _start(self, project: ProjectRecord, source: Source, rule: str, event: TriggerEvent) -> str:
        about_issue = event.event in ("issues", "issue_comment") and self.project_forge(project).hosted
        issue = event.number if about_issue else None
        request = CreateWorkOrderRequest(
            repository_url=project.repository_url,
            workflow_type=source.workflow,
            inputs=render_inputs(source, event),
            agent=source.agent,
            sandbox_type=source.sandbox_type,
            project=project.id,
            base_branch=event.branch if event.event == "push" else None,
            github_issue_number=str(issue) if issue is not None else None,
        )
        wid = event_work_order_id(event, project, rule)
        if await self._work_order(wid) is not None:  # started by an earlier attempt at this delivery
            branch = None
        else:
            branch = await follow_up_branch(self.store, project, event)
        trigger = trigger_of(event, project, rule)
        wo = await self.service.create(request, trigger=trigger, branch=branch, work_order_id=wid)
        return wo.id

    def project_forge(self, project: ProjectRecord) -> Forge:
        """The project's forge, for the repository as that forge names it."""
        repository = project.github_repository or project.repository_url
        return forge_for(project.forge, self.settings, repository, self.store)

    async def _ci_status(self, event: TriggerEvent) -> Outcome:
        """A `ci.status` event on each work order whose branch (or id, for a dispatch) it names; an
        `orchestrator.status` answering an `actions` step's dispatch goes to that step instead."""
        if event.dispatch_type == STATUS_DISPATCH and (heard := await self._actions_report(event)):
            return heard
        wanted = event.client_payload.get("work_order_id") if event.dispatch_type else None
        if isinstance(wanted, str):
            targets = [wo for wo in [await self._work_order(wanted)] if wo is not None]
        elif event.head_branch:
            targets = await self.store.work_orders_on_branch(event.head_branch)
        else:
            targets = []
        if not targets:
            return "ignored", {"reason": "no work order matches this CI status"}
        data = ci_status(event)
        for wo in targets:
            await sink_for(self.settings, self.store, wo).emit("ci.status", data)
            if not wo.status.is_terminal and self.service.client is not None:
                with contextlib.suppress(RPCError):  # the workflow ended meanwhile
                    await self.service.client.get_workflow_handle(wo.id).signal("ci_status", data)
        return "processed", {"ci_status_for": [wo.id for wo in targets]}

    async def _actions_report(self, event: TriggerEvent) -> Outcome | None:
        """The report to the work order whose dispatch it names by `dispatch_id` (or `dispatchId`),
        as `POST /api/runs/:runId/status` takes it; None when no work order's dispatch to the webhook's
        repository has that id."""
        payload = event.client_payload
        dispatch_id = payload.get("dispatch_id") or payload.get("dispatchId")
        if not isinstance(dispatch_id, str) or payload.get("state") not in REPORT_STATES:
            return None
        keep = ("nodeId", "phase", "state", "progress", "metrics", "artifacts")
        report = {key: payload[key] for key in keep if key in payload}
        wo, new = await hear_report(
            self.settings, self.store, dispatch_id, report, repository=event.repository
        )
        if wo is None:
            return None
        return "processed", {"actions_report_for": wo.id, "duplicate": not new}

    async def _work_order(self, work_order_id: str) -> WorkOrder | None:
        try:
            return await self.store.get_work_order(work_order_id)
        except ShipyardError:
            return None


async def workflow_files_at(repo: Path, ref: str) -> list[tuple[str, str]]:
    """(path, text) of each workflow file in `.shipyard/workflows/` at commit `ref` of `repo`."""
    folder = REPOSITORY_DIR.as_posix()
    listing = await run_git("ls-tree", "--name-only", f"{ref}:{folder}", cwd=repo)
    names = sorted(n for n in listing.stdout.splitlines() if n.endswith((".yaml", ".yml")))
    return [(f"{folder}/{n}", await git("show", f"{ref}:{folder}/{n}", cwd=repo)) for n in names]


async def follow_up_branch(store: Store, project: ProjectRecord, event: TriggerEvent) -> str | None:
    """The branch of the latest work order about the same issue or pull request, to continue on
    (and so update its pull request); Conflict while that work order is still running."""
    if event.number is None or event.event not in ("issues", "issue_comment", "pull_request"):
        return None
    previous = await store.latest_work_order_about(project.repository_url, event.number)
    if previous is None:
        return None
    if not previous.status.is_terminal:
        raise Conflict(
            f"work order {previous.id} is still working on #{event.number}; try again when it ends"
        )
    return previous.git_branch_name


def event_work_order_id(event: TriggerEvent, project: ProjectRecord, rule: str | None) -> str:
    """The id of the work order `rule` of `project` starts for `event`: processing the same
    delivery again (its worker was lost mid-way) finds it instead of starting another."""
    return derived_work_order_id(event.source, event.delivery_id, project.id, rule or "chatops")


def trigger_of(event: TriggerEvent, project: ProjectRecord, rule: str | None) -> dict[str, Any]:
    """What is recorded on a work order about the event that started it."""
    fields = ("event", "action", "delivery_id", "repository", "sender", "branch", "commit_range", "number")
    return {
        "source": event.source,
        **{name: getattr(event, name) for name in fields if getattr(event, name) is not None},
        "project": project.name,
        "rule": rule,
    }


def ci_status(event: TriggerEvent) -> dict[str, Any]:
    if event.dispatch_type == STATUS_DISPATCH:
        payload = event.client_payload
        keep = ("name", "status", "conclusion", "url", "sha")
        return {"source": "repository_dispatch", **{k: payload[k] for k in keep if k in payload}}
    conclusion = event.ci_conclusion
    if event.event == "status" and event.ci_status != "pending":  # a commit status: its state
        conclusion = event.ci_status
    return {
        "source": event.event,
        "name": event.ci_name,
        "status": event.ci_status,
        "conclusion": conclusion,
        "sha": event.head_sha,
        "url": event.ci_url,
    }


async def record_delivery(service: WorkOrderService, delivery: Delivery) -> tuple[DeliveryRecord, bool]:
    """Store a verified GitHub delivery as `received`; (the stored one, True) when it was stored before."""
    return await service.store.record_delivery(
        SOURCE, delivery.hook_id, delivery.delivery_id, delivery.event, delivery.action, delivery.payload
    )


async def list_deliveries(
    service: WorkOrderService, *, status: str | None = None, limit: int = 50
) -> list[DeliverySummary]:
    """Stored deliveries (with `status`, if given), newest first, with what processing made of
    each; their payloads are `get_delivery`'s."""
    return await service.store.list_deliveries(status=status, limit=limit)


async def get_delivery(service: WorkOrderService, id: int) -> DeliveryRecord:
    """One stored delivery with its payload."""
    return await service.store.get_delivery(id)


class ChatOps:
    """`/shipyard run <workflow> [key=value …]` from a comment: checked, started, answered."""

    def __init__(self, intake: Intake, event: TriggerEvent, project: ProjectRecord) -> None:
        self.intake, self.event, self.project = intake, event, project
        # The forge the comment was made on, which answers it whatever forge the project's work uses.
        self.forge = hosted_forge_for(intake.settings, event.repository or "")

    async def run(self) -> Outcome:
        forge = self.forge
        if forge is None or self.event.number is None or await forge.git_token() is None:
            return "ignored", {"reason": "ChatOps needs a GitHub token and an issue or pull request"}
        refusal = await self._refusal(forge)
        if refusal is not None:
            await self._reply(forge, refusal)
            return "refused", {"reason": refusal}
        try:
            command = parse_command(self.event.comment)
        except ShipyardError as err:
            await self._reply(forge, f"@{self.event.sender} {err.message}")
            return "failed", {"error": err.message}
        wid = event_work_order_id(self.event, self.project, None)
        if await self.intake._work_order(wid) is not None:  # answered and started by an earlier attempt
            return "processed", {"work_orders": [wid]}
        # Answered first: the work order then keeps this comment up to date instead of adding one.
        reply = await self._reply(forge, f"@{self.event.sender} starting `{command.workflow}` …")
        request = CreateWorkOrderRequest(
            repository_url=self.project.repository_url,
            workflow_type=command.workflow,
            inputs=dict(command.inputs),
            project=self.project.id,
            github_issue_number=str(self.event.number) if self._on_hosted_forge() else None,
        )
        trigger = trigger_of(self.event, self.project, None)
        try:
            branch = await follow_up_branch(self.intake.store, self.project, self.event)
            wo = await self.intake.service.create(
                request, trigger=trigger, comment_id=str(reply.id), branch=branch, work_order_id=wid
            )
        except ShipyardError as err:
            await forge.edit_comment(reply.id, f"@{self.event.sender} could not start that: {err.message}")
            return "failed", {"error": err.message}
        return "processed", {"work_orders": [wo.id]}  # the work order edits the answer from here on

    def _on_hosted_forge(self) -> bool:
        return self.intake.project_forge(self.project).hosted

    async def _refusal(self, forge: Forge) -> str | None:
        who = self.event.sender or "someone"
        if self.event.sender_is_bot or self.event.sender is None:
            return f"@{who} Shipyard takes commands from people, not from bots."
        permission = await forge.permission(self.event.sender)
        if permission not in WRITE_PERMISSIONS:
            return f"@{who} only people with write access to {forge.repository} can run Shipyard ({USAGE})."
        return None

    async def _reply(self, forge: Forge, body: str) -> CommentRef:
        assert self.event.number is not None
        return await forge.comment(self.event.number, body)
