from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from shipyard.domain.errors import InvalidInput, WorkflowInvalid
from shipyard.workflows.loader import (
    bind_inputs,
    builtin_names,
    find_in_repository,
    list_repository_definitions,
    load_definition_text,
    resolve_definition,
    scan_repository,
)

WriteFile = Callable[[str, str], Path]  # the `write` fixture of conftest.py

SIMPLE = """
name: {name}
steps:
  - id: only
    run: echo {name}
"""


def invalid(text: str, source: str = "my.yaml") -> str:
    with pytest.raises(WorkflowInvalid) as caught:
        load_definition_text(textwrap.dedent(text), source)
    return caught.value.message


def test_yaml_syntax_error_names_file_and_line() -> None:
    message = invalid(
        """\
        name: broken
        steps:
          - id: a
            run: echo: a: b
        """
    )
    assert message == "my.yaml: line 4: mapping values are not allowed here"


def test_repeated_yaml_key_is_an_error() -> None:
    message = invalid("name: a\nsteps:\n  - id: a\n    run: x\n    run: y\n")
    assert message == "my.yaml: line 5: duplicate key 'run'"


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just text\n"])
def test_document_must_be_a_mapping(text: str) -> None:
    assert "a workflow definition must be a mapping" in invalid(text)


def test_unknown_step_key_is_named_with_a_suggestion() -> None:
    message = invalid("name: w\nsteps:\n  - id: build\n    promt: hi\n")
    assert message == "my.yaml: steps[0] (build): unknown key 'promt' (did you mean 'prompt'?)"


def test_unknown_top_level_key_lists_known_keys() -> None:
    message = invalid("name: w\nzzz: 1\nsteps:\n  - id: a\n    run: x\n")
    assert message.startswith("my.yaml: unknown key 'zzz' (known keys: name, description, inputs")


def test_two_kinds_in_one_step() -> None:
    message = invalid("name: w\nsteps:\n  - id: a\n    run: x\n    prompt: y\n")
    assert message == (
        "my.yaml: steps[0] (a): a step needs exactly one of run, prompt, pr, gate, call, loop, review,"
        " reply, actions; found run, prompt"
    )


def test_step_without_a_kind() -> None:
    message = invalid("name: w\nsteps:\n  - id: a\n    phase: planning\n")
    assert message.endswith(
        "steps[0] (a): a step needs exactly one of run, prompt, pr, gate, call, loop, review, reply,"
        " actions; found none"
    )


def test_duplicate_step_ids() -> None:
    message = invalid("name: w\nsteps:\n  - {id: a, run: x}\n  - {id: b, run: y}\n  - {id: a, run: z}\n")
    assert message == "my.yaml: steps[2] (a): id 'a' is already used by steps[0]"


def test_bad_duration_names_step_and_field() -> None:
    message = invalid("name: w\nsteps:\n  - {id: a, run: x}\n  - {id: build, run: y, timeout: 3 parsecs}\n")
    assert message.startswith("my.yaml: steps[1] (build): timeout: invalid duration '3 parsecs'")


def test_depends_on_must_name_other_steps_of_the_workflow() -> None:
    message = invalid(
        """\
        name: w
        steps:
          - {id: a, run: x, depends_on: [b]}
          - {id: b, run: y, depends_on: [nope, b, a]}
        """
    )
    assert message.splitlines() == [
        "my.yaml: steps[1] (b): depends_on: unknown step 'nope'",
        "my.yaml: steps[1] (b): depends_on: a step cannot depend on itself",
    ]


def test_a_dependency_cycle_is_refused_along_its_steps() -> None:
    message = invalid(
        """\
        name: w
        steps:
          - {id: a, run: x, depends_on: [c]}
          - {id: b, run: y}
          - {id: c, run: z}
          - {id: d, run: w, depends_on: []}
        """
    )
    assert (
        message == "my.yaml: steps[0] (a): depends_on: a cycle: a → c → b → a; no step of it could ever start"
    )


def test_a_step_may_wait_for_a_later_one() -> None:
    text = """\
        name: w
        steps:
          - {id: report, run: "echo {{ steps.build.output }}", depends_on: [build]}
          - {id: build, run: make, depends_on: []}
        """
    defn = load_definition_text(textwrap.dedent(text), "my.yaml")
    assert [s.id for s in defn.steps] == ["report", "build"]


def test_steps_that_may_run_at_once_must_not_both_commit_wait_or_publish() -> None:
    message = invalid(
        """\
        name: w
        steps:
          - {id: plan, run: x}
          - {id: lint, run: l, depends_on: [plan], commit: "lint"}
          - {id: fix, run: f, depends_on: [plan], commit: "fix"}
          - {id: ask, gate: {}, depends_on: [plan]}
          - {id: ok, gate: {}, depends_on: [plan]}
          - {id: pr, pr: {}, depends_on: [lint]}
          - {id: test, run: "t {{ steps.lint.output }}", depends_on: [plan]}
        """
    )
    assert message.splitlines() == [
        "my.yaml: steps[6] (test): run: steps.lint may still be running when this step starts"
        " (add 'lint' to its depends_on)",
        "my.yaml: steps[2] (fix): may run at the same time as 'lint' (neither depends on the other) and both"
        " commit (steps at the same time share the sandbox: at most one may commit); add one to the other's"
        " depends_on",
        "my.yaml: steps[5] (pr): may run at the same time as 'fix' (neither depends on the other) and one"
        " opens the pull request while the other commits; add one to the other's depends_on",
        "my.yaml: steps[4] (ok): may run at the same time as 'ask' (neither depends on the other) and both"
        " are gates (one gate waits at a time); add one to the other's depends_on",
    ]


def test_a_call_and_its_fan_out_load_with_their_defaults() -> None:
    defn = load_definition_text(
        """\
        name: w
        steps:
          - id: fan
            call: {workflow: child, inputs: {n: "{{ it }}", size: 3}}
            fan_out: {over: "{{ [1, 2] }}", as: it}
        """.replace("        ", ""),
        "my.yaml",
    )
    step = defn.steps[0]
    assert step.kind == "call" and step.call is not None and step.fan_out is not None
    assert (step.call.merge, step.call.base, step.call.inputs["size"]) == ("merge", None, 3)
    assert (step.fan_out.as_, step.fan_out.max_parallel, step.fan_out.join) == ("it", 4, "all_success")
    again = type(defn).model_validate(defn.model_dump(mode="json"))  # as it travels through Temporal
    assert again.steps[0].fan_out == step.fan_out


@pytest.mark.parametrize(
    ("step", "problem"),
    [
        (
            "{id: fan, run: x, fan_out: {over: '[1]'}}",
            "steps[0] (fan): fan_out needs a `call`: it starts one child work order per item",
        ),
        ("{id: c, call: {}}", "steps[0] (c): call.workflow: required"),
        (
            "{id: c, call: {workflow: w, merge: rebase}}",
            "steps[0] (c): call.merge: Input should be 'merge', 'pr' or 'none' (got 'rebase')",
        ),
        (
            "{id: c, call: {workflow: w, inputs: {a: '{{ item }}'}}}",
            "steps[0] (c): call.inputs.a: unknown name 'item'",
        ),
        (
            "{id: c, call: {workflow: w}, fan_out: {over: '[1]', as: steps}}",
            "steps[0] (c): fan_out.as: 'steps' is a name templates already use; pick another",
        ),
        (
            "{id: c, call: {workflow: w}, fan_out: {over: '{{ inputs.nope }}'}}",
            "steps[0] (c): fan_out.over: unknown input 'nope' (declared inputs: none)",
        ),
        (
            "{id: c, call: {workflow: w}, fan_out: {over: '[1]', max_parallel: 0}}",
            "steps[0] (c): fan_out.max_parallel: Input should be greater than or equal to 1",
        ),
        (
            "{id: c, call: {workflow: w}, fan_out: {over: '[1]', limit: 2}}",
            "steps[0] (c): fan_out: unknown key 'limit' (known keys: over, as, max_parallel, join)",
        ),
        (
            "{id: c, call: {workflow: w}, commit: x}",
            "steps[0] (c): a call takes no `commit`: its child commits; `merge` brings them",
        ),
    ],
)
def test_bad_calls_are_refused_naming_the_step(step: str, problem: str) -> None:
    message = invalid(f"name: w\nsteps:\n  - {step}\n")
    assert message.startswith(f"my.yaml: {problem}"), message


def test_a_merging_call_counts_as_committing_beside_another_step() -> None:
    message = invalid(
        """\
        name: w
        steps:
          - {id: edit, run: x, commit: edit}
          - {id: call, depends_on: [], call: {workflow: child, merge: merge}}
          - {id: look, depends_on: [], call: {workflow: child, merge: pr}}
        """.replace("        ", "")
    )
    assert message == (
        "my.yaml: steps[1] (call): may run at the same time as 'edit' (neither depends on the other) and"
        " both commit (steps at the same time share the sandbox: at most one may commit); add one to the"
        " other's depends_on"
    )


def test_all_errors_are_reported_one_per_line() -> None:
    message = invalid(
        """\
        name: w
        inputs:
          n: {type: integer}
        steps:
          - {id: Bad, run: x}
          - {id: b, run: y, retries: -1, continue_on_error: maybe}
        """
    )
    lines = message.splitlines()
    assert len(lines) == 4
    assert all(line.startswith("my.yaml: ") for line in lines)
    assert lines[0].startswith("my.yaml: inputs.n.type: Input should be 'string', 'number' or 'boolean'")
    assert lines[1].startswith("my.yaml: steps[0] (Bad): id: String should match pattern")
    assert lines[2].startswith("my.yaml: steps[1] (b): retries: Input should be greater than or equal to 0")
    assert lines[3].startswith("my.yaml: steps[1] (b): continue_on_error: Input should be a valid boolean")


def test_missing_fields_and_empty_steps() -> None:
    assert invalid("description: d\nsteps: []\n").splitlines() == [
        "my.yaml: name: required",
        "my.yaml: steps: List should have at least 1 item after validation, not 0",
    ]


def test_template_problems_are_found_at_load_time() -> None:
    message = invalid(
        """\
        name: w
        inputs:
          prompt: {required: true}
        steps:
          - id: a
            prompt: "{{ input.prompt }} {{ inputs.promt }} {{ steps.b.output }}"
          - id: b
            run: "echo {{ inputs.prompt"
            when: "steps.a.status =="
        """
    )
    assert message.splitlines() == [
        "my.yaml: steps[0] (a): prompt: unknown name 'input' "
        "(templates see inputs, steps, work_order and command())",
        "my.yaml: steps[0] (a): prompt: unknown input 'promt' (declared inputs: prompt)",
        "my.yaml: steps[0] (a): prompt: steps.b is not an earlier step of this workflow",
        "my.yaml: steps[1] (b): run: template syntax error at line 1: unexpected end of template, "
        "expected 'end of print statement'.",
        "my.yaml: steps[1] (b): when: expression syntax error: unexpected 'end of template'",
    ]


def test_valid_text_loads_with_its_source() -> None:
    defn = load_definition_text(SIMPLE.format(name="mine"), "inline.yaml")
    assert defn.name == "mine"
    assert defn.source == "inline.yaml"
    assert defn.steps[0].kind == "run"


def test_resolution_prefers_inline_then_repository_then_builtin(repo: Path, write: WriteFile) -> None:
    name = "agent_workflow_plan"
    assert resolve_definition(name, repo_path=repo).source == f"builtin/{name}.yaml"
    write(f".shipyard/workflows/{name}.yaml", SIMPLE.format(name=name))
    assert resolve_definition(name, repo_path=repo).source == f".shipyard/workflows/{name}.yaml"
    inline = resolve_definition(name, text=SIMPLE.format(name="inline"), source="x.yaml", repo_path=repo)
    assert (inline.name, inline.source) == ("inline", "x.yaml")


def test_repository_definition_is_found_by_file_name_or_declared_name(repo: Path, write: WriteFile) -> None:
    write(".shipyard/workflows/fix.yml", SIMPLE.format(name="quick_fix"))
    write(".shipyard/workflows/broken.yaml", "name: [unclosed\n")
    assert find_in_repository(repo, "fix") is not None
    found = find_in_repository(repo, "quick_fix")
    assert found is not None and found.source == ".shipyard/workflows/fix.yml"
    assert find_in_repository(repo, "other") is None


def test_invalid_repository_definition_is_an_error_when_asked_for(repo: Path, write: WriteFile) -> None:
    write(".shipyard/workflows/lint.yaml", "name: lint\nsteps:\n  - {id: a}\n")
    with pytest.raises(WorkflowInvalid, match=r"^\.shipyard/workflows/lint\.yaml: steps\[0\] \(a\)"):
        resolve_definition("lint", repo_path=repo)


def test_unknown_workflow_lists_builtin_and_repository_names(repo: Path, write: WriteFile) -> None:
    with pytest.raises(InvalidInput) as caught:
        resolve_definition("nope")
    assert caught.value.message == "unknown workflow 'nope'; built-in workflows: " + ", ".join(
        builtin_names()
    )
    write(".shipyard/workflows/a.yaml", SIMPLE.format(name="lint"))
    with pytest.raises(InvalidInput, match=r"review_pr and in the repository: lint$"):
        resolve_definition("nope", repo_path=repo)
    with pytest.raises(InvalidInput, match="no workflow given"):
        resolve_definition(None)


def test_listing_reports_every_invalid_file(repo: Path, write: WriteFile) -> None:
    write(".shipyard/workflows/a.yaml", SIMPLE.format(name="one"))
    write(".shipyard/workflows/b.yaml", SIMPLE.format(name="one"))
    write(".shipyard/workflows/c.yaml", "name: c\nsteps: {}\n")
    write(".shipyard/workflows/notes.txt", "not a definition")
    scan = scan_repository(repo)
    assert [d.name for d in scan.definitions] == ["one"]
    assert (
        scan.errors[0]
        == ".shipyard/workflows/b.yaml: name 'one' is already used by .shipyard/workflows/a.yaml"
    )
    assert scan.errors[1].startswith(".shipyard/workflows/c.yaml: steps: Input should be a valid list")
    with pytest.raises(WorkflowInvalid) as caught:
        list_repository_definitions(repo)
    assert caught.value.message.splitlines() == scan.errors


def test_listing_an_empty_repository(repo: Path) -> None:
    assert list_repository_definitions(repo) == []


INPUTS = """
name: inputs_demo
inputs:
  prompt: {required: true}
  count: {type: number, default: 2}
  ratio: {type: number}
  dry_run: {type: boolean, default: false}
  label: {default: none}
steps:
  - {id: a, run: "echo {{ inputs.prompt }}"}
"""


def test_bind_inputs_applies_defaults_and_converts() -> None:
    defn = load_definition_text(INPUTS, "i.yaml")
    assert bind_inputs(defn, {"prompt": "hi"}) == {
        "prompt": "hi", "count": 2, "ratio": None, "dry_run": False, "label": "none",
    }  # fmt: skip
    bound = bind_inputs(defn, {"prompt": "hi", "count": "7", "ratio": "0.5", "dry_run": "yes"})
    assert (bound["count"], bound["ratio"], bound["dry_run"]) == (7, 0.5, True)


def test_bind_inputs_reports_missing_unknown_and_unconvertible() -> None:
    defn = load_definition_text(INPUTS, "i.yaml")
    with pytest.raises(InvalidInput, match="workflow 'inputs_demo' needs input 'prompt'"):
        bind_inputs(defn, {"count": "1"})
    with pytest.raises(InvalidInput) as caught:
        bind_inputs(defn, {"prompt": "x", "colour": "red"})
    assert caught.value.message == (
        "workflow 'inputs_demo' has no input 'colour'; its inputs: prompt, count, ratio, dry_run, label"
    )
    with pytest.raises(InvalidInput, match="input 'count': expected a number, got 'many'"):
        bind_inputs(defn, {"prompt": "x", "count": "many"})


def test_input_default_must_match_its_type() -> None:
    message = invalid("name: w\ninputs:\n  n: {type: number, default: lots}\nsteps:\n  - {id: a, run: x}\n")
    assert message == "my.yaml: inputs.n: default: expected a number, got 'lots'"


def test_bare_pr_key_means_default_options() -> None:
    defn = load_definition_text("name: w\nsteps:\n  - id: open\n    pr:\n", "w.yaml")
    assert defn.steps[0].kind == "pr"
    assert defn.steps[0].pr is not None and defn.steps[0].pr.draft is False


def test_yaml_merge_keys_still_work() -> None:
    text = """
    name: w
    steps:
      - &base {id: a, run: make, retries: 2}
      - <<: *base
        id: b
    """
    defn = load_definition_text(textwrap.dedent(text), "w.yaml")
    assert [(s.id, s.retries) for s in defn.steps] == [("a", 2), ("b", 2)]


def test_on_triggers_read_with_the_yaml_on_key_trap_handled() -> None:
    text = (
        "name: docs\non:\n  on: push\n  branches: [main]\n  inputs: {range: '{{ event.commit_range }}'}\n"
        "inputs: {range: {type: string}}\nsteps:\n  - id: a\n    run: echo\n"
    )
    defn = load_definition_text(text, "docs.yaml")
    [trigger] = defn.triggers()
    assert (trigger.on, trigger.branches, trigger.workflow) == ("push", ["main"], "docs")
    assert defn.model_dump(mode="json")["on"][0]["on"] == "push"  # stored and sent as JSON intact


def test_a_bad_trigger_makes_a_bad_definition() -> None:
    text = "name: d\non:\n  - on: push\n    labels: [x]\nsteps:\n  - id: a\n    run: echo\n"
    with pytest.raises(WorkflowInvalid, match="'labels' does not apply to 'push'"):
        load_definition_text(text, "d.yaml")


def test_loops_are_checked_like_steps() -> None:
    message = invalid(
        """\
        name: w
        steps:
          - {id: a, run: "echo {{ loop.iteration }}"}
          - id: polish
            loop: {until: "steps.nope.status == 'completed'", max_iterations: 3}
            steps:
              - {id: fix, prompt: "Fix what {{ steps.check.output }} says, try {{ loop.iteration }}"}
              - {id: check, run: "make {{ steps.later.output }}"}
              - {id: a, run: again}
          - {id: later, run: x}
        """
    )
    assert message.splitlines() == [
        "my.yaml: steps[1].steps[2] (a): id 'a' is already used by steps[0]",
    ]
    message = invalid(
        """\
        name: w
        steps:
          - {id: a, run: "echo {{ loop.iteration }}"}
          - id: polish
            loop: {until: "steps.nope.status == 'completed'", max_iterations: 3}
            steps:
              - {id: fix, prompt: "Fix what {{ steps.check.output }} says, try {{ loop.iteration }}"}
              - {id: check, run: "make {{ steps.later.output }}"}
          - {id: later, run: x}
        """
    )
    assert message.splitlines() == [
        "my.yaml: steps[0] (a): run: unknown name 'loop' (templates see inputs, steps, work_order and"
        " command(); `loop` is defined inside a loop's steps and until)",
        "my.yaml: steps[1] (polish): loop.until: steps.nope is not an earlier step of this workflow",
        "my.yaml: steps[1].steps[1] (check): run: steps.later is not an earlier step of this workflow",
    ]


def test_a_loop_needs_its_steps_and_runs_only_run_and_prompt_steps() -> None:
    bare = invalid("name: w\nsteps:\n  - {id: p, loop: {until: 'true', max_iterations: 2}}\n")
    stray = invalid("name: w\nsteps:\n  - {id: p, run: x, steps: [{id: q, run: y}]}\n")
    nested = invalid(
        "name: w\nsteps:\n  - {id: p, loop: {until: 'true', max_iterations: 2}, steps: [{id: q, pr: {}}]}\n"
    )
    too_many = invalid(
        "name: w\nsteps:\n  - {id: p, loop: {until: 'true', max_iterations: 101}, steps: [{id: q, run: y}]}\n"
    )

    assert bare == "my.yaml: steps[0] (p): a loop needs `steps`: the steps each iteration runs"
    assert stray == "my.yaml: steps[0] (p): only a `loop` step has `steps`"
    assert nested == "my.yaml: steps[0] (p): step 'q': a loop runs run and prompt steps only"
    assert too_many == "my.yaml: steps[0] (p): loop.max_iterations: Input should be less than or equal to 100"


def test_an_output_schema_that_is_not_a_json_schema_is_refused_naming_the_step() -> None:
    message = invalid(
        """\
        name: w
        steps:
          - id: plan
            prompt: Plan it.
            output_schema: {type: object, properties: {tasks: {type: lists}}}
          - id: count
            run: ./count
            output_schema: {properties: {n: {minimum: "one"}}}
          - {id: fine, run: x, output_schema: {$schema: "http://json-schema.org/draft-07/schema#"}}
        """
    )
    assert message.splitlines() == [
        "my.yaml: steps[0] (plan): output_schema: not a valid JSON Schema: 'lists' is not valid under any"
        " of the given schemas (at properties.tasks.type)",
        "my.yaml: steps[1] (count): output_schema: not a valid JSON Schema: 'one' is not of type 'number'"
        " (at properties.n.minimum)",
    ]


def test_output_schema_is_for_prompt_and_run_steps_only() -> None:
    message = invalid(
        """\
        name: w
        steps:
          - {id: plan, prompt: Plan it., output_schema: {type: object}}
          - {id: ask, gate: {}, output_schema: {type: object}}
          - {id: open, pr: {}, output_schema: {type: object}}
        """
    )
    assert message.splitlines() == [
        "my.yaml: steps[1] (ask): output_schema: only prompt and run steps have one; this is a gate step",
        "my.yaml: steps[2] (open): output_schema: only prompt and run steps have one; this is a pr step",
    ]
    not_a_mapping = invalid("name: w\nsteps:\n  - {id: odd, run: x, output_schema: [1, 2]}\n")
    assert not_a_mapping == "my.yaml: steps[0] (odd): output_schema: Input should be a valid dictionary"
