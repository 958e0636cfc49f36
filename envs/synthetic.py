"""The default market: regime-switching, correlated, fat-tailed daily crypto prices.

A Markov chain over regimes (bull, bear, high volatility, sideways) picks the regime of
each day; the day's log returns are multivariate Student-t with that regime's means,
volatilities and correlations (one chi-square draw per day scales all assets, so crashes
are joint). Parameters were calibrated on Binance daily closes; ``configs/synthetic.yaml``
records them with their source and the command that produced them. The true regime path
and parameters come with the market (:attr:`MarketData.truth`), so evaluation can compute
a known-parameter reference policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache

import numpy as np
import pandas as pd

from cryptofolio import configs
from cryptofolio.envs.errors import ConfigError, DataError
from cryptofolio.envs.market import MarketData
from cryptofolio.envs.profiles import asset_category, risk_profile

INITIAL_PRICE = 100.0


@dataclass(frozen=True, eq=False)
class RegimeModel:
    """Daily return model per regime, for M assets.

    :param regimes: (K,) regime names.
    :param transition: (K, K) daily transition probabilities, row = today, column = tomorrow.
    :param df: degrees of freedom of the Student-t (> 2; returns are scaled to unit variance).
    :param assets: (M,) symbols.
    :param mean: (K, M) mean daily log return.
    :param volatility: (K, M) std of daily log returns.
    :param correlation: (K, M, M) correlation of daily log returns.
    """

    regimes: tuple[str, ...]
    transition: np.ndarray
    df: float
    assets: tuple[str, ...]
    mean: np.ndarray
    volatility: np.ndarray
    correlation: np.ndarray

    def stationary(self) -> np.ndarray:
        """(K,) long-run share of days in each regime."""
        values, vectors = np.linalg.eig(self.transition.T)
        pi = np.real(vectors[:, np.argmin(np.abs(values - 1.0))])
        return pi / pi.sum()

    def restricted(self, symbols: Sequence[str]) -> RegimeModel:
        """The same model for ``symbols`` only, in that order."""
        unknown = [s for s in symbols if s not in self.assets]
        if unknown:
            raise DataError(
                f"no synthetic parameters for {', '.join(unknown)}; "
                f"calibrated assets: {', '.join(self.assets)}"
            )
        idx = np.array([self.assets.index(s) for s in symbols])
        return replace(
            self,
            assets=tuple(symbols),
            mean=self.mean[:, idx],
            volatility=self.volatility[:, idx],
            correlation=self.correlation[:, idx][:, :, idx],
        )


@dataclass(frozen=True, eq=False)
class SyntheticTruth:
    """What generated a synthetic market.

    :param regime_path: (T,) int regime index of each bar; bar t's return (from t-1 to t)
        was drawn in regime ``regime_path[t]``.
    :param model: the model, restricted to the market's risky assets in column order 1..N.
    """

    regime_path: np.ndarray
    model: RegimeModel


@cache
def calibrated_model() -> RegimeModel:
    """The regime model of ``configs/synthetic.yaml``."""
    data = configs.read("synthetic")
    regimes = tuple(data["regimes"])
    transition = np.array(data["transition"], dtype=np.float64)
    if not np.allclose(transition.sum(axis=1), 1.0, atol=1e-4):
        raise ConfigError(f"configs/synthetic.yaml: transition rows sum to {transition.sum(axis=1)}, not 1")
    return RegimeModel(
        regimes=regimes,
        transition=transition / transition.sum(axis=1, keepdims=True),  # the file rounds to 6 digits
        df=float(data["student_t_df"]),
        assets=tuple(data["assets"]),
        mean=np.array([data["mean"][r] for r in regimes], dtype=np.float64),
        volatility=np.array([data["volatility"][r] for r in regimes], dtype=np.float64),
        correlation=np.array([data["correlation"][r] for r in regimes], dtype=np.float64),
    )


def synthetic_market(
    seed: int = 0,
    *,
    symbols: Sequence[str] | None = None,
    n_bars: int = 2190,
    start: str = "2019-01-01",
    cash: str = "USDC",
    model: RegimeModel | None = None,
) -> MarketData:
    """A synthetic daily market, deterministic for ``seed``.

    :param seed: seed of the whole draw (regime path and returns).
    :param symbols: risky assets (default: the moderate profile's, BTC ETH SOL AVAX ATOM
        LINK AAVE ARB GRT); each must be in the calibrated model.
    :param n_bars: number of daily bars (default six years).
    :param start: date of the first bar (UTC).
    :param cash: symbol of the cash stablecoin, priced 1.0.
    :param model: regime model (default: :func:`calibrated_model`).
    """
    if n_bars < 2:
        raise ValueError(f"n_bars must be at least 2, got {n_bars}")
    symbols = tuple(risk_profile("moderate").assets if symbols is None else symbols)
    model = (calibrated_model() if model is None else model).restricted(symbols)
    rng = np.random.default_rng(seed)

    n_regimes = len(model.regimes)
    path = np.empty(n_bars, dtype=np.int64)
    path[0] = rng.choice(n_regimes, p=model.stationary())
    draws = rng.random(n_bars)
    cumulative = np.cumsum(model.transition, axis=1)
    for t in range(1, n_bars):
        path[t] = min(int(np.searchsorted(cumulative[path[t - 1]], draws[t], side="right")), n_regimes - 1)

    normal = rng.standard_normal((n_bars, len(symbols)))
    chi2 = rng.chisquare(model.df, size=n_bars)
    student = np.sqrt((model.df - 2.0) / chi2)[:, None]  # unit-variance t scaling
    returns = np.zeros((n_bars, len(symbols)))
    for k in range(n_regimes):
        days = np.flatnonzero(path == k)
        days = days[days > 0]
        shocks = normal[days] @ np.linalg.cholesky(model.correlation[k]).T * student[days]
        returns[days] = model.mean[k] + model.volatility[k] * shocks

    close = np.column_stack([np.ones(n_bars), INITIAL_PRICE * np.exp(np.cumsum(returns, axis=0))])
    all_symbols = (cash, *symbols)
    return MarketData(
        timestamps=pd.date_range(start, periods=n_bars, freq="1D", tz="UTC"),
        symbols=all_symbols,
        close=close,
        available=np.ones(close.shape, dtype=bool),
        categories=tuple(asset_category(s) for s in all_symbols),
        freq=pd.Timedelta(days=1),
        source=f"synthetic(seed={seed})",
        truth=SyntheticTruth(regime_path=path, model=model),
    )
