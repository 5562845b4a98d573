"""Steering a running work order: cancel, pause and resume through the API (real Temporal signals)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from agents.agent_testkit import make_fake_cli
from shipyard.cli.server import RunningServer, running_server
from shipyard.config import Settings
from shipyard.domain.models import WorkOrderStatus
from shipyard.domain.work_orders import WorkOrderChange
from shipyard.service import work_orders
from support import MakeRepo, MakeSettings, git, nap, napping, wait_done


async def start(api: httpx.AsyncClient, repo: Path, steps: list[dict[str, Any]]) -> str:
    body = {
        "repository_url": str(repo),
        "workflow_definition": yaml.safe_dump({"name": "ctl", "steps": steps}),
    }
    resp = await api.post("/api/agent-work-orders", json=body)
    assert resp.status_code == 201, resp.text
    return str(resp.json()["agent_work_order"]["agent_work_order_id"])


async def until(predicate: Any, timeout_s: float = 60) -> None:
    async with asyncio.timeout(timeout_s):
        while not await predicate():
            await asyncio.sleep(0.1)


async def interrupt(api: httpx.AsyncClient, wid: str, action: str) -> httpx.Response:
    return await api.post(
        f"/api/agent-work-orders/{wid}/interrupt", json={"action": action, "reason": "test"}
    )


async def test_cancel_stops_the_running_step_and_cleans_up(
    api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path, settings: Settings
) -> None:
    repo = make_repo()
    started, sleep = tmp_path / "started", nap(600)
    wid = await start(
        api, repo, [{"id": "nap", "run": f"touch {started} && {sleep}"}, {"id": "never", "run": "true"}]
    )

    async def step_running() -> bool:
        return started.exists()

    await until(step_running)
    resp = await interrupt(api, wid, "cancel")
    assert resp.status_code == 200, resp.text
    # The step would sleep 600 s: ending at all means it was stopped. How fast: `./dev bench --only cancel`.
    done = await wait_done(api, wid, timeout_s=60)
    assert done["status"] == "cancelled" and done["error_message"] == "cancelled: test"
    assert not napping(sleep)
    steps = (await api.get(f"/api/agent-work-orders/{wid}/steps")).json()["steps"]
    assert [(s["step_id"], s["status"]) for s in steps] == [("nap", "cancelled")]
    assert not (settings.sandboxes_dir / wid).exists()
    logs = (await api.get(f"/api/agent-work-orders/{wid}/logs", params={"limit": 500})).json()["log_entries"]
    assert logs[-1]["event"] == "workflow.cancelled"
    again = await interrupt(api, wid, "cancel")
    assert again.status_code == 409 and "cancelled" in again.json()["error"]["message"]


async def test_pause_holds_the_next_step_until_resume(
    api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = make_repo()
    first, second = tmp_path / "first", tmp_path / "second"
    wid = await start(
        api,
        repo,
        [{"id": "one", "run": f"touch {first} && sleep 1"}, {"id": "two", "run": f"touch {second}"}],
    )

    async def first_running() -> bool:
        return first.exists()

    await until(first_running)
    assert (await interrupt(api, wid, "pause")).status_code == 200

    async def paused() -> bool:
        wo = (await api.get(f"/api/agent-work-orders/{wid}")).json()["agent_work_order"]
        return bool(wo["status"] == "paused")

    await until(paused)
    assert (await interrupt(api, wid, "pause")).status_code == 409  # already paused
    await asyncio.sleep(1.5)
    assert not second.exists()  # held
    assert (await interrupt(api, wid, "resume")).status_code == 200
    done = await wait_done(api, wid)
    assert done["status"] == "completed" and second.exists()
    events = (await api.get(f"/api/agent-work-orders/{wid}/logs", params={"limit": 500})).json()[
        "log_entries"
    ]
    kinds = [e["event"] for e in events]
    assert kinds.index("workflow.paused") < kinds.index("workflow.resumed")


async def test_controls_answer_404_409_and_422(api: httpx.AsyncClient, make_repo: MakeRepo) -> None:
    assert (await interrupt(api, "wo-00000000", "pause")).status_code == 404
    wid = await start(api, make_repo(), [{"id": "quick", "run": "true"}])
    await wait_done(api, wid)
    for action in ("pause", "resume", "cancel"):
        resp = await interrupt(api, wid, action)
        assert resp.status_code == 409, resp.text
        assert resp.json()["error"]["message"] == f"work order {wid} is completed; it cannot {action}"
    bad = await api.post(f"/api/agent-work-orders/{wid}/interrupt", json={"action": "explode"})
    assert bad.status_code == 422 and "action" in bad.json()["error"]["message"]


async def test_retry_runs_only_from_the_failed_step(
    api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = make_repo()
    runs, fixed = tmp_path / "runs", tmp_path / "fixed"
    runs.mkdir()

    def step(name: str, extra: str = "") -> dict[str, Any]:
        return {
            "id": name,
            "run": f"echo x >> {runs}/{name}{extra} && echo {name} > {name}.txt",
            "commit": name,
        }

    wid = await start(
        api,
        repo,
        [step("one"), step("two"), step("three", f" && test -f {fixed}"), step("four")],
    )
    failed = await wait_done(api, wid)
    assert failed["status"] == "failed" and "step 'three' failed" in failed["error_message"]
    assert not (await api.post(f"/api/agent-work-orders/{wid}/retry", json={"step_id": "nine"})).is_success

    fixed.touch()
    resp = await api.post(f"/api/agent-work-orders/{wid}/retry")
    assert resp.status_code == 200, resp.text
    done = await wait_done(api, wid)
    assert done["status"] == "completed", done["error_message"]
    counts = {name: (runs / name).read_text().count("x") for name in ("one", "two", "three", "four")}
    assert counts == {"one": 1, "two": 1, "three": 2, "four": 1}
    assert done["git_commit_count"] == 4  # the first run's commits are still on the branch
    again = await api.post(f"/api/agent-work-orders/{wid}/retry")
    assert again.status_code == 409 and "completed" in again.json()["error"]["message"]


async def test_a_retry_waits_for_the_previous_run_to_close(
    api: httpx.AsyncClient,
    server: RunningServer,
    make_repo: MakeRepo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A work order's end is stored just before its workflow closes: a retry in between waits for
    the close (here it never comes: 409, nothing changed) instead of being lost."""
    started, sleep = tmp_path / "started", nap(600)
    wid = await start(api, make_repo(), [{"id": "nap", "run": f"touch {started} && {sleep}"}])

    async def step_running() -> bool:
        return started.exists()

    await until(step_running)
    ended = WorkOrderChange(status=WorkOrderStatus.FAILED, error_message="step 'nap' failed: exit code 1")
    await server.service.store.update_work_order(wid, ended)  # as a finish does, its run still open
    monkeypatch.setattr(work_orders, "RETRY_WAIT_S", 0.5)

    resp = await api.post(f"/api/agent-work-orders/{wid}/retry")

    assert resp.status_code == 409 and "has not closed" in resp.json()["error"]["message"], resp.text
    wo = (await api.get(f"/api/agent-work-orders/{wid}")).json()["agent_work_order"]
    assert (wo["status"], wo["error_message"]) == ("failed", "step 'nap' failed: exit code 1")
    await server.engine.client.get_workflow_handle(wid).terminate("the test is over")
    await until(lambda: _not_napping(sleep))


async def _not_napping(marker: str) -> bool:
    return not napping(marker)


async def test_retry_with_git_branch_sandbox_keeps_earlier_commits(
    api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo, fixed = make_repo(), tmp_path / "fixed"
    steps = [
        {"id": "one", "run": "echo 1 > one.txt", "commit": "one"},
        {"id": "two", "run": f"test -f {fixed} && echo 2 > two.txt", "commit": "two"},
    ]
    body = {
        "repository_url": str(repo),
        "sandbox_type": "git_branch",
        "workflow_definition": yaml.safe_dump({"name": "clone_retry", "steps": steps}),
    }
    wid = (await api.post("/api/agent-work-orders", json=body)).json()["agent_work_order"][
        "agent_work_order_id"
    ]
    assert (await wait_done(api, wid))["status"] == "failed"
    fixed.touch()
    assert (await api.post(f"/api/agent-work-orders/{wid}/retry", json={})).status_code == 200
    done = await wait_done(api, wid)
    assert done["status"] == "completed" and done["git_commit_count"] == 2


async def test_work_order_timeout_stops_it_as_failed(api: httpx.AsyncClient, make_repo: MakeRepo) -> None:
    definition = {
        "name": "too_slow",
        "timeout": "3s",
        "steps": [{"id": f"s{i}", "run": "sleep 1.5", "commit": f"s{i}"} for i in range(5)],
    }
    body = {"repository_url": str(make_repo()), "workflow_definition": yaml.safe_dump(definition)}
    wid = (await api.post("/api/agent-work-orders", json=body)).json()["agent_work_order"][
        "agent_work_order_id"
    ]
    done = await wait_done(api, wid, timeout_s=60)
    assert done["status"] == "failed"
    assert done["error_message"] == "timeout: the work order ran longer than 3 s"
    steps = {
        s["step_id"]: s["status"]
        for s in (await api.get(f"/api/agent-work-orders/{wid}/steps")).json()["steps"]
    }
    assert "s4" not in steps  # stopped early: between steps, or by cancelling the running one
    assert set(steps.values()) <= {"completed", "cancelled"}


async def test_prompt_sent_while_a_step_runs_is_delivered_after_it(
    api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path, settings: Settings
) -> None:
    repo, started = make_repo(), tmp_path / "started"
    wid = await start(
        api,
        repo,
        [
            {
                "id": "work",
                "phase": "implementing",
                "prompt": f"touch {started}; sleep 1; echo base > base.txt",
            },
            {"id": "check", "run": "test -f note.txt"},  # the follow-up ran before this step
        ],
    )

    async def running() -> bool:
        return started.exists()

    await until(running)
    text = "echo '{{ not a template }}' > note.txt"
    resp = await api.post(f"/api/agent-work-orders/{wid}/prompt", json={"prompt_text": text})
    assert resp.status_code == 200 and resp.json()["prompt_accepted"] is True
    done = await wait_done(api, wid)
    assert done["status"] == "completed", done["error_message"]
    steps = {s["step_id"]: s for s in (await api.get(f"/api/agent-work-orders/{wid}/steps")).json()["steps"]}
    assert list(steps) == ["work", "check", "prompt-1"]  # follow-ups are listed last
    assert steps["prompt-1"]["status"] == "completed" and steps["prompt-1"]["agent"] == "shell"
    branch = done["git_branch_name"]
    assert git(repo, "show", f"{branch}:note.txt") == "{{ not a template }}\n"
    assert "prompt: echo '{{ not a template }}' > note.txt" in git(repo, "log", "--format=%s", branch)
    events = (await api.get(f"/api/agent-work-orders/{wid}/logs", params={"limit": 1000})).json()[
        "log_entries"
    ]
    queued = [e for e in events if e["event"] == "agent.prompt_queued"]
    delivered = [e for e in events if e["event"] == "agent.started" and e["step_id"] == "prompt-1"]
    assert queued[0]["prompt"] == text and delivered[0]["prompt"] == text
    mirrored = (settings.logs_dir / done["created_at"][:10] / f"{wid}.jsonl").read_text()
    assert '"event": "agent.prompt_queued"' in mirrored  # the API's own events reach the JSONL file


async def test_a_prompt_the_work_order_never_ran_is_reported(
    api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    started = tmp_path / "started"
    wid = await start(api, make_repo(), [{"id": "doomed", "run": f"touch {started}; sleep 1; exit 3"}])

    async def running() -> bool:
        return started.exists()

    await until(running)
    resp = await api.post(f"/api/agent-work-orders/{wid}/prompt", json={"prompt_text": "also fix the docs"})
    assert resp.status_code == 200
    done = await wait_done(api, wid)
    assert done["status"] == "failed"
    events = (await api.get(f"/api/agent-work-orders/{wid}/logs", params={"limit": 1000})).json()[
        "log_entries"
    ]
    dropped = [e for e in events if e["event"] == "agent.prompt_dropped"]
    assert [e["prompt"] for e in dropped] == ["also fix the docs"]
    assert "failed before this prompt could run" in dropped[0]["reason"]
    assert [e["event"] for e in events].index("agent.prompt_dropped") < len(events) - 1  # before the end


async def test_prompt_errors(api: httpx.AsyncClient, make_repo: MakeRepo) -> None:
    unknown = await api.post("/api/agent-work-orders/wo-00000000/prompt", json={"prompt_text": "hi"})
    assert unknown.status_code == 404
    wid = await start(api, make_repo(), [{"id": "quick", "run": "true"}])
    await wait_done(api, wid)
    late = await api.post(f"/api/agent-work-orders/{wid}/prompt", json={"prompt_text": "hi"})
    assert late.status_code == 409 and "no more prompts" in late.json()["error"]["message"]
    empty = await api.post(f"/api/agent-work-orders/{wid}/prompt", json={"prompt_text": ""})
    assert empty.status_code == 422


async def step_status(api: httpx.AsyncClient, wid: str, step_id: str) -> str | None:
    steps = (await api.get(f"/api/agent-work-orders/{wid}/steps")).json()["steps"]
    return next((s["status"] for s in steps if s["step_id"] == step_id), None)


async def test_gate_waits_for_approval_and_passes_the_response_on(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    repo = make_repo()
    wid = await start(
        api,
        repo,
        [
            {"id": "warmup", "run": "sleep 1"},
            {"id": "review", "gate": {"message": "Ship it?"}},
            {"id": "act", "run": "echo {{ steps.review.output }} > answer.txt", "commit": "answer"},
        ],
    )
    early = await api.post(f"/api/agent-work-orders/{wid}/approve", json={"response": "too soon"})
    assert early.status_code == 409 and "not waiting at a gate" in early.json()["error"]["message"]

    async def waiting() -> bool:
        return await step_status(api, wid, "review") == "waiting"

    await until(waiting)
    await asyncio.sleep(0.5)
    assert await step_status(api, wid, "act") is None  # held at the gate
    resp = await api.post(f"/api/agent-work-orders/{wid}/approve", json={"response": "ship it; now"})
    assert resp.status_code == 200 and resp.json()["step_id"] == "review"
    done = await wait_done(api, wid)
    assert done["status"] == "completed", done["error_message"]
    assert git(repo, "show", f"{done['git_branch_name']}:answer.txt") == "ship it; now\n"  # quoted, not run
    events = (await api.get(f"/api/agent-work-orders/{wid}/logs", params={"limit": 500})).json()[
        "log_entries"
    ]
    kinds = [e["event"] for e in events]
    assert kinds.index("workflow.gate.waiting") < kinds.index("workflow.gate.completed")


async def test_advance_skips_a_gate_and_a_gate_can_time_out(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    repo = make_repo()
    # An approval gate that is not answered in time fails, and so does a gate on CI checks (here
    # from an expression) that hears of none, saying which. Started first: they time out meanwhile.
    timed = await start(
        api, repo, [{"id": "hold", "gate": {}, "timeout": "1s"}, {"id": "after", "run": "true"}]
    )
    unheard = await start(api, repo, [{"id": "ci", "gate": {"checks": "{{ ['ci/test'] }}"}, "timeout": "1s"}])
    skipped = await start(api, repo, [{"id": "hold", "gate": {}}, {"id": "after", "run": "true"}])

    async def waiting() -> bool:
        return await step_status(api, skipped, "hold") == "waiting"

    await until(waiting)
    assert (await api.post(f"/api/agent-work-orders/{skipped}/advance")).status_code == 200
    done = await wait_done(api, skipped)
    assert done["status"] == "completed"
    assert await step_status(api, skipped, "hold") == "skipped"
    assert (await api.post(f"/api/agent-work-orders/{skipped}/advance")).status_code == 409

    done = await wait_done(api, timed)
    assert done["status"] == "failed"
    assert done["error_message"] == "step 'hold' failed: timed out after 1 s waiting for approval"
    done = await wait_done(api, unheard)
    assert (
        done["error_message"]
        == "step 'ci' failed: timed out after 1 s waiting for checks; no result from ci/test"
    )
    [ci] = (await api.get(f"/api/agent-work-orders/{unheard}/steps")).json()["steps"]
    assert (ci["status"], ci["output_data"]) == (
        "failed",
        {"checks": [{"name": "ci/test", "conclusion": None}]},
    )


def replay_turns(count: int, cost_usd: float = 0.0) -> str:
    actions: list[dict[str, Any]] = []
    for i in range(count):
        actions += [
            {"write": f"turn{i}.txt", "content": f"{i}\n"},
            {"usage": {"turns": 1, "input_tokens": 100, "output_tokens": 10, "cost_usd": cost_usd}},
            {"sleep": 0.05},
        ]
    return yaml.safe_dump({"replay": actions})


async def test_max_turns_stops_the_agent_and_fails_with_budget_exceeded(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    definition = {"name": "chatty", "steps": [{"id": "talk", "prompt": replay_turns(10), "commit": "talk"}]}
    body = {
        "repository_url": str(make_repo()),
        "workflow_definition": yaml.safe_dump(definition),
        "agent": "replay",
        "budget": {"max_turns": 2},
    }
    wid = (await api.post("/api/agent-work-orders", json=body)).json()["agent_work_order"][
        "agent_work_order_id"
    ]
    done = await wait_done(api, wid)
    assert done["status"] == "failed"
    assert "budget_exceeded: max_turns 2 crossed (spent 3 turns" in done["error_message"]
    events = (await api.get(f"/api/agent-work-orders/{wid}/logs", params={"limit": 1000})).json()[
        "log_entries"
    ]
    usage_events = [e for e in events if e["event"] == "agent.usage"]
    assert usage_events[-1]["turns"] == 3  # stopped at the first report past the limit
    assert done["usage"]["turns"] == usage_events[-1]["turns"]
    assert done["usage"]["input_tokens"] == usage_events[-1]["input_tokens"]
    steps = (await api.get(f"/api/agent-work-orders/{wid}/steps")).json()["steps"]
    assert steps[0]["status"] == "failed" and steps[0]["attempt"] == 1  # not retried
    assert done["budget"]["max_turns"] == 2
    assert (await api.post(f"/api/agent-work-orders/{wid}/retry", json={})).status_code == 200
    again = await wait_done(api, wid)  # a retry keeps the work order's own budget
    assert again["status"] == "failed" and "budget_exceeded: max_turns 2" in again["error_message"]


async def test_a_budget_stop_keeps_the_agent_session_for_resuming(
    make_settings: MakeSettings, make_repo: MakeRepo, tmp_path: Path
) -> None:
    session = "5f0c7f0e-8d1e-4d5b-9a4e-2b7e6c1d9a10"
    usage = {"input_tokens": 3, "cache_read_input_tokens": 10000, "output_tokens": 90}

    def assistant(message_id: str, text: str) -> dict[str, Any]:
        message = {"id": message_id, "type": "message", "role": "assistant", "model": "claude-sonnet-4-5"}
        content = [{"type": "text", "text": text}]
        return {
            "type": "assistant",
            "message": {**message, "content": content, "usage": usage},
            "parent_tool_use_id": None,
            "session_id": session,
        }

    init = {"type": "system", "subtype": "init", "session_id": session, "model": "claude-sonnet-4-5"}
    lines = [init, assistant("msg_01", "Looking around."), assistant("msg_02", "Now the tests.")]
    claude = make_fake_cli(tmp_path / "fake-claude", "claude", {"stdout": lines, "sleep_s": 60})
    settings = make_settings(claude_binary=str(claude.binary))
    body = {
        "repository_url": str(make_repo()),
        "workflow_definition": yaml.safe_dump({"name": "long", "steps": [{"id": "work", "prompt": "go"}]}),
        "agent": "claude",
        "budget": {"max_turns": 1},
    }
    async with (
        running_server(settings, persistent=False, port=0, announce=False) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=30) as api,
    ):
        wid = (await api.post("/api/agent-work-orders", json=body)).json()["agent_work_order"][
            "agent_work_order_id"
        ]
        done = await wait_done(api, wid)
    assert done["status"] == "failed" and "budget_exceeded: max_turns 1" in done["error_message"]
    assert done["agent_session_id"] == session


async def test_workflow_budget_on_cost_counts_earlier_steps(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    definition = {
        "name": "pricey",
        "budget": {"max_cost_usd": 0.5},
        "steps": [
            {"id": "first", "prompt": replay_turns(2, cost_usd=0.2)},  # spends 0.4
            {"id": "second", "prompt": replay_turns(2, cost_usd=0.2)},  # crosses 0.5 on its first turn
        ],
    }
    body = {
        "repository_url": str(make_repo()),
        "workflow_definition": yaml.safe_dump(definition),
        "agent": "replay",
    }
    wid = (await api.post("/api/agent-work-orders", json=body)).json()["agent_work_order"][
        "agent_work_order_id"
    ]
    done = await wait_done(api, wid)
    assert done["status"] == "failed"
    assert "step 'second' failed: budget_exceeded: max_cost_usd 0.5 crossed" in done["error_message"]
    assert round(done["usage"]["cost_usd"], 2) == 0.6  # the first step's 0.4 and the crossing turn


async def test_bad_budget_is_a_422(api: httpx.AsyncClient, make_repo: MakeRepo) -> None:
    body = {
        "repository_url": str(make_repo()),
        "workflow_type": "agent_workflow_plan",
        "budget": {"max_turns": -1},
    }
    resp = await api.post("/api/agent-work-orders", json=body)
    assert resp.status_code == 422 and "max_turns" in resp.json()["error"]["message"]
