"""The dashboard without an engine, over real HTTP on loopback, on a store the tests fill in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dashboard_kit import Dashboard, Seed

from shipyard.config import Settings
from shipyard.domain.ids import new_work_order_id
from shipyard.domain.work_orders import StepChange, WorkOrder, WorkOrderChange, WorkOrderCreate
from shipyard.service.work_orders import WorkOrderService
from shipyard.store.store import Store
from shipyard.web.app import create_app
from support import Migrated, serving


@pytest.fixture
async def dashboard(tmp_path: Path, migrated: Migrated) -> AsyncIterator[Dashboard]:
    settings = migrated(Settings(data_dir=tmp_path / "data", agent="shell"))
    store = await Store.open(settings.resolved_database_url)
    try:
        app = create_app(WorkOrderService(settings, store, None))
        async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            yield Dashboard(client, store, settings)
    finally:
        await store.close()


@pytest.fixture
def seed(dashboard: Dashboard) -> Seed:
    """Stores a work order as the engine would leave it: `status`, steps, and events."""

    async def make(
        repository_url: str = "/tmp/widgets",
        workflow: str = "agent_workflow_build",
        status: str = "completed",
        steps: list[dict[str, Any]] | None = None,
        trigger: dict[str, Any] | None = None,
        **fields: Any,
    ) -> WorkOrder:
        store = dashboard.store
        wid = new_work_order_id()
        await store.create_work_order(
            WorkOrderCreate(id=wid, repository_url=repository_url, workflow_type=workflow,
                            sandbox_type="git_worktree", agent="shell", git_branch_name=f"wo/{wid}-demo",
                            trigger=trigger)
        )  # fmt: skip
        for position, step in enumerate(steps or []):
            step_id = step.pop("step_id")
            await store.upsert_step(wid, step_id, StepChange(position=position, kind="run", **step))
        if status != "pending":
            await store.update_work_order(wid, WorkOrderChange(status="running"))
        if status not in ("pending", "running"):
            await store.update_work_order(wid, WorkOrderChange(status=status))
        if fields:
            await store.update_work_order(wid, WorkOrderChange(**fields))
        return await store.get_work_order(wid)

    return make
