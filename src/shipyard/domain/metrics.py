"""Work-order metrics (seed 004): success rate, runtimes and failure causes, overall and per
workflow and agent. Pure functions over finished work orders."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, Field

# Ordered: the first pattern found in an error message names its cause.
_CAUSES: list[tuple[str, re.Pattern[str]]] = [
    ("budget exceeded", re.compile(r"budget_exceeded")),
    ("timeout", re.compile(r"\btimeout\b|timed out")),
    ("agent not logged in", re.compile(r"agent failed \(auth\)")),
    ("agent rate limit", re.compile(r"agent failed \((rate_limit|overloaded)\)")),
    ("agent max turns", re.compile(r"agent failed \(max_turns\)")),
    ("agent error", re.compile(r"agent failed")),
    ("command failed", re.compile(r"exit code \d+")),
    ("repository", re.compile(r"clone|repository|fetch|push", re.IGNORECASE)),
    ("github", re.compile(r"GitHub", re.IGNORECASE)),
    ("worker lost", re.compile(r"heartbeat|worker", re.IGNORECASE)),
]


class Finished(BaseModel):
    """What metrics need of one finished work order."""

    workflow: str
    agent: str
    status: str  # completed | failed | cancelled
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error: str | None = None

    @property
    def runtime_s(self) -> float | None:
        if self.started_at is None or self.completed_at is None:
            return None
        return max(0.0, (self.completed_at - self.started_at).total_seconds())


class GroupMetrics(BaseModel):
    """The figures of one group of work orders (all, one workflow, one agent)."""

    name: str
    total: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    success_rate: float | None = None  # completed / (completed + failed); cancelled ones not counted
    runtime_p50_s: float | None = None
    runtime_p90_s: float | None = None
    failure_causes: dict[str, int] = Field(default_factory=dict)  # most frequent first


class Metrics(BaseModel):
    overall: GroupMetrics
    by_workflow: list[GroupMetrics]
    by_agent: list[GroupMetrics]


def failure_cause(error: str | None) -> str:
    """A short name for why a work order failed, from its error message."""
    for name, pattern in _CAUSES:
        if error and pattern.search(error):
            return name
    return "other"


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0..100) of `values`, interpolating between the nearest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def group_metrics(name: str, finished: Iterable[Finished]) -> GroupMetrics:
    """The figures of one group."""
    items = list(finished)
    statuses = Counter(item.status for item in items)
    completed, failed = statuses["completed"], statuses["failed"]
    runtimes = [r for item in items if item.status == "completed" and (r := item.runtime_s) is not None]
    causes = Counter(failure_cause(item.error) for item in items if item.status == "failed")
    return GroupMetrics(
        name=name,
        total=len(items),
        completed=completed,
        failed=failed,
        cancelled=statuses["cancelled"],
        success_rate=completed / (completed + failed) if completed + failed else None,
        runtime_p50_s=percentile(runtimes, 50),
        runtime_p90_s=percentile(runtimes, 90),
        failure_causes=dict(causes.most_common()),
    )


def compute_metrics(finished: Iterable[Finished]) -> Metrics:
    """Figures overall, per workflow and per agent (groups by size, largest first)."""
    items = list(finished)

    def by(key: str) -> list[GroupMetrics]:
        groups: dict[str, list[Finished]] = {}
        for item in items:
            groups.setdefault(getattr(item, key), []).append(item)
        ranked = sorted(groups.items(), key=lambda pair: (-len(pair[1]), pair[0]))
        return [group_metrics(name, members) for name, members in ranked]

    return Metrics(overall=group_metrics("all", items), by_workflow=by("workflow"), by_agent=by("agent"))
