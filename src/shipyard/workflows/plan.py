"""A workflow's plan: what a work order would run, worked out before anything runs (a dry run).

The steps in their layers (each layer waits for the ones above it), and per step what it is, who
answers it and what it waits for, with its command or prompt rendered from the inputs where the
inputs are enough. A template that reads what only a run knows (another step's output, the work
order's id or branch) is shown as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from shipyard.domain.errors import WorkflowInvalid
from shipyard.workflows import fanout, graph
from shipyard.workflows.schema import StepDef, StepKind, WorkflowDefinition
from shipyard.workflows.templating import render


class PlannedText(BaseModel):
    """A template of a step, and what it says with the inputs given."""

    template: str = Field(description="As written in the definition.")
    rendered: str | None = Field(
        description="Rendered with the inputs; null when it reads what only a run knows."
    )
    note: str | None = Field(default=None, description="Why it is not rendered.")


class PlannedChild(BaseModel):
    """A child work order a call would start."""

    item: Any = Field(description="Its fan-out item; null for a call without a fan-out.")
    inputs: dict[str, Any] = Field(description="Its inputs, rendered.")
    base: str | None = Field(description="The branch it would start from; null: the parent's.")


class PlannedCall(BaseModel):
    """What a call step would start."""

    workflow: str
    merge: str
    max_parallel: int | None = Field(description="Children at once (a fan-out); null for one child.")
    children: list[PlannedChild] | None = Field(
        description="One per item of its list; null when the list or inputs read what only a run knows."
    )
    note: str | None = Field(default=None, description="Why the children are not listed.")


class PlannedStep(BaseModel):
    """One step as a work order would run it."""

    id: str
    kind: StepKind
    layer: int = Field(description="Index into the plan's layers.")
    agent: str | None = Field(description="Who answers a prompt step; null for other kinds.")
    model: str | None = Field(description="The step's model; null: the agent's default.")
    phase: str | None
    depends_on: list[str] = Field(description="What it waits for; the previous step unless it says.")
    when: str | None = Field(description="Its condition as written; evaluated when it is reached.")
    text: PlannedText | None = Field(
        description="The command (run), prompt (prompt), pull request title (pr) or message (gate)."
    )
    commit: PlannedText | None = Field(description="The commit message of what it changed.")
    secrets: list[str] = Field(description="Names of the project secrets it gets (never values).")
    call: PlannedCall | None = Field(default=None, description="A call step's child work orders.")


class WorkflowPlan(BaseModel):
    """A resolved workflow with its inputs bound, as layers of steps."""

    name: str
    description: str
    source: str | None = Field(description="Where it came from: a built-in, a repository file, inline.")
    inputs: dict[str, Any] = Field(description="Every declared input with the value it would get.")
    layers: list[list[str]] = Field(description="Step ids by layer: each waits only for layers above.")
    steps: list[PlannedStep]


def plan_workflow(
    definition: WorkflowDefinition,
    inputs: Mapping[str, Any],
    *,
    agent: str,
    work_order: Mapping[str, Any] | None = None,
    repo_path: Path | None = None,
) -> WorkflowPlan:
    """The plan of `definition` with bound `inputs`; `work_order` holds the fields of the template
    context known before the run (repository_url, base_branch), `repo_path` the local repository
    that `command()` reads."""
    deps = graph.dependencies(definition.steps)
    layers = graph.layers(deps)
    layer_of = {step_id: index for index, layer in enumerate(layers) for step_id in layer}
    context = {"inputs": dict(inputs), "work_order": dict(work_order or {})}
    steps = [
        PlannedStep(
            id=step.id,
            kind=step.kind,
            layer=layer_of[step.id],
            agent=(step.agent or agent) if step.kind == "prompt" else None,
            model=step.model,
            phase=step.phase,
            depends_on=deps[step.id],
            when=step.when,
            text=_text(step, context, repo_path),
            commit=_planned(step.commit, context, repo_path) if step.commit else None,
            secrets=sorted({*definition.secrets, *step.secrets}),
            call=_call(step, context, repo_path),
        )
        for step in definition.steps
    ]
    return WorkflowPlan(
        name=definition.name,
        description=definition.description,
        source=definition.source,
        inputs=dict(inputs),
        layers=layers,
        steps=steps,
    )


def _text(step: StepDef, context: Mapping[str, Any], repo_path: Path | None) -> PlannedText | None:
    if step.run is not None:
        return _planned(step.run, context, repo_path, shell=True)
    if step.prompt is not None:
        return _planned(step.prompt, context, repo_path)
    if step.pr is not None:
        title = step.pr.title or "{{ work_order.id }}: {{ work_order.branch }}"  # the engine's default
        return _planned(title, context, repo_path)
    if step.review is not None:  # the pull request it reviews
        return _planned(step.review.pull_request, context, repo_path)
    if step.reply is not None:
        return _planned(step.reply.pull_request, context, repo_path)
    if step.actions is not None:  # the dispatch it sends
        return _planned(step.actions.event_type, context, repo_path)
    if step.gate is not None and step.gate.message:  # shown as it is: not a template
        return PlannedText(template=step.gate.message, rendered=step.gate.message)
    return None


def _call(step: StepDef, context: Mapping[str, Any], repo_path: Path | None) -> PlannedCall | None:
    if step.call is None:
        return None
    spec = step.call
    known = PlannedCall(
        workflow=spec.workflow,
        merge=spec.merge,
        max_parallel=step.fan_out.max_parallel if step.fan_out else None,
        children=None,
    )
    try:
        made = fanout.children(step, dict(context), repo_path)
    except WorkflowInvalid as err:
        return known.model_copy(update={"note": err.message})
    children = [PlannedChild(item=child.item, inputs=child.inputs, base=child.base) for child in made]
    return known.model_copy(update={"children": children})


def _planned(
    template: str, context: Mapping[str, Any], repo_path: Path | None, *, shell: bool = False
) -> PlannedText:
    try:
        text = render(template, context, repo_path=repo_path, shell=shell)
        return PlannedText(template=template, rendered=text)
    except WorkflowInvalid as err:
        return PlannedText(template=template, rendered=None, note=err.message)
