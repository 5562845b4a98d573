"""Which of a project's sources a normalised event matches, and the inputs each one starts with."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from shipyard.domain.projects import Source
from shipyard.triggers.events import TriggerEvent
from shipyard.workflows.templating import render


def _any_glob(values: list[str], globs: list[str]) -> bool:
    return any(fnmatchcase(value, glob) for value in values for glob in globs)


def matches(source: Source, event: TriggerEvent, default_repository: str | None) -> bool:
    """Whether `event` fires `source`; a rule with no repository watches `default_repository`."""
    if source.on != event.event or event.deleted:
        return False
    repository = (source.repository or default_repository or "").lower()
    if not event.repository or not fnmatchcase(event.repository.lower(), repository):
        return False
    return all(check(source, event) for check in _CHECKS)


def _actions(source: Source, event: TriggerEvent) -> bool:
    return not source.actions or event.action in source.actions


def _branches(source: Source, event: TriggerEvent) -> bool:
    return not source.branches or (event.branch is not None and _any_glob([event.branch], source.branches))


def _labels(source: Source, event: TriggerEvent) -> bool:
    if not source.labels:
        return True
    if event.action in ("labeled", "unlabeled"):  # the label this delivery is about
        return event.label in source.labels
    return bool(set(event.labels) & set(source.labels))


def _command(source: Source, event: TriggerEvent) -> bool:
    return source.command is None or event.comment.lstrip().startswith(source.command)


def _types(source: Source, event: TriggerEvent) -> bool:
    return not source.types or event.dispatch_type in source.types


def _paths(source: Source, event: TriggerEvent) -> bool:
    return not source.paths or _any_glob(event.changed_paths, source.paths)


_CHECKS = (_actions, _branches, _labels, _command, _types, _paths)


def render_inputs(source: Source, event: TriggerEvent) -> dict[str, Any]:
    """The source's input templates rendered over `event`; WorkflowInvalid names a bad template."""
    context = {"event": event.model_dump(mode="json")}
    return {name: render(template, context) for name, template in source.inputs.items()}
