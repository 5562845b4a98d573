"""Seed 002's agent catalog end to end: `GET|PUT /api/agents…` over real HTTP, and a prompt step
with `role: code-reviewer` run by the real engine in a git worktree: the agent (the replay agent,
copying what it finds) is told its role and reads the project's context packs in
`.shipyard/context/`, a secret in a pack hidden and an over-large file cut; the reviewer may not
change files, so what it changes is undone and its step fails; nothing of the context is committed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

from shipyard.config import Settings
from support import MakeRepo, MakeSettings, wait_done

TOKEN = "ghp_" + "Q9w8E7r6T5" * 4  # a token's shape, in a file of the repository
BIG = 30_000  # characters: over a context file's bound
REVIEWED = {
    "name": "reviewed",
    "steps": [
        {"id": "read", "role": "code-reviewer", "prompt": "Review the change on this branch."},
        {"id": "prep", "run": "echo '# local' >> app.py"},  # uncommitted as the reviewer starts
        {"id": "meddle", "role": "code-reviewer", "prompt": "Fix it yourself.", "continue_on_error": True},
        {"id": "after", "run": "cat app.py; ls"},
        {"id": "note", "run": "echo reviewed > NOTES.md", "commit": "notes"},
    ],
}


@pytest.fixture
def seen(tmp_path: Path) -> Path:
    return tmp_path / "seen"  # where the agent copies its context to


@pytest.fixture
def settings(make_settings: MakeSettings, tmp_path: Path, seen: Path) -> Settings:
    replay = tmp_path / "replay.yaml"
    replay.write_text(
        yaml.safe_dump(
            {
                "read": [{"run": f"cp -r .shipyard/context {seen}"}, {"message": "Looks right."}],
                "meddle": [
                    {"write": "app.py", "content": "print('mine')\n"},
                    {"write": "extra.py", "content": "x = 1\n"},
                    {"message": "Fixed."},
                ],
            }
        )
    )
    return make_settings(agent="replay", replay_file=replay)


async def test_a_role_step_reads_its_packs_and_may_not_edit(
    api: httpx.AsyncClient, make_repo: MakeRepo, seen: Path
) -> None:
    repo = make_repo(
        "widgets",
        {"app.py": "print('hi')\n", "docs/notes.md": f"deploy with {TOKEN}\n", "docs/big.md": "y" * BIG},
    )
    project = await api.post("/api/projects", json={"name": "widgets", "repository_url": str(repo)})
    assert project.status_code == 201, project.text
    change = {"contextPacks": ["onboarding.reviewer", "docs/*.md"], "onboardingDoc": "# Team rubric\n"}
    change["model"] = "reviewer-large"  # the role's model, where the step names none
    put = await api.put("/api/agents/code-reviewer/onboarding", params={"project": "widgets"}, json=change)
    assert put.status_code == 200, put.text
    assert put.json()["source"] == "store" and put.json()["contextPacks"] == change["contextPacks"]

    body = {
        "repository_url": str(repo),
        "project": "widgets",
        "workflow_definition": yaml.safe_dump(REVIEWED),
    }
    created = await api.post("/api/agent-work-orders", json=body)
    assert created.status_code == 201, created.text
    wid = created.json()["agent_work_order"]["agent_work_order_id"]
    wo = await wait_done(api, wid)

    assert wo["status"] == "completed", wo["error_message"]
    assert (seen / "onboarding.reviewer.md").read_text() == "# Team rubric\n"  # the project's, from the store
    notes = (seen / "repo" / "docs" / "notes.md").read_text()
    assert TOKEN not in notes and "***" in notes
    big = (seen / "repo" / "docs" / "big.md").read_text()
    assert len(big) < BIG and "[cut: the first" in big
    index = (seen / "README.md").read_text()
    assert "1 secrets hidden" in index and "cut" in index

    logs = (await api.get(f"/api/agent-work-orders/{wid}/logs", params={"limit": 1000})).json()["log_entries"]
    [told] = [e for e in logs if e["event"] == "agent.started" and e["step_id"] == "read"]
    assert told["prompt"].startswith("You are the Code Reviewer of this project")
    assert told["model"] == "reviewer-large"
    assert ".shipyard/context/repo/docs/notes.md" in told["prompt"]
    [listed] = [e for e in logs if e["event"] == "agent.context" and e["step_id"] == "read"]
    assert {f["name"] for f in listed["files"]} >= {".shipyard/context/repo/docs/big.md"}

    steps = {s["step_id"]: s for s in (await api.get(f"/api/agent-work-orders/{wid}/steps")).json()["steps"]}
    assert steps["meddle"]["status"] == "failed"
    assert (
        "role 'code-reviewer' may not change files; it changed app.py, extra.py (undone)"
        in steps["meddle"]["error"]
    )
    assert steps["after"]["output"].startswith("print('hi')\n# local\n")  # as the reviewer found it
    assert "extra.py" not in steps["after"]["output"]
    tree = git(repo, "ls-tree", "-r", "--name-only", wo["git_branch_name"]).split()
    assert sorted(tree) == ["NOTES.md", "app.py", "docs/big.md", "docs/notes.md"]  # no context
    assert (
        git(repo, "show", f"{wo['git_branch_name']}:app.py") == "print('hi')\n# local\n"
    )  # not the reviewer's


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


async def test_the_catalog_lists_the_roles_and_refuses_what_is_not_one(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    listed = (await api.get("/api/agents")).json()["agents"]
    assert len(listed) == 12
    reviewer = next(a for a in listed if a["id"] == "code-reviewer")
    assert reviewer["type"] == "code-reviewer" and reviewer["onboardingDocRef"] == "onboarding/reviewer.md"
    assert reviewer["overridden"] is False and "edit" not in reviewer["tools"]
    onboarding = (await api.get("/api/agents/qa-tester/onboarding")).json()
    assert onboarding["source"] == "builtin" and onboarding["content"].startswith("# ")

    unknown = await api.get("/api/agents/chef")
    assert unknown.status_code == 404 and "code-reviewer" in unknown.json()["error"]["message"]
    for bad, says in (
        ({"contextPacks": ["../secrets"]}, "context pack"),
        ({"onboardingDocRef": "notes.txt"}, "onboarding/<name>.md"),
        ({"colour": "red"}, "colour"),
    ):
        answer = await api.put("/api/agents/code-reviewer/onboarding", json=bad)
        assert answer.status_code == 422 and says in answer.text, answer.text
    nobody = await api.put("/api/agents/code-reviewer/onboarding", params={"project": "nope"}, json={})
    assert nobody.status_code == 404
    assert (await api.get("/api/agents/code-reviewer")).json()["overridden"] is False  # nothing was kept

    repo = make_repo("w", {"a": "b"})
    for step, says in (
        ({"id": "a", "role": "chef", "prompt": "x"}, "unknown role 'chef'"),
        ({"id": "a", "role": "code-reviewer", "run": "true"}, "only a prompt step"),
    ):
        definition = yaml.safe_dump({"name": "w", "steps": [step]})
        body = {"repository_url": str(repo), "workflow_definition": definition}
        answer = await api.post("/api/agent-work-orders", json=body)
        assert answer.status_code == 422 and says in answer.text, answer.text
