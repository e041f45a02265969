"""Cost of a request from its token counts: a price table per model, overridable in the judge config."""

from __future__ import annotations

# USD per million tokens (input, output), list prices for standard-context requests. Prices change:
# set price_in_per_mtok / price_out_per_mtok in the judge config to override; unknown models cost 0
# and say so in the verdict evidence rather than invent a figure.
PRICES: dict[str, tuple[float, float]] = {
    "gemini-3.1-pro-preview": (2.00, 12.00),
    "gemini-3-flash-preview": (0.50, 3.00),
    "gemini-2.5-pro": (1.25, 10.00),
    "gemini-2.5-flash": (0.30, 2.50),
    "gemini-2.5-flash-lite": (0.10, 0.40),
    "gemini-3.1-flash-lite-preview": (0.25, 1.50),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
}


def price_for(model: str, price_in: float | None, price_out: float | None) -> tuple[float, float, bool]:
    """(input, output) USD per million tokens and whether the price is known."""
    table = PRICES.get(model.removeprefix("models/"))
    known = table is not None or (price_in is not None and price_out is not None)
    base_in, base_out = table or (0.0, 0.0)
    return (base_in if price_in is None else price_in), (base_out if price_out is None else price_out), known


def cost_usd(tokens_in: int, tokens_out: int, price_in: float, price_out: float) -> float:
    return (tokens_in * price_in + tokens_out * price_out) / 1_000_000
