"""Budgets: limits on what a work order may spend, and the check that says which one was crossed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

if TYPE_CHECKING:  # models imports this module
    from shipyard.domain.models import Usage
    from shipyard.domain.work_orders import WorkOrder


class Budget(BaseModel):
    """Limits for a whole work order; None means no limit. Crossing one stops the agent."""

    max_cost_usd: float | None = Field(default=None, gt=0)
    max_turns: int | None = Field(default=None, gt=0)
    max_tokens: int | None = Field(default=None, gt=0)
    max_duration_s: float | None = Field(default=None, gt=0)

    def crossed(self, spent: Usage) -> str | None:
        """The first limit `spent` went past, as `name limit`, or None."""
        checks = [
            ("max_turns", self.max_turns, spent.turns),
            ("max_tokens", self.max_tokens, spent.input_tokens + spent.output_tokens),
            ("max_cost_usd", self.max_cost_usd, spent.cost_usd or 0.0),
        ]
        for name, limit, value in checks:
            if limit is not None and value > limit:
                return f"{name} {limit:g}"
        return None


def stored_budget(work_order: WorkOrder) -> Budget | None:
    """A recorded work order's budget: its own, else its workflow's."""
    spec = work_order.budget or (work_order.definition or {}).get("budget")
    return Budget.model_validate(spec) if spec else None


def describe(spent: Usage) -> str:
    """What was spent, for messages: `3 turns, 1200 tokens, $0.42`."""
    text = f"{spent.turns} turns, {spent.input_tokens + spent.output_tokens} tokens"
    return text + (f", ${spent.cost_usd:.2f}" if spent.cost_usd is not None else "")
