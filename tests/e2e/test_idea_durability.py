"""`shipyard serve` killed with SIGKILL in the middle of an idea run on the `github` forge (the
fake GitHub and git over HTTP, as in test_idea_github, kept answering while serve is down), then
started again: the run goes on to DONE with no GitHub issue, sub-issue link, pull request, merge
or work order made twice."""

from __future__ import annotations

import json
import re
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from test_durability import answers, start_serve, stop, wait_for, wait_healthy
from test_idea_github import REPO, TOKEN, fake_github
from test_idea_runs import SPEC, task

from fakes.github_api import FakeGitHub
from shipyard.engine.devserver import free_port
from support import MakeRepo


def run_of(url: str, run_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(f"{url}/api/runs/{run_id}").json()
    return answer


def counted(task_: dict[str, Any], counts: Path, name: str, nap_s: int = 0) -> dict[str, Any]:
    """The task, its replay noting each run in `counts/name`; its first run naps, to be killed in."""
    runs = counts / name
    note = f"echo run >> {runs}"
    if nap_s:
        note += f' && [ "$(wc -l < {runs})" -gt 1 ] || sleep {nap_s}'
    body = task_["body"].replace("```replay\n", f"```replay\n- run: '{note}'\n")
    return {**task_, "body": body}


def calls(fake: FakeGitHub, method: str, pattern: str) -> Counter[str]:
    """How often each path matching `pattern` (after /repos/REPO) was asked for with `method`."""
    full = re.compile(f"/repos/{REPO}{pattern}")
    return Counter(r.path for r in fake.received if r.method == method and full.fullmatch(r.path))


def test_an_idea_run_on_github_survives_a_sigkill_of_serve_without_doing_anything_twice(
    make_repo: MakeRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counts = tmp_path / "counts"
    counts.mkdir()
    tasks = [
        counted(task("A", "a.py", "A = 1\n"), counts, "a"),
        counted(task("B", "b.py", "B = 1\n"), counts, "b", 3),
    ]
    replay = tmp_path / "replay.yaml"
    replay.write_text(
        yaml.safe_dump(
            {
                "spec": [{"write": SPEC, "content": "# spec\n"}, {"message": "ok"}],
                "plan": [{"message": json.dumps({"features": [{"title": "Parts", "tasks": tasks}]})}],
                "review": [{"message": json.dumps({"defects": []})}],
                "notes": [{"message": "notes"}],
            }
        )
    )
    monkeypatch.setenv("SHIPYARD_AGENT", "replay")
    monkeypatch.setenv("SHIPYARD_REPLAY_FILE", str(replay))
    monkeypatch.setenv("SHIPYARD_GITHUB_TOKEN", TOKEN)
    source = make_repo("greet", {"README.md": "# greet\n"})
    data, port, log = tmp_path / "data", free_port(), tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    with fake_github(tmp_path / "git-http", source) as github:
        monkeypatch.setenv("SHIPYARD_GITHUB_API_URL", github.fake.base_url)
        serve = start_serve(data, port, log, workers=0)
        try:
            wait_healthy(url, log)
            idea = {
                "ideaText": "Greeting helpers",
                "repo": github.url,
                "options": {"forge": "github", "qaRounds": 0},
            }
            created = httpx.post(f"{url}/api/ideas", json=idea)
            assert created.status_code == 201, created.text
            run_id = created.json()["runId"]
            wait_for(lambda: (counts / "b").exists(), 90, "task B's work to start")
            temporal = json.loads((data / "server.json").read_text())["temporal"]
            serve.send_signal(signal.SIGKILL)
            serve.wait(10)
            wait_for(lambda: not answers(temporal), 30, "the dev server to exit")

            serve = start_serve(data, port, log, workers=0)
            wait_healthy(url, log, "serve to restart")
            wait_for(lambda: run_of(url, run_id)["state"] in ("DONE", "FAILED"), 120, "the run to end")
            run = run_of(url, run_id)
            assert run["state"] == "DONE", (run["error"], log.read_text()[-3000:])
            [epic] = httpx.get(f"{url}/api/runs/{run_id}/issues").json()["issues"]
            wos = httpx.get(f"{url}/api/agent-work-orders", params={"limit": 100}).json()["agent_work_orders"]
        finally:
            stop(serve)
    fake, repo = github.fake, github.fake.repo(REPO)

    [parts] = epic["children"]
    issues = [epic, parts, *parts["children"]]
    assert [i["title"] for i in issues] == ["Greeting helpers", "Parts", "A", "B"]  # none twice
    # One GitHub issue per node, opened once, attached once under its parent's, its labels current.
    number = [i["forgeIssueNumber"] for i in issues]
    assert sorted(repo.issues) == sorted(number) and len(set(number)) == 4
    assert calls(fake, "POST", "/issues") == Counter({f"/repos/{REPO}/issues": 4})
    assert repo.sub_issues == {number[0]: [number[1]], number[1]: [number[2], number[3]]}
    assert sum(calls(fake, "POST", r"/issues/\d+/sub_issues").values()) == 3
    for issue, n in zip(issues, number, strict=True):
        assert sorted(repo.issues[n].labels) == ["status:DONE", f"type:{issue['type']}"]
    # One pull request per node, opened once and merged once.
    pulls = [i["prNumber"] for i in issues]
    assert sorted(repo.pulls) == sorted(pulls)
    assert sum(calls(fake, "POST", "/pulls").values()) == 4
    assert calls(fake, "PUT", r"/pulls/\d+/merge") == Counter(f"/repos/{REPO}/pulls/{n}/merge" for n in pulls)
    files = github.git_out("ls-tree", "-r", "--name-only", "integration").splitlines()
    assert {"a.py", "b.py", SPEC} <= set(files)
    # The spec, each task built (no QA asked), the feature's and the epic's pull requests, the notes.
    assert len(wos) == len({wo["agent_work_order_id"] for wo in wos}) == 6
    assert (counts / "a").read_text().count("run") == 1  # what was done before the kill stayed done
    assert (counts / "b").read_text().count("run") == 2  # the step cut short ran again
