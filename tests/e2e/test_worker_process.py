"""`shipyard worker` alone: an API process without a worker hands work to a separate worker process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import yaml

from shipyard.api.app import create_app
from shipyard.engine.worker import WorkerParts, build_workers, connect, open_engine, worker_queue_name
from shipyard.service.work_orders import WorkOrderService
from support import MakeRepo, MakeSettings, git, wait_done

SHIPYARD = str(Path(sys.executable).parent / "shipyard")


async def test_separate_worker_process_runs_the_work_order(
    make_repo: MakeRepo, tmp_path: Path, make_settings: MakeSettings
) -> None:
    repo = make_repo()
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    api_settings = make_settings(
        data_dir=tmp_path / "api", database_url=database_url, agent="claude", heartbeat_timeout_s=30
    )
    assert api_settings.temporal_address is not None
    env = {
        **os.environ,
        "SHIPYARD_DATA_DIR": str(tmp_path / "worker"),
        "SHIPYARD_TEMPORAL_ADDRESS": api_settings.temporal_address,
        "SHIPYARD_TASK_QUEUE": api_settings.task_queue,
        "SHIPYARD_DATABASE_URL": database_url,
    }
    worker = subprocess.Popen([SHIPYARD, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        async with open_engine(api_settings, run_worker=False) as engine:
            app = create_app(WorkOrderService(api_settings, engine.store, engine.client))
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as api:
                flow = {"name": "where", "steps": [{"id": "s", "run": "pwd", "commit": "x"}]}
                body = {
                    "repository_url": str(repo),
                    "workflow_definition": yaml.safe_dump(flow),
                    "agent": "shell",
                }
                wo = (await api.post("/api/agent-work-orders", json=body)).json()["agent_work_order"]
                done = await wait_done(api, wo["agent_work_order_id"], timeout_s=90)
                steps = (await api.get(f"/api/agent-work-orders/{wo['agent_work_order_id']}/steps")).json()
        assert done["status"] == "completed", done["error_message"]
        assert steps["steps"][0]["output"].startswith(str(tmp_path / "worker"))  # ran on the worker's disk
    finally:
        worker.send_signal(signal.SIGINT)
        out, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, out.decode()
    assert b"worker ready" in out


async def test_a_finish_whose_workflow_task_runs_on_another_host_is_done_on_the_sandboxs_host(
    make_repo: MakeRepo, tmp_path: Path, make_settings: MakeSettings
) -> None:
    """The finish runs inside the workflow task when that task's worker holds the sandbox (as on one
    machine). Here host A prepares the sandbox and runs the step, then A's workflow worker stops and
    host B takes the workflow task that finishes: B hands the finish to A's queue, and A does it."""
    repo, started, go = make_repo(), tmp_path / "started", tmp_path / "go"
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    a = make_settings(data_dir=tmp_path / "a", database_url=database_url)
    b = make_settings(data_dir=tmp_path / "b", database_url=database_url, task_queue=a.task_queue)
    assert worker_queue_name(a) != worker_queue_name(b)
    step = f"touch {started}; while [ ! -e {go} ]; do sleep 0.1; done; echo x > x.txt"
    flow = {"name": "held", "steps": [{"id": "s", "run": step, "commit": "x"}]}
    body = {"repository_url": str(repo), "workflow_definition": yaml.safe_dump(flow)}
    async with open_engine(a, run_worker=False) as engine:
        workflows_a, host_a = build_workers(engine.client, a, engine.store, WorkerParts())
        client_b = await connect(engine.temporal_address, b.temporal_namespace)  # a worker per client
        workflows_b, _ = build_workers(client_b, b, engine.store, WorkerParts())
        app = create_app(WorkOrderService(a, engine.store, engine.client))
        transport = httpx.ASGITransport(app=app)
        async with host_a, httpx.AsyncClient(transport=transport, base_url="http://localhost") as api:
            async with workflows_a:
                wo = (await api.post("/api/agent-work-orders", json=body)).json()["agent_work_order"]
                for _ in range(600):
                    if started.exists():
                        break
                    await asyncio.sleep(0.1)
                assert started.exists(), "the step never started"
            async with workflows_b:
                go.touch()
                done = await wait_done(api, wo["agent_work_order_id"], timeout_s=90)
                logs = (
                    await api.get(
                        f"/api/agent-work-orders/{wo['agent_work_order_id']}/logs", params={"limit": 1000}
                    )
                ).json()
        history = await engine.client.get_workflow_handle(done["agent_work_order_id"]).fetch_history()
    assert done["status"] == "completed", done["error_message"]
    scheduled = [
        (
            e.activity_task_scheduled_event_attributes.activity_type.name,
            e.activity_task_scheduled_event_attributes.task_queue.name,
        )
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert scheduled == [("run_step", worker_queue_name(a)), ("finish_work_order", worker_queue_name(a))]
    assert (
        git(repo, "log", "--format=%s", "-1", done["git_branch_name"]).strip() == "x"
    )  # pushed by A's finish
    removed = [e["path"] for e in logs["log_entries"] if e["event"] == "sandbox.removed"]
    assert len(removed) == 1 and removed[0].startswith(str(tmp_path / "a")), removed  # A's tree, by A
    assert not Path(removed[0]).exists()
