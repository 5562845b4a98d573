"""The chat beside an idea run, through its API against the real engine: text goes to the running
agent (whose answer comes back into the chat), each slash command steers the run or says why it
could not, and what is no message at all is refused before anything is recorded."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from test_idea_control import spec_running, started, until
from test_idea_runs import SPEC, task, wait_run

from shipyard.config import Settings
from support import MakeRepo, MakeSettings

PLAN = {"features": [{"title": "Hello", "tasks": [task("Hello module", "hello.py", "X = 1\n")]}]}
ANSWER = "Noted: louder it is."


@pytest.fixture
def settings(make_settings: MakeSettings, tmp_path: Path) -> Settings:
    replay = tmp_path / "replay.yaml"
    replay.write_text(
        yaml.safe_dump(
            {
                "spec": [{"sleep": 1.5}, {"write": SPEC, "content": "# spec\n"}, {"message": "ok"}],
                "prompt-1": [{"message": ANSWER}],  # the follow-up the chat sent the spec writer
                "plan": [{"message": json.dumps(PLAN)}],
            }
        )
    )
    return make_settings(agent="replay", replay_file=replay)


async def say(api: httpx.AsyncClient, run_id: str, text: str) -> dict[str, Any]:
    """The system's answer to `text`, after checking the person's message came back first."""
    sent = await api.post(f"/api/runs/{run_id}/chat", json={"text": text})
    assert sent.status_code == 201, sent.text
    person, system = sent.json()["messages"]
    assert (person["author"], person["text"], system["author"]) == ("person", text.strip(), "system")
    return dict(system)


async def test_the_chat_prompts_the_running_agent_and_steers_the_run_with_slash_commands(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    repo = make_repo("greet", {"README.md": "# greet\n"})
    body = {"ideaText": "Greeting helpers", "repo": str(repo), "options": {"dryRun": True}}
    run_id = (await api.post("/api/ideas", json=body)).json()["runId"]
    spec_wo = await spec_running(api, run_id)

    sent = await say(api, run_id, "  Make it louder ")
    assert (
        sent["text"].startswith(f"Sent to work order {spec_wo} (spec of epic #")
        and sent["workOrderId"] == spec_wo
    )
    refused = await say(api, run_id, "/resume")
    assert (refused["level"], refused["text"]) == ("warning", f"/resume refused: run {run_id} is not paused")
    assert (await say(api, run_id, "/pause lunch"))["text"].startswith("Paused: the run holds")
    status = await say(api, run_id, "/status")
    assert status["text"].startswith("The run is SPEC_WRITING, paused (lunch). Now: epic #")
    assert f"work order {spec_wo} running" in status["text"]
    run = await until(api, run_id, lambda run: run["state"] == "EXECUTION_LOOP")
    await asyncio.sleep(0.5)
    assert started((await api.get(f"/api/runs/{run_id}")).json(), "draft") == []  # held
    idle = await say(api, run_id, "still there?")
    assert idle["text"].startswith("No agent is running now (it is between work orders)")
    assert (await say(api, run_id, "/advance"))["text"] == "Advanced: nothing blocks the run; it goes on."
    assert (await say(api, run_id, "/cancel wrong idea"))["text"].startswith("Cancel requested")
    run = await wait_run(api, run_id, timeout_s=60)
    assert run["state"] == "CANCELLED" and "wrong idea" in run["timeline"][-1]["msg"]

    [epic] = (await api.get(f"/api/runs/{run_id}/issues")).json()["issues"]
    again = await say(api, run_id, f"/retry #{epic['id']}")
    assert again["text"] == f"Retrying from epic #{epic['id']} (Greeting helpers): what is done stays done."
    run = await wait_run(api, run_id, timeout_s=60)
    assert run["state"] == "DONE", run["error"]
    late = await say(api, run_id, "/advance")
    assert late["level"] == "warning" and f"run {run_id} is DONE; nothing to advance" in late["text"]
    assert "/retry refused: issue 2147483647" in (await say(api, run_id, "/retry 2147483647"))["text"]
    assert "it has ended" in (await say(api, run_id, "hello?"))["text"]
    assert (await say(api, run_id, "/help"))["text"].startswith("Commands: /pause [reason]: hold the run")

    history = (await api.get(f"/api/runs/{run_id}/chat")).json()["messages"]
    authors = [(m["author"], m["text"]) for m in history]
    asked = authors.index(("person", "Make it louder"))
    answered = authors.index(("agent", ANSWER))  # the spec writer's answer to the follow-up
    assert asked < answered and history[answered]["workOrderId"] == spec_wo
    chat_events = [e for e in run["timeline"] if e["type"] == "chat.message"]
    assert [e["data"]["author"] for e in chat_events[:2]] == ["person", "system"]

    for text, says in [
        ("   ", "write a message or a /command"),
        ("/explode", "unknown command /explode; commands: /pause [reason], /resume,"),
        ("/retry", "/retry needs the issue"),
        ("/retry twelve", "/retry needs the issue"),
        ("/status now", "/status takes nothing after it"),
    ]:
        bad = await api.post(f"/api/runs/{run_id}/chat", json={"text": text})
        assert bad.status_code == 422 and says in bad.json()["error"]["message"], (text, bad.text)
    assert (await api.post(f"/api/runs/{run_id}/chat", json={})).status_code == 422
    assert (await api.post(f"/api/runs/{run_id}/chat", json={"text": "x" * 20_001})).status_code == 422
    assert (await api.post("/api/runs/run-00000000/chat", json={"text": "/status"})).status_code == 404
    assert len((await api.get(f"/api/runs/{run_id}/chat")).json()["messages"]) == len(history)
