"""A work order whose workflow Temporal refuses to start (it answered: not unreachable) fails at
once, saying why, in its record and in its log: a follower of its events sees it end."""

from __future__ import annotations

import pytest

from shipyard.domain.errors import ShipyardError
from shipyard.domain.models import CreateWorkOrderRequest, WorkOrderStatus
from shipyard.engine.devserver import DevServer
from shipyard.engine.worker import connect
from shipyard.service.work_orders import WorkOrderService
from shipyard.store.store import Store
from support import MakeRepo, MakeSettings

ONE_STEP = "name: one\nsteps: [{id: a, run: 'true'}]"


async def test_a_start_temporal_refuses_fails_the_work_order_with_a_workflow_failed_event(
    make_settings: MakeSettings, make_repo: MakeRepo, temporal: DevServer
) -> None:
    settings = make_settings(temporal_namespace="no-such-namespace")
    store = await Store.open(settings.resolved_database_url)
    try:
        client = await connect(temporal.address, settings.temporal_namespace)
        service = WorkOrderService(settings, store, client)
        req = CreateWorkOrderRequest(repository_url=str(make_repo()), workflow_definition=ONE_STEP)
        refused = r"could not start the workflow: .*no-such-namespace"
        with pytest.raises(ShipyardError, match=refused) as caught:
            await service.create(req)
        [wo], _ = await store.list_work_orders()
        assert wo.status == WorkOrderStatus.FAILED and wo.error_message == caught.value.message
        events, _ = await store.list_events(wo.id)
        assert [(e.type, e.level, e.data) for e in events][-1] == (
            "workflow.failed",
            "error",
            {"error": caught.value.message},
        )
    finally:
        await store.close()
