"""The step graph of a workflow: what each step waits for, which steps may run at the same time.

A step depends on the steps its `depends_on` names; without one, on the step before it (the
first step on nothing); `depends_on: []` starts it at once. Pure functions over step ids and
their dependencies, shared by the validator, the engine (inside Temporal's workflow sandbox: no
I/O here) and the pages that draw the graph.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol


class GraphStep(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def depends_on(self) -> list[str] | None: ...


def dependencies(steps: Sequence[GraphStep]) -> dict[str, list[str]]:
    """Each step's id → the ids it waits for, in definition order."""
    deps: dict[str, list[str]] = {}
    for index, step in enumerate(steps):
        if step.depends_on is not None:
            deps[step.id] = list(step.depends_on)
        else:
            deps[step.id] = [steps[index - 1].id] if index else []
    return deps


def order(deps: Mapping[str, list[str]]) -> list[str]:
    """The steps in an order where each comes after everything it depends on; steps on a cycle
    (or waiting for one) are left out. Dependencies on unknown ids are ignored."""
    waiting = {node: {d for d in found if d in deps} for node, found in deps.items()}
    ready = [node for node, pending in waiting.items() if not pending]
    ordered: list[str] = []
    while ready:
        node = ready.pop(0)
        ordered.append(node)
        for other, pending in waiting.items():
            if node in pending:
                pending.discard(node)
                if not pending:
                    ready.append(other)
    return ordered


def cycle(deps: Mapping[str, list[str]]) -> list[str] | None:
    """A dependency cycle as the ids along it (its first id repeated at the end), or None."""
    left = [node for node in deps if node not in set(order(deps))]
    if not left:
        return None
    path = [left[0]]
    while True:  # every step left waits for another step left: walk until one repeats
        node = next(d for d in deps[path[-1]] if d in left)
        if node in path:
            return [*path[path.index(node) :], node]
        path.append(node)


def ancestors(deps: Mapping[str, list[str]]) -> dict[str, set[str]]:
    """Each step's id → every step that has ended before it starts (dependencies, transitively).
    Steps on a cycle are left out."""
    found: dict[str, set[str]] = {}
    for node in order(deps):
        found[node] = set()
        for dep in deps[node]:
            found[node] |= {dep} | found.get(dep, set())
    return found


def concurrent(deps: Mapping[str, list[str]]) -> list[tuple[str, str]]:
    """Pairs of steps that may run at the same time (neither waits for the other), in definition
    order. `deps` must have no cycle."""
    before = ancestors(deps)
    ids = list(deps)
    return [
        (a, b) for i, a in enumerate(ids) for b in ids[i + 1 :] if a not in before[b] and b not in before[a]
    ]


def layers(deps: Mapping[str, list[str]]) -> list[list[str]]:
    """The steps by depth: the first layer waits for nothing, each next one for steps above it.
    Steps on a cycle are left out."""
    depth: dict[str, int] = {}
    for node in order(deps):
        depth[node] = 1 + max((depth[d] for d in deps[node] if d in depth), default=-1)
    rows: list[list[str]] = [[] for _ in range(1 + max(depth.values(), default=-1))]
    for node in deps:
        if node in depth:
            rows[depth[node]].append(node)
    return rows
