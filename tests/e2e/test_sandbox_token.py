"""SHIPYARD_TOKEN: a sandbox reports events and uploads artifacts to its own work order with
`shipyard report`; the token is good for nothing else and for no longer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import yaml

from shipyard.cli.server import RunningServer
from shipyard.domain.tokens import mint_sandbox_token
from support import MakeRepo, wait_done


async def start(api: httpx.AsyncClient, repo: Path, run: str) -> str:
    definition = yaml.safe_dump({"name": "rep", "steps": [{"id": "rep", "run": run}]})
    resp = await api.post(
        "/api/agent-work-orders", json={"repository_url": str(repo), "workflow_definition": definition}
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["agent_work_order"]["agent_work_order_id"])


async def test_a_sandbox_reports_on_its_own_work_order_and_nothing_else(
    api: httpx.AsyncClient, server: RunningServer, make_repo: MakeRepo, tmp_path: Path
) -> None:
    kept = tmp_path / "token"
    go = tmp_path / "go"
    other = await start(api, make_repo("other"), f"while [ ! -f {go} ]; do sleep 0.1; done")
    script = (
        f'echo token=$SHIPYARD_TOKEN; printf %s "$SHIPYARD_TOKEN" > {kept}; '
        "echo '<coverage>91%</coverage>' > coverage.xml; "
        "shipyard report event tests passed=41 failed=0 suite=unit && "
        "shipyard report artifact coverage.xml"
    )
    wid = await start(api, make_repo(), script)
    done = await wait_done(api, wid)
    assert done["status"] == "completed", done["error_message"]
    token = kept.read_text()
    logs = (await api.get(f"/api/agent-work-orders/{wid}/logs", params={"limit": 1000})).json()["log_entries"]
    reported = next(e for e in logs if e["event"] == "report.tests")
    assert (reported["passed"], reported["failed"], reported["suite"], reported["step_id"]) == (
        41,
        0,
        "unit",
        "rep",
    )
    assert any(e["event"] == "artifact.uploaded" and e["name"] == "coverage.xml" for e in logs)
    assert "token=***" in str(logs) and token not in str(logs)  # the token itself is never shown
    listed = (await api.get(f"/api/agent-work-orders/{wid}/artifacts")).json()["artifacts"]
    assert [(a["name"], a["content_type"]) for a in listed] == [("coverage.xml", "application/xml")]
    file = await api.get(f"/api/agent-work-orders/{wid}/artifacts/coverage.xml")
    assert file.content == b"<coverage>91%</coverage>\n"

    bearer = {"Authorization": f"Bearer {token}"}
    body = {"type": "sneaky", "data": {}}
    elsewhere = await api.post(f"/api/agent-work-orders/{other}/report", json=body, headers=bearer)
    assert elsewhere.status_code == 403 and "another work order" in elsewhere.json()["error"]["message"]
    upload = await api.put(f"/api/agent-work-orders/{other}/artifacts/x.txt", content=b"x", headers=bearer)
    assert upload.status_code == 403
    ended = await api.post(f"/api/agent-work-orders/{wid}/report", json=body, headers=bearer)
    assert ended.status_code == 403 and "has ended" in ended.json()["error"]["message"]
    stale = mint_sandbox_token(
        server.service.settings.signing_key(), other, datetime.now(UTC) - timedelta(seconds=1)
    )
    expired = await api.post(
        f"/api/agent-work-orders/{other}/report", json=body, headers={"Authorization": f"Bearer {stale}"}
    )
    assert expired.status_code == 403 and "expired" in expired.json()["error"]["message"]
    go.touch()
    await wait_done(api, other)
    assert not [
        e
        for e in (await api.get(f"/api/agent-work-orders/{other}/logs")).json()["log_entries"]
        if e["event"].startswith("report.")
    ]


async def test_bad_reports_are_refused_clearly(
    api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    wid = await start(api, make_repo(), f"while [ ! -f {go} ]; do sleep 0.1; done")
    bad_type = await api.post(f"/api/agent-work-orders/{wid}/report", json={"type": "Workflow Completed!"})
    assert bad_type.status_code == 422
    bad_level = await api.post(f"/api/agent-work-orders/{wid}/report", json={"type": "x", "level": "loud"})
    assert bad_level.status_code == 422 and "level must be one of" in bad_level.text
    bad_name = await api.put(f"/api/agent-work-orders/{wid}/artifacts/..%2Fescape", content=b"x")
    assert bad_name.status_code in (404, 422)
    go.touch()
    await wait_done(api, wid)
