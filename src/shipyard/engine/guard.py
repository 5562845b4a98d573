"""BudgetGuard: stops an agent as soon as a budget it runs under is crossed: its work order's, its
step's own, or an ancestor work order's (a child's spend counts in its parent's)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipyard.domain.budget import Budget, describe
from shipyard.domain.errors import BudgetExceeded
from shipyard.domain.events import EventSink
from shipyard.domain.models import Usage


@dataclass(frozen=True)
class Limit:
    """A budget a step runs under, what was spent against it before the step, and whose it is
    ("" for the work order's own, as its messages always said)."""

    budget: Budget
    spent_before: Usage
    whose: str = ""


class BudgetGuard:
    """An EventSink around a step's sink. Agents report running totals as `agent.usage` events;
    when what was spent before plus this run's crosses a limit, `emit` raises BudgetExceeded,
    which unwinds through the agent's output reader and kills its process group. It keeps what the
    run reported so far, which the agent's own result would have carried: usage and session."""

    def __init__(self, inner: EventSink, limits: list[Limit]) -> None:
        self._inner = inner
        self._limits = limits
        self.run_usage = Usage()  # this step's usage as last reported
        self.session_id: str | None = None  # the agent's session, to resume after a budget stop
        self._ended = Usage()  # what the step's earlier agent runs spent (a correction turn's first)

    async def emit(self, type: str, data: dict[str, Any] | None = None, level: str = "info") -> None:
        await self._inner.emit(type, data, level)
        if type == "agent.session" and data:
            self.session_id = data.get("session_id") or self.session_id
        if type != "agent.usage" or not data:
            return
        reported = Usage.model_validate({k: data[k] for k in Usage.model_fields if k in data})
        self.run_usage = self._ended + reported  # each run reports its own running total
        if data.get("final"):
            self._ended = self.run_usage
        for limit in self._limits:
            total = limit.spent_before + self.run_usage
            crossed = limit.budget.crossed(total)
            if crossed:
                raise BudgetExceeded(
                    f"budget_exceeded: {limit.whose}{crossed} crossed (spent {describe(total)})"
                )
