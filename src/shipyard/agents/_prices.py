"""Prices of model usage from genai-prices' maintained table, for agents that report their cost only
at the end (Claude Code) or never (Codex): a budget can then stop a run as it crosses its limit."""

from __future__ import annotations

import functools
from typing import Any


def estimate_usd(
    model: str | None,
    provider: str,
    *,
    input_tokens: int,
    output_tokens: int,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
) -> float | None:
    """What the usage costs at `provider`'s list price for `model`; None for a model the table does
    not know. `input_tokens` are the uncached ones: cached reads and writes are priced apart."""
    if not model:
        return None
    prices = _prices()
    usage = prices.Usage(
        input_tokens=input_tokens + cache_read_tokens + cache_write_tokens,  # its input counts all three
        cache_read_tokens=cache_read_tokens,
        cache_write_tokens=cache_write_tokens,
        output_tokens=output_tokens,
    )
    try:
        return float(prices.calc_price(usage, model_ref=model, provider_id=provider).total_price)
    except LookupError:
        return None


@functools.cache
def _prices() -> Any:
    import genai_prices  # ~0.2 s to import its table: only when a run first needs a price

    return genai_prices
