"""A pull request of an idea run that does not merge goes back to the loop: a work order merges
the base into its branch and resolves the conflict (the bundled resolve_conflicts), and the merge
gate merges it then."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml
from test_idea_control import started, until
from test_idea_runs import SPEC, task, wait_run

from shipyard.config import Settings
from support import MakeRepo, MakeSettings

RESOLVED = "from the run, and from a person\n"


@pytest.fixture
def settings(make_settings: MakeSettings, tmp_path: Path) -> Settings:
    plan = {"features": [{"title": "Shared", "tasks": [task("Write it", "shared.txt", "from the run\n")]}]}
    replay = tmp_path / "replay.yaml"
    replay.write_text(
        yaml.safe_dump(
            {
                "spec": [{"sleep": 2}, {"write": SPEC, "content": "# spec\n"}, {"message": "ok"}],
                "plan": [{"message": json.dumps(plan)}],
                "review": [{"message": json.dumps({"defects": []})}],
                "resolve": [{"write": "shared.txt", "content": RESOLVED}, {"message": "kept both"}],
                "notes": [{"message": "notes"}],
            }
        )
    )
    return make_settings(agent="replay", replay_file=replay)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


async def test_a_pull_request_that_conflicts_is_resolved_in_the_loop_and_merged(
    api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = make_repo("greet", {"README.md": "# greet\n"})
    run_id = (
        await api.post(
            "/api/ideas", json={"ideaText": "Greeting helpers", "repo": str(repo), "options": {"qaRounds": 0}}
        )
    ).json()["runId"]
    await until(api, run_id, lambda run: started(run, "spec"))
    assert (await api.post(f"/api/runs/{run_id}/interrupt", json={"action": "pause"})).status_code == 200
    await until(api, run_id, lambda run: run["state"] == "EXECUTION_LOOP")
    await asyncio.sleep(1)
    # Meanwhile a person changes `integration` where the run will write too.
    person = tmp_path / "person"
    git(repo, "worktree", "add", "-q", str(person), "integration")
    (person / "shared.txt").write_text("from a person\n")
    git(person, "add", "shared.txt")
    git(person, "commit", "-qm", "a person's change")
    theirs = git(person, "rev-parse", "HEAD")
    git(repo, "worktree", "remove", str(person))
    assert (await api.post(f"/api/runs/{run_id}/interrupt", json={"action": "resume"})).status_code == 200

    run = await wait_run(api, run_id)

    assert run["state"] == "DONE", run["error"]
    [conflict] = [e for e in run["timeline"] if e["type"] == "merge.conflict"]
    assert "shared.txt" in conflict["msg"] and conflict["data"]["issue_id"] == run["rootIssueId"]
    assert len(started(run, "resolve")) == 1
    assert git(repo, "show", "integration:shared.txt") == RESOLVED.strip()
    assert (
        subprocess.run(["git", "merge-base", "--is-ancestor", theirs, "integration"], cwd=repo).returncode
        == 0
    )
