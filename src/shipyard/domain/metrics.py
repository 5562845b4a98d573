"""Work-order metrics (seed 004): success rate, runtimes, spend and failure causes, overall and
per workflow, agent and runner, and over time per day or week. Pure functions over finished work
orders."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from shipyard.domain.errors import InvalidInput
from shipyard.domain.work_orders import WorkOrder

Bucket = Literal["day", "week"]
BUCKET_DAYS: dict[Bucket, int] = {"day": 1, "week": 7}
# The most recent buckets a series keeps: about a quarter of days, a year of weeks.
MAX_BUCKETS: dict[Bucket, int] = {"day": 90, "week": 52}

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
    runner: str | None = None  # the coding plan's runner that started it, if one did
    cost_usd: float | None = None  # None: nobody knows what it cost
    input_tokens: int = 0
    output_tokens: int = 0

    @classmethod
    def of(cls, wo: WorkOrder) -> Finished:
        """The figures of a stored work order; its runner is its trigger's `runner`."""
        runner = (wo.trigger or {}).get("runner")
        return cls(
            workflow=wo.workflow_type, agent=wo.agent, status=wo.status.value,
            started_at=wo.execution_started_at, completed_at=wo.execution_completed_at,
            error=wo.error_message, runner=runner if isinstance(runner, str) and runner else None,
            cost_usd=wo.usage_cost_usd, input_tokens=wo.usage_input_tokens,
            output_tokens=wo.usage_output_tokens,
        )  # fmt: skip

    @property
    def runtime_s(self) -> float | None:
        if self.started_at is None or self.completed_at is None:
            return None
        return max(0.0, (self.completed_at - self.started_at).total_seconds())


class GroupMetrics(BaseModel):
    """The figures of one group of work orders (all, one workflow, agent or runner)."""

    name: str
    total: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    success_rate: float | None = None  # completed / (completed + failed); cancelled ones not counted
    runtime_mean_s: float | None = None
    runtime_p50_s: float | None = None
    runtime_p90_s: float | None = None
    cost_usd: float = 0.0  # of the ones whose cost is known
    unpriced: int = 0  # how many have no known cost (left out of cost_usd)
    input_tokens: int = 0
    output_tokens: int = 0
    failure_causes: dict[str, int] = Field(default_factory=dict)  # most frequent first


class Period(BaseModel):
    """The work orders that finished in one day or week (UTC)."""

    start: date  # the first day; a week starts on Monday
    runs: int = 0
    completed: int = 0
    failed: int = 0
    success_rate: float | None = None
    runtime_p50_s: float | None = None
    cost_usd: float = 0.0


class Metrics(BaseModel):
    overall: GroupMetrics
    by_workflow: list[GroupMetrics]
    by_agent: list[GroupMetrics]
    by_runner: list[GroupMetrics]  # only the work orders a coding plan's runner started
    bucket: Bucket
    series: list[Period]  # oldest first, no gaps, the most recent MAX_BUCKETS[bucket]


def bucket_of(value: str) -> Bucket:
    """`value` as a bucket size, or InvalidInput naming the ones there are."""
    if value in BUCKET_DAYS:
        return value
    raise InvalidInput(f"unknown bucket {value[:40]!r}; one of: {', '.join(BUCKET_DAYS)}")


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
    """The figures of one group; runtimes are of the completed ones."""
    items = list(finished)
    statuses = Counter(item.status for item in items)
    completed, failed = statuses["completed"], statuses["failed"]
    runtimes = [r for item in items if item.status == "completed" and (r := item.runtime_s) is not None]
    causes = Counter(failure_cause(item.error) for item in items if item.status == "failed")
    costs = [item.cost_usd for item in items if item.cost_usd is not None]
    return GroupMetrics(
        name=name,
        total=len(items),
        completed=completed,
        failed=failed,
        cancelled=statuses["cancelled"],
        success_rate=completed / (completed + failed) if completed + failed else None,
        runtime_mean_s=sum(runtimes) / len(runtimes) if runtimes else None,
        runtime_p50_s=percentile(runtimes, 50),
        runtime_p90_s=percentile(runtimes, 90),
        cost_usd=sum(costs),
        unpriced=len(items) - len(costs),
        input_tokens=sum(item.input_tokens for item in items),
        output_tokens=sum(item.output_tokens for item in items),
        failure_causes=dict(causes.most_common()),
    )


def period_start(at: datetime, bucket: Bucket) -> date:
    """The first day (UTC) of the day or week `at` falls in; a naive `at` is taken as UTC."""
    day = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).date()
    return day - timedelta(days=day.weekday()) if bucket == "week" else day


def series(finished: Iterable[Finished], bucket: Bucket) -> list[Period]:
    """The work orders by the day or week they finished in, from the first such bucket to the last
    with empty ones between, the most recent MAX_BUCKETS[bucket]. Ones with no completion time
    are left out."""
    groups: dict[date, list[Finished]] = {}
    for item in finished:
        if item.completed_at is not None:
            groups.setdefault(period_start(item.completed_at, bucket), []).append(item)
    if not groups:
        return []
    step = timedelta(days=BUCKET_DAYS[bucket])
    last = max(groups)
    first = max(min(groups), last - step * (MAX_BUCKETS[bucket] - 1))
    starts = [first + step * n for n in range((last - first) // step + 1)]
    return [_period(start, groups.get(start, [])) for start in starts]


def _period(start: date, items: list[Finished]) -> Period:
    group = group_metrics(start.isoformat(), items)
    return Period(
        start=start, runs=group.total, completed=group.completed, failed=group.failed,
        success_rate=group.success_rate, runtime_p50_s=group.runtime_p50_s, cost_usd=group.cost_usd,
    )  # fmt: skip


def compute_metrics(finished: Iterable[Finished], bucket: Bucket = "day") -> Metrics:
    """Figures overall, per workflow, agent and runner (groups by size, largest first), and over
    time per `bucket`."""
    items = list(finished)

    def by(key: str) -> list[GroupMetrics]:
        groups: dict[str, list[Finished]] = {}
        for item in items:
            if (name := getattr(item, key)) is not None:
                groups.setdefault(name, []).append(item)
        ranked = sorted(groups.items(), key=lambda pair: (-len(pair[1]), pair[0]))
        return [group_metrics(name, members) for name, members in ranked]

    return Metrics(
        overall=group_metrics("all", items),
        by_workflow=by("workflow"),
        by_agent=by("agent"),
        by_runner=by("runner"),
        bucket=bucket,
        series=series(items, bucket),
    )
