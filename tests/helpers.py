"""Helpers the tests share (fixtures live in conftest.py): hand-made markets, tiny training settings."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from cryptofolio.envs import MarketData, Splits, asset_category

SHARED_DATA = Path(
    os.environ.get("CRYPTOFOLIO_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
)
"""The real market data of ../shared/data (or $CRYPTOFOLIO_DATA); tests that read it skip without it."""

MarketFactory = Callable[..., MarketData]

TINY = {
    "ppo": ["n_steps=32", "batch_size=32", "n_epochs=2"],
    "recurrent_ppo": ["n_steps=32", "batch_size=32", "n_epochs=2", "policy_kwargs.lstm_hidden_size=8"],
    "a2c": ["n_steps=8"],
    "sac": ["learning_starts=50", "buffer_size=2000", "batch_size=32"],
    "td3": ["learning_starts=50", "buffer_size=2000", "batch_size=32"],
    "direct": ["n_steps=16"],
    "ppo_budget": ["n_steps=32", "batch_size=32", "n_epochs=2"],
    "direct_budget": ["n_steps=16"],
    "hedge": ["n_steps=16"],
    "eiie": ["n_steps=16"],
}
"""Per learner, the settings that make a run of a few hundred steps learn at all."""
COMMON = [
    "n_envs=2",
    "eval_freq=100",
    "checkpoint_freq=200",
    "policy_kwargs.net_arch=[16,16]",
    "env.episode_length=60",
]
"""Tiny settings every learner's test run shares: small networks, frequent validation."""


def tiny_overrides(algo: str) -> list[str]:
    """``--set`` overrides of a tiny run of ``algo``."""
    return [*COMMON, *TINY.get(algo, [])]


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


def market_of_columns(market: MarketData, columns: list[int]) -> MarketData:
    """The market of its ``columns`` (cash, 0, first) alone, in that order."""
    return MarketData(
        timestamps=market.timestamps,
        symbols=[market.symbols[c] for c in columns],
        close=market.close[:, columns],
        available=market.available[:, columns],
        categories=[market.categories[c] for c in columns],
        freq=market.freq,
        source=f"{market.source} columns {columns}",
    )


def whole_market_splits(n_bars: int, train_stop: int) -> Splits:
    """Train on bars [0, train_stop); validation and test share the rest (two bars each at least)."""
    middle = (train_stop + n_bars) // 2
    return Splits(
        train=range(0, train_stop), validation=range(train_stop, middle), test=range(middle, n_bars)
    )


def refused(argv: list[str], capsys: object, *named: str) -> str:
    """Run ``cryptofolio argv``; check it refused in one line (exit code 2, no traceback) holding each of
    ``named``; return that line."""
    from cryptofolio.cli import main

    code = main(argv)
    error = capsys.readouterr().err.strip()  # type: ignore[attr-defined]
    assert code == 2 and "Traceback" not in error and len(error.splitlines()) == 1, error
    for text in named:
        assert text in error, error
    return error
