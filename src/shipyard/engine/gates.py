"""The activity of a gate that waits for CI checks, as it starts: the checks it waits for (its
`checks`, or the list its expression gives), and those the forge already reports on the branch's
commit. A check may have ended before the work order was there to be told (its webhook found no
work order on the branch): read once here, it counts as if a `ci_status` signal had brought it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from shipyard.domain.errors import ShipyardError, WorkflowInvalid
from shipyard.domain.models import StepStatus
from shipyard.domain.work_orders import StepChange, WorkOrder
from shipyard.engine import steps
from shipyard.engine.activities import WorkOrderActivities, now
from shipyard.engine.sink import StoreSink
from shipyard.engine.types import CheckReport, GateChecks, GateStart
from shipyard.workflows.gates import gate_checks


class GateActivities:
    """Bound to the worker's WorkOrderActivities (its store, forges and events)."""

    def __init__(self, acts: WorkOrderActivities) -> None:
        self.acts = acts
        self.store = acts.store

    @activity.defn(name="start_gate")
    async def start_gate(self, inp: GateStart) -> GateChecks:
        """The checks the gate waits for and what the forge reports of them already. An expression
        that gives no list of names fails the step (not retried)."""
        assert inp.step.gate is not None
        wo = await self.store.get_work_order(inp.work_order_id)
        events = self.acts.sink(wo, inp.step.id)
        try:
            names = gate_checks(inp.step.gate, steps.template_context(inp))
        except WorkflowInvalid as err:
            message = f"gate '{inp.step.id}': {err.message}"
            at = now()
            failed = StepChange(
                position=inp.position, kind="gate", phase=inp.step.phase, status=StepStatus.FAILED,
                error=message, started_at=at, completed_at=at,
            )  # fmt: skip
            await self.store.upsert_step(wo.id, inp.step.id, failed)
            await events.emit("workflow.step.failed", {"error": message}, level="error")
            raise ApplicationError(message, type=err.code, non_retryable=True) from None
        reported = await self._reported(wo, names, events) if names else []
        return GateChecks(names=names, reported=reported, head_sha=wo.latest_commit_sha or "")

    async def _reported(self, wo: WorkOrder, names: list[str], events: StoreSink) -> list[CheckReport]:
        """The named checks that have ended on the head commit of the work order's branch, each
        said as a `ci.status` event; none when the forge cannot say (the gate still hears webhooks)."""
        if not wo.git_branch_name:
            return []
        try:
            runs = await self.acts.publish.forge(wo).list_check_runs(wo.git_branch_name)
        except ShipyardError as err:
            about = {"branch": wo.git_branch_name, "error": err.message}
            await events.emit("ci.unread", about, level="warning")
            return []
        found = [
            CheckReport(name=run.name, conclusion=run.conclusion, url=run.url, sha=run.head_sha)
            for run in runs
            if run.name in names and run.conclusion
        ]
        for report in found:
            await events.emit("ci.status", {"source": "forge", "status": "completed", **report.model_dump()})
        return found


def gate_activities(acts: WorkOrderActivities) -> list[Callable[..., Any]]:
    """The gates' activities, for the worker to register."""
    return [GateActivities(acts).start_gate]
