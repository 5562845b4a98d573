"""The dashboard's control forms against a real engine: pause and resume, a prompt, a gate's
approval, a retry. Each answers with a redirect to the work order and a line saying it was done."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import yaml

from support import MakeRepo, wait_done


async def start(api: httpx.AsyncClient, repo: Path, steps: list[dict[str, Any]]) -> str:
    definition = yaml.safe_dump({"name": "ctl", "steps": steps})
    resp = await api.post(
        "/api/agent-work-orders", json={"repository_url": str(repo), "workflow_definition": definition}
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["agent_work_order"]["agent_work_order_id"])


async def send(api: httpx.AsyncClient, wid: str, action: str, **form: str) -> httpx.Response:
    resp = await api.post(f"/work-orders/{wid}/{action}", data=form)
    assert resp.status_code == 303, resp.text[:500]
    assert resp.headers["location"] == f"/work-orders/{wid}?done={action}"
    return resp


async def status_of(api: httpx.AsyncClient, wid: str) -> dict[str, Any]:
    wo: dict[str, Any] = (await api.get(f"/api/agent-work-orders/{wid}")).json()["agent_work_order"]
    return wo


async def until(check: Any, timeout_s: float = 60) -> None:
    async with asyncio.timeout(timeout_s):
        while not await check():
            await asyncio.sleep(0.1)


async def test_pause_resume_and_a_prompt_from_the_page(
    api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    wid = await start(api, make_repo(), [
        {"id": "wait", "run": f"while [ ! -f {go} ]; do sleep 0.1; done"},
        {"id": "after", "run": "echo after"},
    ])  # fmt: skip
    await until(lambda: _step_running(api, wid, "wait"))
    await send(api, wid, "pause")
    page = await api.get(f"/work-orders/{wid}?done=pause")
    assert "Pause requested" in page.text
    await send(api, wid, "prompt", prompt_text="echo from-the-page > prompted.txt")
    go.touch()

    async def paused() -> bool:
        return (await status_of(api, wid))["status"] == "paused"

    await until(paused)
    assert 'action="/work-orders/' + wid + '/resume"' in (await api.get(f"/work-orders/{wid}")).text
    await send(api, wid, "resume")
    done = await wait_done(api, wid)
    assert done["status"] == "completed"
    steps = [s["step_id"] for s in (await api.get(f"/api/agent-work-orders/{wid}/steps")).json()["steps"]]
    assert "after" in steps and any(s.startswith("prompt-") for s in steps)  # the prompt ran as its own step


async def _step_running(api: httpx.AsyncClient, wid: str, step_id: str) -> bool:
    steps = (await api.get(f"/api/agent-work-orders/{wid}/steps")).json()["steps"]
    return any(s["step_id"] == step_id and s["status"] == "running" for s in steps)


async def test_a_gate_is_approved_from_the_page_and_a_failure_retried(
    api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    fixed = tmp_path / "fixed"
    wid = await start(api, make_repo(), [
        {"id": "review", "gate": {"message": "Look at the plan first."}},
        {"id": "check", "run": f"test -f {fixed}"},
    ])  # fmt: skip

    async def waiting() -> bool:
        return "Waiting at gate" in (await api.get(f"/work-orders/{wid}")).text

    await until(waiting)
    assert "Look at the plan first." in (await api.get(f"/work-orders/{wid}")).text
    await send(api, wid, "approve", response="looks right")
    failed = await wait_done(api, wid)
    assert failed["status"] == "failed"
    steps = {s["step_id"]: s for s in (await api.get(f"/api/agent-work-orders/{wid}/steps")).json()["steps"]}
    assert steps["review"]["output"] == "looks right"
    assert "Retry from the failed step" in (await api.get(f"/work-orders/{wid}")).text
    fixed.touch()
    await send(api, wid, "retry")
    assert (await wait_done(api, wid))["status"] == "completed"
    again = await api.post(f"/work-orders/{wid}/retry")  # nothing left to retry: said in the page
    assert again.status_code == 409 and 'role="alert"' in again.text
