"""Diversification checks of the risk-profile guidance, on a run's weights and the period's prices.

Thresholds come from ``configs/profiles.yaml`` (``diversification``): average pairwise
correlation of the held assets below 0.75, no category above 40% of the portfolio, 8 to 15
positions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

import configs
from envs import MarketData
from evaluation.backtest import BacktestResult

HELD = 0.01  # a position counts when its average weight is at least 1%


def correlation(market: MarketData, bars: range) -> pd.DataFrame:
    """Pairwise correlation of the risky assets' daily log returns over ``bars`` (listed days only)."""
    close = market.close[bars.start : bars.stop, 1:]
    returns = pd.DataFrame(np.log(close[1:] / close[:-1]), columns=list(market.symbols[1:]))
    return returns.corr(min_periods=20)


def average_correlation(matrix: pd.DataFrame) -> float:
    """Mean of the off-diagonal pairwise correlations (NaN with fewer than two assets)."""
    values = matrix.to_numpy()
    off_diagonal = values[~np.eye(len(values), dtype=bool)]
    off_diagonal = off_diagonal[np.isfinite(off_diagonal)]
    return float(off_diagonal.mean()) if len(off_diagonal) else float("nan")


def category_shares(weights: np.ndarray, categories: tuple[str, ...]) -> dict[str, float]:
    """Share of the portfolio in each category (cash counts as ``stablecoin``)."""
    shares: dict[str, float] = {}
    for weight, category in zip(weights, categories, strict=True):
        shares[category] = shares.get(category, 0.0) + float(weight)
    return shares


def diversification(result: BacktestResult, market: MarketData, bars: range) -> dict[str, Any]:
    """The guidance's checks on a run's average weights over the evaluated period."""
    limits = configs.read("profiles")["diversification"]
    mean_weights = result.weights_after[:-1].mean(axis=0)
    held = [s for s, w in zip(market.symbols[1:], mean_weights[1:], strict=True) if w >= HELD]
    corr = correlation(market, bars).loc[held, held] if len(held) > 1 else pd.DataFrame()
    shares = category_shares(mean_weights, market.categories)
    largest = max(shares, key=lambda k: shares[k])
    positions = int((mean_weights >= HELD).sum())
    low, high = limits["positions"]
    avg_corr = average_correlation(corr) if len(held) > 1 else float("nan")
    return {
        "average_correlation": avg_corr,
        "correlation_ok": bool(avg_corr < limits["max_average_correlation"])
        if np.isfinite(avg_corr)
        else True,
        "largest_category": largest,
        "largest_category_share": shares[largest],
        "category_ok": shares[largest] <= limits["max_category_share"],
        "positions": positions,
        "positions_ok": low <= positions <= high,
    }
