"""Workflows as the dashboard shows them: the built-in library and a local repository's own
`.shipyard/workflows/`, with names, descriptions, inputs, steps and the YAML as written."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from shipyard.domain.errors import NotFound
from shipyard.service.requests import exists, local_repository
from shipyard.web.pictures import GraphPicture, step_graph
from shipyard.workflows.loader import builtin_names, load_builtin, scan_repository
from shipyard.workflows.schema import InputSpec, WorkflowDefinition


@dataclass
class WorkflowEntry:
    name: str
    description: str
    inputs: dict[str, InputSpec]
    steps: list[tuple[str, str, str]]  # (id, kind, phase)
    yaml: str
    picture: GraphPicture
    source: str = "built-in"

    @property
    def required(self) -> list[str]:
        return [name for name, spec in self.inputs.items() if spec.required]


def _entry(definition: WorkflowDefinition, text: str, source: str = "built-in") -> WorkflowEntry:
    steps = [(step.id, str(step.kind), step.phase or "") for step in definition.steps]
    picture = step_graph(definition.steps)
    return WorkflowEntry(
        definition.name, definition.description, definition.inputs, steps, text, picture, source
    )


def workflow_entry(name: str) -> WorkflowEntry:
    """A built-in workflow; NotFound naming the built-ins when there is none."""
    if name not in builtin_names():
        raise NotFound(f"no built-in workflow '{name}'; built-in workflows: {', '.join(builtin_names())}")
    definition = load_builtin(name)
    path = resources.files("shipyard.workflows").joinpath("builtin", f"{name}.yaml")
    return _entry(definition, path.read_text(encoding="utf-8"))


def library() -> list[WorkflowEntry]:
    """Every built-in workflow, by name."""
    return [workflow_entry(name) for name in builtin_names()]


def repository_workflows(repository_url: str) -> tuple[list[WorkflowEntry], list[str]]:
    """A local repository's own workflows, and the problems of the files that failed to load;
    nothing for a remote repository (its workflows are read once it is cloned)."""
    path = local_repository(repository_url.strip()) if repository_url.strip() else None
    if path is None or not (exists(path) and path.is_dir()):
        return [], []
    scan = scan_repository(path)
    entries = [
        _entry(d, (path / (d.source or "")).read_text(encoding="utf-8"), d.source or "")
        for d in scan.definitions
    ]
    return entries, scan.errors
