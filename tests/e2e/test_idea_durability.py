"""`shipyard serve` killed with SIGKILL in the middle of an idea run, then started again: the run
goes on to DONE with no issue, pull request, merge or work order made twice."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from test_durability import answers, start_serve, stop, wait_for
from test_idea_runs import SPEC, task

from shipyard.engine.devserver import free_port
from support import MakeRepo


def run_of(url: str, run_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(f"{url}/api/runs/{run_id}").json()
    return answer


def test_an_idea_run_survives_a_sigkill_of_serve_without_doing_anything_twice(
    make_repo: MakeRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counts = tmp_path / "counts"
    counts.mkdir()
    slow = task("B", "b.py", "B = 1\n")  # counts its runs, and naps long enough to be killed in
    slow["body"] = slow["body"].replace(
        "```replay\n", f"```replay\n- run: echo run >> {counts}/b\n- sleep: 3\n"
    )
    plan = {"features": [{"title": "Parts", "tasks": [task("A", "a.py", "A = 1\n"), slow]}]}
    replay = tmp_path / "replay.yaml"
    replay.write_text(
        yaml.safe_dump(
            {
                "spec": [{"write": SPEC, "content": "# spec\n"}, {"message": "ok"}],
                "plan": [{"message": json.dumps(plan)}],
                "review": [{"message": json.dumps({"defects": []})}],
                "notes": [{"message": "notes"}],
            }
        )
    )
    monkeypatch.setenv("SHIPYARD_AGENT", "replay")
    monkeypatch.setenv("SHIPYARD_REPLAY_FILE", str(replay))
    repo = make_repo("greet", {"README.md": "# greet\n"})
    data, port, log = tmp_path / "data", free_port(), tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    serve = start_serve(data, port, log, workers=0)
    try:
        wait_for(lambda: httpx.get(f"{url}/api/health").status_code == 200, 60, "serve to start")
        created = httpx.post(
            f"{url}/api/ideas",
            json={"ideaText": "Greeting helpers", "repo": str(repo), "options": {"qaRounds": 0}},
        )
        run_id = created.json()["runId"]
        wait_for(lambda: (counts / "b").exists(), 90, "task B's work to start")
        temporal = json.loads((data / "server.json").read_text())["temporal"]
        serve.send_signal(signal.SIGKILL)
        serve.wait(10)
        wait_for(lambda: not answers(temporal), 30, "the dev server to exit")

        serve = start_serve(data, port, log, workers=0)
        wait_for(lambda: httpx.get(f"{url}/api/health").status_code == 200, 60, "serve to restart")
        wait_for(lambda: run_of(url, run_id)["state"] in ("DONE", "FAILED"), 120, "the run to end")
        run = run_of(url, run_id)
        assert run["state"] == "DONE", (run["error"], log.read_text()[-3000:])
        [epic] = httpx.get(f"{url}/api/runs/{run_id}/issues").json()["issues"]
        issues = [epic, *epic["children"], *epic["children"][0]["children"]]
        wos = httpx.get(f"{url}/api/agent-work-orders", params={"limit": 100}).json()["agent_work_orders"]
    finally:
        stop(serve)

    assert [i["title"] for i in issues] == ["Greeting helpers", "Parts", "A", "B"]  # none twice
    assert len({i["prNumber"] for i in issues}) == 4
    merges = subprocess_out(repo, "log", "--merges", "--format=%s", "integration").splitlines()
    assert len(merges) == 4  # two tasks into the feature, the feature into the epic, the epic
    # The spec, each task built (no QA asked), the feature's and the epic's pull requests, the notes.
    assert len(wos) == len({wo["agent_work_order_id"] for wo in wos}) == 6
    assert (counts / "b").read_text().count("run") == 2  # the step cut short ran again; nothing else did


def subprocess_out(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout
