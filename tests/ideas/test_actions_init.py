"""`shipyard actions init` on real git repositories: the workflow files of seed 002 §9 written,
each a workflow GitHub would take (YAML, typed inputs, least permissions, a report to Shipyard
whatever the outcome), the orchestrator calling exactly the reusable ones written; files already
there kept unless --force; a path outside any repository refused."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from cli_kit import shipyard
from support import MakeRepo

WORKFLOWS = ".github/workflows"
REUSABLES = ["ai.spec", "ai.plan", "agent.execute", "qa.run", "merge.gate", "release.notes"]
FILES = ["orchestrator.yml", *(f"_reusable.{name}.yml" for name in REUSABLES)]
# Seed 002 §6.2's request types for the work the reusable workflows do.
REQUESTS = ["ai.spec.request", "ai.plan.request", "agent.cursor.execute.request", "qa.run.request",
            "merge.gate.request"]  # fmt: skip


def init(tmp_path: Path, *args: str) -> Any:
    # No git repository above tmp_path counts (the machine's own checkout, say).
    return shipyard(tmp_path / "data", "actions", "init", *args, GIT_CEILING_DIRECTORIES=str(tmp_path))


def load(path: Path) -> dict[Any, Any]:
    doc = yaml.safe_load(path.read_text())
    assert isinstance(doc, dict), path
    assert {True, "jobs"} <= doc.keys(), f"{path.name}: no `on` or `jobs`"  # YAML 1.1 reads `on` as True
    return doc


def test_it_writes_each_workflow_and_says_so(tmp_path: Path, make_repo: MakeRepo) -> None:
    repo = make_repo()
    result = init(tmp_path, str(repo))
    assert result.returncode == 0, result.stderr
    for name in FILES:
        path = repo / WORKFLOWS / name
        assert path.is_file(), name
        assert str(path) in result.stdout
        load(path)
    assert "SHIPYARD_URL" in result.stdout and "SHIPYARD_TOKEN" in result.stdout


def test_each_reusable_workflow_is_called_with_typed_inputs_and_reports_whatever_happens(
    tmp_path: Path, make_repo: MakeRepo
) -> None:
    repo = make_repo()
    assert init(tmp_path, str(repo)).returncode == 0
    for name in REUSABLES:
        path = repo / WORKFLOWS / f"_reusable.{name}.yml"
        doc = load(path)
        call = doc[True]["workflow_call"]
        for key in ("runId", "dispatchId"):
            assert call["inputs"][key] == {**call["inputs"][key], "type": "string", "required": True}
        assert call["secrets"]["SHIPYARD_TOKEN"]["required"] is True
        assert doc["permissions"] and set(doc["permissions"].values()) <= {"read", "write"}
        assert "${{ inputs.runId" in doc["concurrency"]["group"]
        assert doc["concurrency"]["cancel-in-progress"] is False
        [job] = doc["jobs"].values()
        checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@"))
        assert checkout["with"]["ref"] == "${{ inputs.branch }}"
        assert "Shipyard cannot know your build" in path.read_text()
        last = job["steps"][-1]
        assert last["if"] == "always()"
        assert last["env"]["SHIPYARD_URL"] == "${{ vars.SHIPYARD_URL }}"
        assert last["env"]["SHIPYARD_TOKEN"] == "${{ secrets.SHIPYARD_TOKEN }}"
        assert "job.status" in last["env"]["STATE"]
        assert '--header "Authorization: Bearer $SHIPYARD_TOKEN"' in last["run"]
        assert '"${SHIPYARD_URL%/}/api/runs/$RUN_ID/status"' in last["run"]
        assert job["env"]["DISPATCH_ID"] == "${{ inputs.dispatchId }}"
        assert job["env"]["RUN_ID"] == "${{ inputs.runId }}"


def test_the_orchestrator_routes_each_request_to_one_reusable_workflow(
    tmp_path: Path, make_repo: MakeRepo
) -> None:
    repo = make_repo()
    assert init(tmp_path, str(repo)).returncode == 0
    doc = load(repo / WORKFLOWS / "orchestrator.yml")
    types = doc[True]["repository_dispatch"]["types"]
    assert {"orchestrator.start", "orchestrator.pause", "orchestrator.cancel", *REQUESTS} <= set(types)
    assert doc["permissions"] == {}
    calls = {job["uses"]: job for job in doc["jobs"].values() if "uses" in job}
    assert set(calls) == {f"./{WORKFLOWS}/_reusable.{name}.yml" for name in REUSABLES}
    for uses, job in calls.items():
        called = load(repo / uses)
        # GitHub refuses a call whose job grants less than the called workflow asks for.
        assert job["permissions"] == called["permissions"], uses
        assert set(job["with"]) == set(called[True]["workflow_call"]["inputs"]), uses
        assert "dispatch_id" in job["with"]["dispatchId"]
        assert job["secrets"] == {"SHIPYARD_TOKEN": "${{ secrets.SHIPYARD_TOKEN }}"}
    for type in types:
        routed = [name for name, job in doc["jobs"].items() if f"'{type}'" in job["if"]]
        if not type.startswith("orchestrator."):
            assert len(routed) == 1, (type, routed)
    assert doc["jobs"]["control"]["steps"][-1]["if"] == "always()"


def test_a_second_init_refuses_naming_the_files_and_force_writes_them_again(
    tmp_path: Path, make_repo: MakeRepo
) -> None:
    repo = make_repo()
    assert init(tmp_path, str(repo)).returncode == 0
    edited = repo / WORKFLOWS / "_reusable.qa.run.yml"
    edited.write_text("# our own\n")
    again = init(tmp_path, str(repo))
    assert again.returncode == 1
    refusal = " ".join(again.stderr.split())  # the line may wrap on the terminal's width
    assert all(str(repo / WORKFLOWS / name) in refusal for name in FILES), refusal
    assert "--force" in refusal
    assert edited.read_text() == "# our own\n"
    forced = init(tmp_path, str(repo), "--force")
    assert forced.returncode == 0, forced.stderr
    assert "workflow_call" in edited.read_text()


def test_inside_a_repository_it_writes_at_its_top(tmp_path: Path, make_repo: MakeRepo) -> None:
    repo = make_repo(files={"src/app.py": "x = 1\n"})
    result = init(tmp_path, str(repo / "src"))
    assert result.returncode == 0, result.stderr
    assert (repo / WORKFLOWS / "orchestrator.yml").is_file()
    assert not (repo / "src" / ".github").exists()


def test_a_path_outside_any_repository_is_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    result = init(tmp_path, str(plain))
    assert result.returncode == 2
    assert "is not in a git repository's working tree" in result.stderr
    assert not (plain / ".github").exists()
    missing = init(tmp_path, str(tmp_path / "nowhere"))
    assert missing.returncode == 2
    assert "is not a directory" in missing.stderr
    too_long = init(tmp_path, str(tmp_path / ("x" * 300)))  # no file system holds the name
    assert too_long.returncode == 2 and "is not a directory" in too_long.stderr, too_long.stderr


def test_help_says_what_the_files_do_and_the_settings_the_repository_needs(tmp_path: Path) -> None:
    result = init(tmp_path, "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for said in (*FILES, "repository_dispatch", "SHIPYARD_URL", "SHIPYARD_TOKEN", "--force"):
        assert said in text, said


def test_orchestrator_cancel_cancels_the_runs_workflow_runs_still_going(
    tmp_path: Path, make_repo: MakeRepo
) -> None:
    repo = make_repo()
    assert init(tmp_path, str(repo)).returncode == 0
    control = load(repo / WORKFLOWS / "orchestrator.yml")["jobs"]["control"]
    step = next(s for s in control["steps"] if "orchestrator.cancel" in s.get("if", ""))
    # A stand-in for the GitHub CLI: `gh run list --json …` answers as GitHub's does, `gh run
    # cancel ID` notes the id.
    runs = [
        {"databaseId": 11, "displayTitle": "agent.execute.request run-aaaa1111 17", "status": "in_progress"},
        {"databaseId": 12, "displayTitle": "qa.run.request run-aaaa1111 18", "status": "queued"},
        {"databaseId": 13, "displayTitle": "ai.spec.request run-aaaa1111 ", "status": "completed"},
        {"databaseId": 14, "displayTitle": "ai.spec.request run-bbbb2222 ", "status": "in_progress"},
        {"databaseId": 15, "displayTitle": "orchestrator.cancel run-aaaa1111 ", "status": "in_progress"},
    ]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(
        "#!/bin/sh\n"
        f"case \"$1 $2\" in\n  'run list') echo '{json.dumps(runs)}' ;;\n"
        f"  'run cancel') echo \"$3\" >> {tmp_path / 'cancelled'} ;;\nesac\n"
    )
    (bin_dir / "gh").chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "RUN_ID": "run-aaaa1111", "THIS_RUN": "15"}
    script = ["bash", "-eo", "pipefail", "-c", step["run"]]
    done = subprocess.run(script, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "cancelled").read_text().split() == ["11", "12"]
