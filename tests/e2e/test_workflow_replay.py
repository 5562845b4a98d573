"""A work order's workflow replays its own history, and the histories of work orders an earlier
Shipyard started (before prepare and finish became local activities): an upgrade must not strand
the work running through it. (Webhook deliveries no longer run as workflows: one an earlier
Shipyard left mid-way is `processing` without a lease in the store, which the delivery processor
claims again.) Temporal replays a workflow's history on any worker that picks it up, and a command
the history does not expect fails the workflow task."""

from __future__ import annotations

from pathlib import Path

import httpx
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from test_api_work_orders import create

from shipyard.cli.server import RunningServer
from shipyard.engine.worker import workflow_runner
from shipyard.engine.workflows import WorkOrderWorkflow
from support import MakeRepo, wait_done

HISTORIES = Path(__file__).parent / "histories"
TWO_STEPS = """
name: two_steps
steps:
  - {id: write, phase: implementing, run: echo one > one.txt, commit: add one}
  - {id: check, phase: testing, run: cat one.txt}
"""


def replayer() -> Replayer:
    """Replays as a worker runs workflows: the same sandbox, the same payload converter."""
    return Replayer(
        workflows=[WorkOrderWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )


def scheduled_activities(history: WorkflowHistory) -> list[str]:
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]


async def test_a_work_order_started_before_prepare_was_local_replays_as_it_ran() -> None:
    # Recorded at caa69f5 (the workflow above, both steps through, pushed): prepare was an activity
    # on the shared queue then.
    text = (HISTORIES / "two_steps_caa69f5.json").read_text()
    history = WorkflowHistory.from_json("wo-6d14c097", text)
    assert scheduled_activities(history) == [
        "prepare_work_order",
        "run_step",
        "run_step",
        "finish_work_order",
    ]
    result = await replayer().replay_workflow(history)
    assert result.replay_failure is None


async def test_a_work_order_replays_its_own_history_with_prepare_and_finish_in_workflow_tasks(
    server: RunningServer, api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    wo = await create(api, make_repo(), workflow_definition=TWO_STEPS)
    done = await wait_done(api, str(wo["agent_work_order_id"]))
    assert done["status"] == "completed", done["error_message"]
    handle = server.engine.client.get_workflow_handle(done["agent_work_order_id"])
    await handle.result()  # the store says completed from inside the last workflow task, before it ends
    history = await handle.fetch_history()
    # The sandbox is prepared inside the first workflow task and the work order finished inside
    # the last (local activities, recorded as markers): no activity task handed out for either.
    assert scheduled_activities(history) == ["run_step", "run_step"]
    markers = [e for e in history.events if e.HasField("marker_recorded_event_attributes")]
    assert len(markers) == 3  # the patch, the prepare, the finish
    result = await replayer().replay_workflow(history)
    assert result.replay_failure is None
