"""A workflow's plan on its own: what each kind of step shows, rendered from the inputs where they
suffice, as written where only a run can tell."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from shipyard.workflows.loader import bind_inputs, load_definition_text
from shipyard.workflows.plan import plan_workflow

WriteFile = Callable[[str, str], Path]  # the `write` fixture of conftest.py

FLOW = {
    "name": "kinds",
    "inputs": {"task": {"required": True}},
    "steps": [
        {"id": "plan", "prompt": "{{ command('/plan', inputs.task) }}", "commit": "plan: {{ inputs.task }}"},
        {"id": "look", "gate": {"message": "Read {{ the plan }}."}},
        {"id": "where", "run": "echo {{ work_order.repository_url }} {{ work_order.branch }}"},
        {"id": "pr", "pr": {"title": "{{ inputs.task | oneline }}"}},
        {"id": "again", "pr": {}, "depends_on": ["plan"]},
    ],
}


def test_each_kind_shows_what_it_would_do(repo: Path, write: WriteFile) -> None:
    write(".claude/commands/plan.md", "---\ndescription: x\n---\nPlan this: $ARGUMENTS\n")
    definition = load_definition_text(yaml.safe_dump(FLOW), "kinds.yaml")
    inputs = bind_inputs(definition, {"task": "add a flag"})
    plan = plan_workflow(
        definition, inputs, agent="codex", work_order={"repository_url": "/src/w"}, repo_path=repo
    )
    step = {s.id: s for s in plan.steps}
    assert plan.layers == [["plan"], ["look", "again"], ["where"], ["pr"]]
    assert (
        step["plan"].text is not None and step["plan"].text.rendered == "Plan this: add a flag\n"
    )  # the command
    assert step["plan"].commit is not None and step["plan"].commit.rendered == "plan: add a flag"
    assert (
        step["look"].text is not None and step["look"].text.rendered == "Read {{ the plan }}."
    )  # not a template
    where = step["where"].text
    assert (
        where is not None and where.rendered is None and "branch" in (where.note or "")
    )  # known when it runs
    assert step["pr"].text is not None and step["pr"].text.rendered == "add a flag"
    again = step["again"].text  # the default title names the work order: known when it runs
    assert again is not None and again.rendered is None and again.template.startswith("{{ work_order.id }}")
    assert [s.agent for s in plan.steps] == ["codex", None, None, None, None]
    assert step["plan"].commit.template == "plan: {{ inputs.task }}"


def test_a_command_the_repository_lacks_is_shown_as_written_with_why() -> None:
    definition = load_definition_text(yaml.safe_dump(FLOW), "kinds.yaml")
    plan = plan_workflow(definition, {"task": "x"}, agent="codex", repo_path=None)
    text = plan.steps[0].text
    assert text is not None and text.rendered is None and "command '/plan' not found" in (text.note or "")


def test_a_fan_out_lists_the_children_it_would_start_when_the_inputs_tell() -> None:
    flow = {
        "name": "fans",
        "inputs": {"modules": {"required": True}},
        "steps": [
            {"id": "split", "run": "ls"},
            {
                "id": "each",
                "fan_out": {"over": "{{ inputs.modules }}", "as": "mod", "max_parallel": 2},
                "call": {
                    "workflow": "fix_module",
                    "inputs": {"module": "{{ mod }}", "why": "lint"},
                    "merge": "pr",
                },
            },
            {
                "id": "later",
                "fan_out": {"over": "{{ steps.split.output }}", "as": "f"},
                "call": {"workflow": "touch", "inputs": {"file": "{{ f }}"}},
            },
        ],
    }
    definition = load_definition_text(yaml.safe_dump(flow), "fans.yaml")
    plan = plan_workflow(
        definition, bind_inputs(definition, {"modules": '["api", "web", "cli"]'}), agent="shell"
    )
    each, later = plan.steps[1].call, plan.steps[2].call

    assert each is not None and (each.workflow, each.merge, each.max_parallel) == ("fix_module", "pr", 2)
    assert [(c.item, c.inputs) for c in each.children or []] == [
        ("api", {"module": "api", "why": "lint"}),
        ("web", {"module": "web", "why": "lint"}),
        ("cli", {"module": "cli", "why": "lint"}),
    ]
    assert later is not None and later.children is None  # its list is another step's output
    assert "'steps' is undefined" in (later.note or "")
    assert plan.steps[0].call is None
