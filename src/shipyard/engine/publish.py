"""What a work order shows on its forge as it goes: the branch pushed, the draft pull request opened
with the first commits and its description kept up to date, the issue's one comment. Failures here
are reported as events, never fatal: a later step or the finish tries again."""

from __future__ import annotations

from pathlib import Path

from shipyard.config import Settings
from shipyard.domain.errors import ForgeError, GitError, ShipyardError
from shipyard.domain.models import SandboxHandle
from shipyard.domain.work_orders import BranchProgress, WorkOrder, WorkOrderChange
from shipyard.engine.sink import StoreSink
from shipyard.forge.base import Forge, PullRequestSpec
from shipyard.forge.issue_thread import IssueThread
from shipyard.forge.pr_body import PrContext, compose, draft_title, read_plan
from shipyard.forge.registry import forge_for
from shipyard.gitutil import progress
from shipyard.store.store import Store


async def read_progress(handle: SandboxHandle) -> BranchProgress:
    """The branch's progress, read from the sandbox's working tree."""
    return BranchProgress.of(await progress(Path(handle.path), handle.base_sha))


class Publisher:
    """Pushes, pull requests and the issue thread of work orders, through each one's forge."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.thread = IssueThread(settings, store)

    def forge(self, wo: WorkOrder) -> Forge:
        """The work order's forge, for its repository."""
        return forge_for(wo.forge, self.settings, wo.repository_url, self.store)

    async def update_thread(self, wo: WorkOrder, events: StoreSink) -> None:
        """The issue's one comment, as `wo` stands."""
        await self.thread.update(wo, self.forge(wo), events)

    async def pr_body(self, work_order_id: str, handle: SandboxHandle, final: WorkOrder | None = None) -> str:
        """The pull request's description as things stand (`final`: the work order as it ends)."""
        wo = final or await self.store.get_work_order(work_order_id)
        stats = await progress(Path(handle.path), handle.base_sha)
        link = self.settings.work_order_link(wo.id)
        steps = await self.store.list_steps(wo.id)
        plan = read_plan(Path(handle.path))
        return compose(PrContext(work_order=wo, steps=steps, progress=stats, link=link, plan=plan))

    async def follow_along(self, wo: WorkOrder, handle: SandboxHandle, events: StoreSink) -> None:
        """Push the branch after a step that left commits, and open its draft pull request with
        the first, so people can follow along (a call's child: only if its call asks, as it ends)."""
        forge = self.forge(wo)
        if not forge.hosted:
            return
        try:
            await forge.push(handle)
            # One on its base branch (an idea's release notes on `integration`) has nothing to propose.
            proposes = handle.branch != handle.base_branch
            if wo.github_pull_request_url is None and wo.parent_id is None and proposes:
                body = await self.pr_body(wo.id, handle)
                spec = PullRequestSpec(work_order_id=wo.id, title=draft_title(wo), body=body, draft=True)
                pr = await forge.open_or_update_pr(handle, spec)
                change = WorkOrderChange(github_pull_request_url=pr.url)
                wo = await self.store.update_work_order(wo.id, change)
                await events.emit("pr.opened", pr.model_dump(mode="json"))
                await self.thread.update(wo, forge, events)
        except (ForgeError, GitError) as err:
            await events.emit("pr.failed", {"error": err.message}, level="warning")

    async def open_pr(self, wo: WorkOrder, handle: SandboxHandle, events: StoreSink) -> str | None:
        """Open (or mark ready) the branch's pull request into its base: a call's child with
        `merge: pr`, as it completes. Its URL; None when the forge refused (said in an event)."""
        try:
            body = await self.pr_body(wo.id, handle)
            spec = PullRequestSpec(work_order_id=wo.id, title=draft_title(wo), body=body, draft=False)
            pr = await self.forge(wo).open_or_update_pr(handle, spec)
        except ShipyardError as err:
            await events.emit("pr.failed", {"error": err.message}, level="warning")
            return None
        await events.emit("pr.opened", pr.model_dump(mode="json"))
        return pr.url

    async def push(self, wo: WorkOrder, handle: SandboxHandle, events: StoreSink) -> None:
        """Push the branch to the repository it came from."""
        try:
            await self.forge(wo).push(handle)
            await events.emit("git.pushed", {"branch": handle.branch, "remote": handle.repository_url})
        except ShipyardError as err:
            await events.emit("git.push_failed", {"error": err.message}, level="warning")

    async def final_pr_body(self, wo: WorkOrder, handle: SandboxHandle, events: StoreSink) -> None:
        """The description as the work order ends; kept as written when the `pr` step had its own."""
        if not (wo.github_pull_request_url and self.forge(wo).hosted):
            return
        definition = wo.definition or {}
        if any((step.get("pr") or {}).get("body") for step in definition.get("steps", [])):
            return
        try:
            spec = PullRequestSpec(work_order_id=wo.id, body=await self.pr_body(wo.id, handle, final=wo))
            pr = await self.forge(wo).open_or_update_pr(handle, spec)
            await events.emit("pr.updated", {"url": pr.url, "number": pr.number, "draft": pr.draft})
        except ShipyardError as err:
            await events.emit("pr.failed", {"error": err.message}, level="warning")
