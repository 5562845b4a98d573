"""`shipyard run --dry-run` with no server: the plan is checked and printed in-process, with no
engine, and nothing is created."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from cli_kit import shipyard
from shipyard.config import Settings
from support import MakeRepo, Migrated, git

FLOW = {
    "name": "checks",
    "inputs": {"who": {"required": True}},
    "steps": [
        {"id": "setup", "phase": "setup", "run": "echo {{ inputs.who }} > who.txt"},
        {"id": "lint", "run": "make lint"},
        {
            "id": "test",
            "depends_on": ["setup"],
            "prompt": "Test it for {{ inputs.who }}.",
            "commit": "test it",
        },
        {"id": "report", "depends_on": ["lint", "test"], "prompt": "Sum up: {{ steps.test.output }}"},
    ],
}


def flow_file(tmp_path: Path) -> str:
    path = tmp_path / "checks.yaml"
    path.write_text(yaml.safe_dump(FLOW))
    return str(path)


def test_dry_run_prints_the_steps_layer_by_layer_and_creates_nothing(
    tmp_path: Path, migrated: Migrated, make_repo: MakeRepo
) -> None:
    data = migrated(Settings(data_dir=tmp_path / "data")).data_dir
    repo = make_repo()
    args = ["run", str(repo), "--workflow-file", flow_file(tmp_path), "-i", "who=ann lee", "--agent", "shell"]
    done = shipyard(data, *args, "--dry-run")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "dry run: nothing was created or started" in out
    layers = [line for line in out.splitlines() if line.startswith("layer ")]
    assert layers == ["layer 1", "layer 2  (2 steps at the same time)", "layer 3"]
    assert out.index("lint") < out.index("layer 3") < out.index("report")
    assert "$ echo 'ann lee' > who.txt" in out and "Test it for ann lee." in out
    assert "test  prompt · shell · after setup" in out and "commit: test it" in out
    assert "lint  run · after setup" in out and "report  prompt · shell · after lint, test" in out
    assert "Sum up: {{ steps.test.output }}" in out and "rendered when it runs" in out
    as_json = json.loads(shipyard(data, *args, "--dry-run", "--json").stdout)
    assert as_json["dry_run"] is True and as_json["workflow"]["layers"] == [
        ["setup"],
        ["lint", "test"],
        ["report"],
    ]
    assert "0 of 0" in shipyard(data, "ls").stdout
    assert git(repo, "branch", "--list", "--format=%(refname:short)").split() == ["main"]


def test_dry_run_refuses_bad_input_as_a_run_does(
    tmp_path: Path, migrated: Migrated, make_repo: MakeRepo
) -> None:
    data = migrated(Settings(data_dir=tmp_path / "data")).data_dir
    repo = make_repo()
    done = shipyard(data, "run", str(repo), "--workflow-file", flow_file(tmp_path), "--dry-run")
    assert done.returncode == 2 and "workflow 'checks' needs input 'who'" in done.stderr
    wrong = shipyard(data, "run", str(repo), "-w", "agent_workflow_plan", "--json")
    assert wrong.returncode == 2 and "--json goes with --dry-run" in wrong.stderr


def test_a_fan_out_shows_the_children_it_would_start(
    make_repo: MakeRepo, migrated: Migrated, tmp_path: Path
) -> None:
    settings = migrated(Settings(data_dir=tmp_path / "data"))
    flow = {
        "name": "fans",
        "steps": [
            {
                "id": "each",
                "fan_out": {"over": '["api", "web"]', "as": "mod", "max_parallel": 2},
                "call": {"workflow": "fix_module", "inputs": {"module": "{{ mod }}"}, "merge": "pr"},
            }
        ],
    }
    definition = tmp_path / "fans.yaml"
    definition.write_text(yaml.safe_dump(flow))
    shown = shipyard(
        settings.data_dir, "run", str(make_repo()), "--workflow-file", str(definition), "--dry-run"
    )

    assert shown.returncode == 0, shown.stderr
    assert "calls fix_module (merge: pr, 2 at once)" in shown.stdout
    assert 'child: module="api"' in shown.stdout and 'child: module="web"' in shown.stdout
