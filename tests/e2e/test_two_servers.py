"""Two `shipyard serve` processes on one PostgreSQL database and one Temporal: a client of the
API-only server B follows, live, a work order that server A's worker executes."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import yaml

from shipyard.engine.devserver import DevServer, free_port
from support import MakeRepo, PgDatabases

SHIPYARD = str(Path(sys.executable).parent / "shipyard")


async def _healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=url) as client:
        for _ in range(600):
            assert process.poll() is None, process.communicate()[0].decode()
            try:
                if (await client.get("/api/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never became healthy")


async def test_a_client_of_one_server_sees_events_of_work_another_server_runs(
    make_repo: MakeRepo, tmp_path: Path, pg_databases: PgDatabases, temporal: DevServer
) -> None:
    repo = make_repo()
    database_url = await pg_databases.migrated()  # at head (racing migrations: test_store_migrate)
    queue = f"test-{secrets.token_hex(6)}"  # the Temporal server is shared; the queue is this test's
    servers: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    try:
        for name, extra in (("a", []), ("b", ["--no-worker"])):
            port = free_port()
            env = {
                **os.environ,
                "SHIPYARD_DATA_DIR": str(tmp_path / name),
                "SHIPYARD_DATABASE_URL": database_url,
                "SHIPYARD_TEMPORAL_ADDRESS": temporal.address,
                "SHIPYARD_TASK_QUEUE": queue,
                "SHIPYARD_AGENT": "shell",
            }
            cmd = [SHIPYARD, "serve", "--port", str(port), *extra]
            process = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            servers[name] = (process, f"http://127.0.0.1:{port}")
        for process, url in servers.values():
            await _healthy(url, process)

        script = "for i in $(seq 1 40); do echo line-$i; sleep 0.05; done; pwd"
        flow = {"name": "count", "steps": [{"id": "count", "run": script, "commit": "x"}]}
        body = {"repository_url": str(repo), "workflow_definition": yaml.safe_dump(flow), "agent": "shell"}
        async with httpx.AsyncClient(base_url=servers["b"][1], timeout=60) as b:
            created = await b.post("/api/agent-work-orders", json=body)
            assert created.status_code == 201, created.text
            wo_id = created.json()["agent_work_order"]["agent_work_order_id"]
            events = []
            async with b.stream("GET", f"/api/agent-work-orders/{wo_id}/events") as resp:
                async for line in resp.aiter_lines():
                    if line.startswith("data: "):
                        events.append(json.loads(line[6:]))
            steps = (await b.get(f"/api/agent-work-orders/{wo_id}/steps")).json()["steps"]
    finally:
        for process, _ in servers.values():
            process.send_signal(signal.SIGINT)
        outputs = {
            name: process.communicate(timeout=30)[0].decode() for name, (process, _) in servers.items()
        }
    for name, out in outputs.items():
        assert "Traceback" not in out and "error" not in out.lower(), f"server {name}:\n{out}"

    lines = [e["data"]["line"] for e in events if e["type"] == "log" and e["step_id"] == "count"]
    assert lines[:40] == [f"line-{i}" for i in range(1, 41)]
    assert events[-1]["type"] == "workflow.completed"
    assert steps[0]["output"].strip().splitlines()[-1].startswith(str(tmp_path / "a"))  # A's worker ran it
