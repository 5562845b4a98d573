"""The issue planner's answer, checked against seed 002's tree rules before any issue exists.

The planner answers the epic's children: each a feature (with `tasks`) or, with nothing under it,
a task; a task holds nothing. Siblings run one after another in the order given, except that one
which `depends_on` a later sibling is moved after it (a stable order, else a cycle is refused).
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shipyard.domain.errors import InvalidInput
from shipyard.domain.ideas import IssueType
from shipyard.store.records import IssueNodeRecord, PlannedIssue

_Planned = TypeVar("_Planned", bound="PlannedTask")
MAX_ISSUES = 60  # features and tasks of one run: each is a work order, a branch and a pull request


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlannedTask(_Strict):
    title: str = Field(min_length=1, max_length=200)
    body: str = ""
    acceptance_criteria: list[str] = Field(default_factory=list)
    depends_on: list[int] = Field(default_factory=list)  # indices of siblings


class PlannedFeature(PlannedTask):
    tasks: list[PlannedTask] = Field(default_factory=list)


class PlannedTree(_Strict):
    """What the issue planner answers (the `plan` step's typed output)."""

    features: list[PlannedFeature] = Field(min_length=1)


def tree_from_plan(answer: Any) -> list[PlannedIssue]:
    """The epic's children as issues to create, in the order they run; InvalidInput saying what
    breaks the rules (a task under a task, a dependency on itself or outside its siblings, a
    cycle, too many issues)."""
    try:
        tree = PlannedTree.model_validate(answer)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the plan"
        if first["type"] == "extra_forbidden" and first["loc"][-1] == "tasks":
            raise InvalidInput(f"{where}: a task cannot hold tasks (epic → features → tasks)") from None
        raise InvalidInput(f"{where}: {first['msg']}") from None
    count = len(tree.features) + sum(len(feature.tasks) for feature in tree.features)
    if count > MAX_ISSUES:
        raise InvalidInput(f"the plan has {count} issues; a run makes at most {MAX_ISSUES}")
    features = _ordered(tree.features, "features")
    return [
        PlannedIssue(
            type=IssueType.FEATURE if feature.tasks else IssueType.TASK,
            title=feature.title,
            body=feature.body,
            acceptance_criteria=feature.acceptance_criteria,
            depends_on=deps,
            children=[
                PlannedIssue(
                    type=IssueType.TASK,
                    title=task.title,
                    body=task.body,
                    acceptance_criteria=task.acceptance_criteria,
                    depends_on=task_deps,
                )
                for task, task_deps in _ordered(feature.tasks, f"features[{index}].tasks")
            ],
        )
        for index, (feature, deps) in enumerate(features)
    ]


def children_by_parent(issues: list[IssueNodeRecord]) -> dict[int | None, list[IssueNodeRecord]]:
    """Each issue's children among `issues` (under None: those whose parent is not among them, or
    none), siblings in the order they run."""
    ids = {issue.id for issue in issues}
    below: dict[int | None, list[IssueNodeRecord]] = {}
    for issue in sorted(issues, key=lambda i: (i.order_index, i.id)):
        below.setdefault(issue.parent_id if issue.parent_id in ids else None, []).append(issue)
    return below


def _ordered(siblings: list[_Planned], where: str) -> list[tuple[_Planned, list[int]]]:
    """Siblings in the order they run (the given one, each moved after what it depends on), each
    with its dependencies as positions in that order."""
    for index, item in enumerate(siblings):
        for dep in item.depends_on:
            if dep == index or not 0 <= dep < len(siblings):
                raise InvalidInput(
                    f"{where}[{index}] ({item.title}): depends_on {dep} is not another of its "
                    f"{len(siblings)} siblings"
                )
    order: list[int] = []
    waiting = list(range(len(siblings)))
    while waiting:
        ready = next((i for i in waiting if all(d in order for d in siblings[i].depends_on)), None)
        if ready is None:
            names = ", ".join(f"{i} ({siblings[i].title})" for i in waiting)
            raise InvalidInput(f"{where}: the dependencies of {names} form a cycle")
        order.append(ready)
        waiting.remove(ready)
    position = {old: new for new, old in enumerate(order)}
    return [(siblings[i], sorted(position[d] for d in siblings[i].depends_on)) for i in order]
