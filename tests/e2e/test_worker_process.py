"""`shipyard worker` alone: an API process without a worker hands work to a separate worker process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import yaml

from shipyard.api.app import create_app
from shipyard.engine.worker import open_engine
from shipyard.service.work_orders import WorkOrderService
from support import MakeRepo, MakeSettings, wait_done

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
