"""Schedules: a project source `on: schedule` runs on a Temporal Schedule; firing it (`schedules
trigger`, rather than waiting for its time) starts a work order with `trigger: schedule`, and the
schedule survives a restart of `serve`, follows its source and goes with it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from temporalio.service import RPCError, RPCStatusCode

from cli_kit import shipyard
from shipyard.cli.server import RunningServer, running_server
from shipyard.domain.errors import WorkflowInvalid
from shipyard.workflows.loader import load_definition_text
from support import MakeRepo, MakeSettings, wait_done

NIGHTLY = {
    "name": "nightly",
    "inputs": {"when": {"type": "string", "default": "-"}},
    "steps": [{"id": "stamp", "run": "echo fired at {{ inputs.when }} > stamp.txt", "commit": "stamp"}],
}
SCHEDULE = {
    "on": "schedule",
    "cron": "30 2 * * mon-fri",
    "timezone": "Europe/Berlin",
    "workflow": "nightly",
    "inputs": {"when": "{{ event.scheduled_at }}"},
}


def nightly_repo(make_repo: MakeRepo) -> Path:
    return make_repo(files={".shipyard/workflows/nightly.yaml": yaml.safe_dump(NIGHTLY)})


async def schedules(api: httpx.AsyncClient) -> list[dict[str, Any]]:
    resp = await api.get("/api/schedules")
    assert resp.status_code == 200, resp.text
    listed: list[dict[str, Any]] = resp.json()["schedules"]
    return listed


async def on_temporal(server: RunningServer, schedule_id: str) -> bool:
    handle = server.engine.client.get_schedule_handle(
        f"shipyard:{server.service.settings.task_queue}:{schedule_id}"
    )
    try:
        await handle.describe()
    except RPCError as err:
        assert err.status == RPCStatusCode.NOT_FOUND
        return False
    return True


async def test_a_schedule_fires_pauses_and_goes_with_its_source(
    make_repo: MakeRepo, api: httpx.AsyncClient, server: RunningServer
) -> None:
    repo = nightly_repo(make_repo)
    push = {"on": "push", "workflow": "nightly"}
    body = {"name": "nightly", "repository_url": str(repo), "sources": [push, SCHEDULE]}
    assert (await api.post("/api/projects", json=body)).status_code == 201

    [listed] = await schedules(api)
    assert (listed["project"], listed["source"], listed["workflow"]) == ("nightly", 1, "nightly")
    assert (listed["cron"], listed["timezone"], listed["overlap"]) == (
        "30 2 * * mon-fri",
        "Europe/Berlin",
        "skip",
    )
    assert listed["state"] == "active" and listed["last_work_order_id"] is None
    # 02:30 in Berlin is 00:30 or 01:30 UTC, on weekdays
    assert listed["next_runs"] and all(t[11:16] in ("00:30", "01:30") for t in listed["next_runs"])
    sid = listed["id"]
    assert await on_temporal(server, sid)

    fired = await api.post(f"/api/schedules/{sid}/trigger")
    assert fired.status_code == 202, fired.text
    wid = fired.json()["work_order_id"]
    wo = await wait_done(api, wid)
    assert wo["status"] == "completed", wo["error_message"]
    assert wo["trigger"]["source"] == "schedule" and wo["trigger"]["schedule_id"] == sid
    assert wo["trigger"]["project"] == "nightly" and wo["workflow_type"] == "nightly"
    assert wo["inputs"]["when"] == wo["trigger"]["scheduled_at"]  # its input template read the firing
    [listed] = await schedules(api)
    assert (listed["last_work_order_id"], listed["last_status"]) == (wid, "completed")
    page = await api.get("/projects/nightly")  # the dashboard's project page lists it
    assert sid in page.text and f'href="/work-orders/{wid}"' in page.text

    paused = await api.post(f"/api/schedules/{sid}/pause", json={"note": "holidays"})
    assert (paused.json()["schedule"]["state"], paused.json()["schedule"]["note"]) == ("paused", "holidays")
    assert (await api.post(f"/api/schedules/{sid}/resume")).json()["schedule"]["state"] == "active"

    bad = await api.patch("/api/projects/nightly", json={"sources": [{**SCHEDULE, "cron": "61 2 * * *"}]})
    assert (
        bad.status_code == 422 and "sources.0.cron" in bad.text and "minute '61' is not in 0-59" in bad.text
    )
    zone = await api.patch("/api/projects/nightly", json={"sources": [{**SCHEDULE, "timezone": "Mars/Base"}]})
    assert zone.status_code == 422 and "sources.0.timezone" in zone.text and "Mars/Base" in zone.text
    assert [s["id"] for s in await schedules(api)] == [sid]  # refused changes changed nothing

    assert (await api.patch("/api/projects/nightly", json={"sources": [push]})).status_code == 200
    assert await schedules(api) == []
    assert not await on_temporal(server, sid)
    assert (await api.post(f"/api/schedules/{sid}/trigger")).status_code == 404


async def test_a_source_edit_keeps_the_schedule_and_deleting_the_project_deletes_it(
    make_repo: MakeRepo, api: httpx.AsyncClient, server: RunningServer
) -> None:
    repo = nightly_repo(make_repo)
    body = {"name": "edited", "repository_url": str(repo), "sources": [SCHEDULE]}
    assert (await api.post("/api/projects", json=body)).status_code == 201
    [before] = await schedules(api)
    await api.post(f"/api/schedules/{before['id']}/pause")

    moved = [{"on": "push", "workflow": "nightly"}, {**SCHEDULE, "overlap": "allow_all"}]
    assert (await api.patch("/api/projects/edited", json={"sources": moved})).status_code == 200
    [after] = await schedules(api)
    assert (after["id"], after["source"], after["overlap"], after["state"]) == (
        before["id"],
        1,
        "allow_all",
        "paused",
    )

    twice = await api.patch("/api/projects/edited", json={"sources": [SCHEDULE, SCHEDULE]})
    assert twice.status_code == 422 and "sources[1]: the same schedule as sources[0]" in twice.text

    assert (await api.delete("/api/projects/edited")).status_code == 204
    assert await schedules(api) == [] and not await on_temporal(server, before["id"])


async def test_under_overlap_skip_a_trigger_waits_for_the_last_work_order_to_end(
    make_repo: MakeRepo, api: httpx.AsyncClient
) -> None:
    held = {"name": "held", "steps": [{"id": "hold", "gate": {"message": "go on?"}}]}
    repo = make_repo(files={".shipyard/workflows/held.yaml": yaml.safe_dump(held)})
    source = {"on": "schedule", "cron": "@hourly", "workflow": "held"}
    assert (
        await api.post(
            "/api/projects", json={"name": "held", "repository_url": str(repo), "sources": [source]}
        )
    ).status_code == 201
    [listed] = await schedules(api)
    sid = listed["id"]
    first = (await api.post(f"/api/schedules/{sid}/trigger")).json()["work_order_id"]

    refused = await api.post(f"/api/schedules/{sid}/trigger")  # the first waits at its gate
    assert refused.status_code == 409 and f"its work order {first} is still running" in refused.text

    async with asyncio.timeout(60):
        while (await api.post(f"/api/agent-work-orders/{first}/approve", json={})).status_code == 409:
            await asyncio.sleep(0.1)  # not at its gate yet
    assert (await wait_done(api, first))["status"] == "completed"
    # its firing may not have noticed yet, and Temporal names firings by their second
    again = await api.post(f"/api/schedules/{sid}/trigger")
    assert again.status_code == 202, again.text
    assert again.json()["work_order_id"] not in (None, first)


async def test_a_firing_that_cannot_start_its_work_order_says_why(
    make_repo: MakeRepo, api: httpx.AsyncClient
) -> None:
    source = {"on": "schedule", "cron": "@daily", "workflow": "no_such_flow"}
    body = {"name": "typo", "repository_url": str(make_repo()), "sources": [source]}
    assert (await api.post("/api/projects", json=body)).status_code == 201
    [listed] = await schedules(api)

    fired = await api.post(f"/api/schedules/{listed['id']}/trigger")
    assert fired.status_code == 202 and fired.json()["work_order_id"] is None
    shown = fired.json()["schedule"]
    assert shown["last_status"] == "not started" and "no_such_flow" in shown["last_error"]
    assert (await api.get("/api/agent-work-orders")).json()["agent_work_orders"] == []


def cli(data: Path, *args: str) -> Any:
    """`shipyard ARGS` against whatever serves `data` (in a thread: the server runs on this loop)."""
    return asyncio.to_thread(shipyard, data, *args)


async def test_a_schedule_made_without_a_server_fires_and_survives_restarts_of_serve(
    make_repo: MakeRepo, make_settings: MakeSettings, tmp_path: Path
) -> None:
    settings = make_settings(temporal_address=None)  # serve's own Temporal, kept in the data dir
    data = settings.data_dir
    sources = tmp_path / "sources.yaml"
    sources.write_text(yaml.safe_dump([SCHEDULE]))
    made = await cli(
        data, "projects", "create", "nightly", str(nightly_repo(make_repo)), "--source-file", str(sources)
    )
    assert made.returncode == 0, made.stderr
    offline = await cli(data, "schedules", "ls")  # no server: the schedule as its source says
    assert "nightly" in offline.stdout and "unknown" in offline.stdout

    work_orders = []
    for _ in range(2):
        async with running_server(settings, persistent=True, port=0) as srv:
            listed = await cli(data, "schedules", "ls")
            assert listed.returncode == 0, listed.stderr
            assert "30 2 * * mon-fri" in listed.stdout and "Europe/Berlin" in listed.stdout
            assert "active" in listed.stdout
            assert all(wid in listed.stdout for wid in work_orders)  # the last one, after a restart
            [row] = [line for line in listed.stdout.splitlines() if "nightly" in line]
            sid = row.split()[0]
            fired = await cli(data, "schedules", "trigger", sid)
            assert fired.returncode == 0, fired.stderr
            wid = fired.stdout.split("work order ")[1].strip()
            async with httpx.AsyncClient(base_url=srv.url, timeout=30) as api:
                wo = await wait_done(api, wid)
            assert wo["status"] == "completed" and wo["trigger"]["source"] == "schedule"
            work_orders.append(wid)
    assert len(set(work_orders)) == 2

    async with running_server(settings, persistent=True, port=0) as srv:
        assert (await cli(data, "schedules", "pause", sid)).returncode == 0
        assert "paused" in (await cli(data, "schedules", "ls")).stdout
        fired = await cli(data, "schedules", "trigger", sid)  # a paused one still fires when told
        assert fired.returncode == 0 and "work order wo-" in fired.stdout, fired.stderr
        async with httpx.AsyncClient(base_url=srv.url, timeout=30) as api:
            assert (await wait_done(api, fired.stdout.split("work order ")[1].strip()))[
                "status"
            ] == "completed"
        assert (await cli(data, "projects", "delete", "nightly")).returncode == 0
        assert "no schedules" in (await cli(data, "schedules", "ls")).stdout
        assert not await on_temporal(srv, sid)


@pytest.mark.parametrize(
    ("cron", "says"),
    [
        ("61 * * * *", "minute '61' is not in 0-59"),
        ("* * *", "needs 5 fields"),
        ("0 3 * * funday", "day of week 'funday' is not in 0-7 or sun-sat"),
        ("0 3 31-1 * *", "the range runs backwards"),
    ],
)
def test_a_bad_cron_is_refused_naming_the_field(
    make_repo: MakeRepo, tmp_path: Path, cron: str, says: str
) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text(yaml.safe_dump([{**SCHEDULE, "cron": cron}]))
    made = shipyard(
        tmp_path / "data", "projects", "create", "x", str(make_repo()), "--source-file", str(sources)
    )
    assert made.returncode == 2 and "source 1: cron: " in made.stderr and says in made.stderr


def test_a_workflow_file_cannot_hold_a_schedule() -> None:
    """A repository's workflow files are read when a webhook arrives: nothing would make a schedule
    of one, so saying it there is refused rather than silently never firing."""
    text = yaml.safe_dump({**NIGHTLY, "on": [{"on": "schedule", "cron": "@daily"}]})
    with pytest.raises(WorkflowInvalid, match="'on: schedule' belongs in a project's sources"):
        load_definition_text(text, ".shipyard/workflows/nightly.yaml")
