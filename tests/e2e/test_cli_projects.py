"""`shipyard projects` as a user runs it (in-process) on the local store (no server, no engine)."""

from __future__ import annotations

import json
from pathlib import Path

from cli_kit import shipyard
from support import MakeRepo

SOURCES = """\
sources:
  - on: issues            # YAML 1.1 reads this key as True; it must still mean `on`
    actions: [labeled]
    labels: [shipyard]
    workflow: plan_build_test
    inputs:
      prompt: "{{ event.title }}"
  - on: push
    branches: [main]
    workflow: test
"""


def test_create_show_list_and_delete_a_project(make_repo: MakeRepo, tmp_path: Path) -> None:
    data, repo = tmp_path / "data", make_repo()
    sources = tmp_path / "sources.yaml"
    sources.write_text(SOURCES)

    created = shipyard(data, "projects", "create", "widgets", str(repo), "--source-file", str(sources))
    assert created.returncode == 0, created.stderr
    assert "created widgets" in created.stdout
    shown = shipyard(data, "projects", "show", "widgets", "--json")
    assert shown.returncode == 0, shown.stderr
    project = json.loads(shown.stdout)
    assert (project["repository_url"], project["forge"]) == (str(repo), "local")
    assert [(s["on"], s["workflow"]) for s in project["sources"]] == [
        ("issues", "plan_build_test"),
        ("push", "test"),
    ]
    assert project["sources"][0]["inputs"] == {"prompt": "{{ event.title }}"}
    assert project["id"] in shipyard(data, "projects", "ls").stdout
    limited = shipyard(data, "projects", "update", "widgets", "--limit", "claude=2", "--limit", "codex=1")
    assert limited.returncode == 0, limited.stderr
    assert json.loads(shipyard(data, "projects", "show", "widgets", "--json").stdout)["limits"] == {
        "claude": 2,
        "codex": 1,
    }
    wrong = shipyard(data, "projects", "update", "widgets", "--limit", "claude")
    assert wrong.returncode == 2 and "--limit 'claude': expected AGENT=COUNT, e.g. claude=2" in wrong.stderr

    assert shipyard(data, "projects", "delete", "widgets").returncode == 0
    gone = shipyard(data, "projects", "show", "widgets")
    assert gone.returncode == 2 and "project 'widgets' not found" in gone.stderr


def test_errors_are_one_clear_line_and_exit_2(make_repo: MakeRepo, tmp_path: Path) -> None:
    data, repo = tmp_path / "data", make_repo()
    bad = tmp_path / "bad.yaml"
    bad.write_text("- on: deploy\n  workflow: x\n")

    from_file = shipyard(data, "projects", "create", "w", str(repo), "--source-file", str(bad))
    missing = shipyard(data, "projects", "create", "w", str(tmp_path / "nowhere"))

    assert from_file.returncode == 2 and "source 1: on: unknown event 'deploy'" in from_file.stderr
    assert "Traceback" not in from_file.stderr
    assert missing.returncode == 2 and "no such directory" in missing.stderr
