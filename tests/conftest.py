"""Shared test fixtures: tiny hand-made markets and the optional real data in ../shared/data."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cryptofolio.envs import MarketData, Splits, asset_category

SHARED_DATA = Path(
    os.environ.get("CRYPTOFOLIO_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
)

MarketFactory = Callable[..., MarketData]


def build_market(
    prices: dict[str, list[float]], *, freq: str = "1D", start: str = "2024-01-01", cash: str = "USDT"
) -> MarketData:
    """A market from close prices per risky asset (NaN before listing); cash priced 1.0."""
    closes = np.column_stack(
        [np.ones(len(next(iter(prices.values())))), *[np.asarray(p, float) for p in prices.values()]]
    )
    symbols = (cash, *prices)
    return MarketData(
        timestamps=pd.date_range(start, periods=len(closes), freq=freq, tz="UTC"),
        symbols=symbols,
        close=closes,
        available=~np.isnan(closes),
        categories=tuple(asset_category(s) for s in symbols),
        freq=pd.Timedelta(freq),
        source="test",
    )


@pytest.fixture
def make_market() -> MarketFactory:
    return build_market


def whole_market_splits(n_bars: int, train_stop: int) -> Splits:
    """Train on bars [0, train_stop); validation and test share the rest (two bars each at least)."""
    middle = (train_stop + n_bars) // 2
    return Splits(
        train=range(0, train_stop), validation=range(train_stop, middle), test=range(middle, n_bars)
    )


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real market data not found at {SHARED_DATA} (set CRYPTOFOLIO_DATA to its folder)")
    return SHARED_DATA
