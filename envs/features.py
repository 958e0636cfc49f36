"""Observation features: computed once per market, read per bar.

This is the one feature pipeline: the env, the vector env and ``recommend`` all build
observations with :func:`fill_observation`. Every feature at bar t uses prices up to and
including bar t only.

Observation layout, for N risky assets (columns cash first), in one of two kinds:

==============  ==========  ===========  =========================================================
slice           length      range        content
==============  ==========  ===========  =========================================================
returns         L * (N+1)   [-5, 5]      log returns of bars t-L+1..t, oldest first, one row of
                                         N+1 per bar; 0 where the asset was not listed at the bar
                                         or the bar before (L = W for ``window``, 0 for ``summary``)
per bar         M           see below    ``window``: annualized std of the listed bars' log returns
                                         over the last W bars (N+1 values in [0, 10]).
                                         ``summary``: five blocks of N+1, momentum (log price
                                         change) over 7, 30 and 90 bars in [-5, 5], 30-bar
                                         annualized volatility in [0, 10], and the log ratio of
                                         that volatility to the 365-bar one in [-3, 3]; 0 where
                                         the history is too short
weights         N+1         [0, 1]       current (drifted) weights, before trading at t
listed          N           {0, 1}       1 if the risky asset is listed at bar t
drawdown        1           [0, 1]       1 - V_t / max(V up to t) in the episode
==============  ==========  ===========  =========================================================

``summary`` describes each asset by slower, comparable statistics instead of a raw window of
daily returns: fewer inputs to memorize a training period by.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from gymnasium import spaces
from numba import njit

from cryptofolio.envs.errors import ConfigError
from cryptofolio.envs.market import MarketData

RETURN_BOUND = 5.0
VOLATILITY_BOUND = 10.0
RATIO_BOUND = 3.0
KINDS = ("window", "summary")
MOMENTUM_BARS = (7, 30, 90)
VOLATILITY_BARS, BASELINE_BARS = 30, 365


@dataclass(frozen=True, eq=False)
class Features:
    """Market part of the observations for every bar of one market.

    :param returns: (T, N+1) float32 clipped log returns (0 where not defined).
    :param table: (T, M) float32 per-bar features (see the module table).
    :param low, high: (M,) bounds of ``table``'s columns.
    :param listed: (T, N) float32 listing flags of the risky assets.
    :param window: W, bars of history an observation needs (the env's first bar).
    :param lags: L, bars of returns in each observation.
    """

    returns: np.ndarray
    table: np.ndarray
    low: np.ndarray
    high: np.ndarray
    listed: np.ndarray
    window: int
    lags: int

    @property
    def n_columns(self) -> int:
        """N+1, cash included."""
        return int(self.returns.shape[1])

    @property
    def size(self) -> int:
        """Length of an observation: L * (N+1) + M + (N+1) + N + 1."""
        n = self.n_columns
        return self.lags * n + self.table.shape[1] + 2 * n

    def observation(self, t: int, weights: np.ndarray, drawdown: float) -> np.ndarray:
        """(size,) float32 observation at bar ``t`` (requires ``t >= window``)."""
        return self.observations(np.array([t]), np.asarray(weights).reshape(1, -1), np.array([drawdown]))[0]

    def observations(
        self,
        bars: np.ndarray,
        weights: np.ndarray,
        drawdowns: np.ndarray,
        columns: np.ndarray | None = None,
    ) -> np.ndarray:
        """(B, size) float32 observations of B portfolios, row k as :meth:`observation` at ``bars[k]``.

        :param bars: (B,) int bars, each at least ``window``; :param weights: (B, N+1), or (B, k+1)
            with ``columns``; :param drawdowns: (B,).
        :param columns: (B, k+1) int columns of each row, cash (0) first: row k is then the
            observation of a market of those columns alone (every feature is computed per column),
            of length ``size * (k+1) / (N+1)``; None: every column.
        """
        if len(bars) and bars.min() < self.window:
            raise IndexError(f"bar {bars.min()} has fewer than window={self.window} bars of history")
        if columns is not None:
            return self._observations_of(bars, weights, drawdowns, columns)
        out = np.empty((len(bars), self.size), dtype=np.float32)
        fill_observations(self.returns, self.table, self.listed, self.lags, bars, weights, drawdowns, out)
        return out

    def _observations_of(
        self, bars: np.ndarray, weights: np.ndarray, drawdowns: np.ndarray, columns: np.ndarray
    ) -> np.ndarray:
        """:meth:`observations` of each row's ``columns``, in the module table's layout."""
        n_rows, blocks = len(bars), self.table.shape[1] // self.n_columns
        lagged = bars[:, None] - self.lags + 1 + np.arange(self.lags)  # (B, L)
        returns = self.returns[lagged[:, :, None], columns[:, None, :]]  # (B, L, k+1)
        table = self.table.reshape(len(self.table), blocks, self.n_columns)
        rows = table[bars[:, None, None], np.arange(blocks)[None, :, None], columns[:, None, :]]
        listed = self.listed[bars[:, None], columns[:, 1:] - 1]  # (B, k)
        parts = (returns, rows, weights, listed, drawdowns[:, None])
        return np.concatenate([np.reshape(part, (n_rows, -1)) for part in parts], axis=1, dtype=np.float32)

    def observation_space(self) -> spaces.Box:
        """Finite float32 Box matching :meth:`observation` (see the module table)."""
        n, lags = self.n_columns, self.lags
        low = np.concatenate([np.full(lags * n, -RETURN_BOUND), self.low, np.zeros(2 * n)])
        high = np.concatenate([np.full(lags * n, RETURN_BOUND), self.high, np.ones(2 * n)])
        return spaces.Box(low=low.astype(np.float32), high=high.astype(np.float32), dtype=np.float32)


@njit(cache=True, inline="always")
def fill_observation(
    returns: np.ndarray,
    table: np.ndarray,
    listed: np.ndarray,
    lags: int,
    t: int,
    weights: np.ndarray,
    k: int,
    drawdown: float,
    out: np.ndarray,
) -> None:
    """Write the observation of bar ``t`` for portfolio ``k`` into ``out[k]``, in the module table's layout.

    :param returns: (T, N+1); :param table: (T, M); :param listed: (T, N);
    :param weights: (B, N+1); :param out: (B, size) float32.
    """
    n = returns.shape[1]
    first = t - lags + 1
    for s in range(lags):  # indices affine in the loop variables, so LLVM vectorizes the copy
        for j in range(n):
            out[k, s * n + j] = returns[first + s, j]
    block = lags * n
    m = table.shape[1]
    for j in range(m):
        out[k, block + j] = table[t, j]
    rest = block + m
    for j in range(n):
        out[k, rest + j] = weights[k, j]
        if j > 0:
            out[k, rest + n + j - 1] = listed[t, j - 1]
    out[k, rest + 2 * n - 1] = drawdown


@njit(cache=True)
def fill_observations(
    returns: np.ndarray,
    table: np.ndarray,
    listed: np.ndarray,
    lags: int,
    bars: np.ndarray,
    weights: np.ndarray,
    drawdowns: np.ndarray,
    out: np.ndarray,
) -> None:
    """:func:`fill_observation` for every portfolio k at its bar ``bars[k]``."""
    for k in range(bars.shape[0]):
        fill_observation(returns, table, listed, lags, bars[k], weights, k, drawdowns[k], out)


def build_features(market: MarketData, window: int, kind: str = "window") -> Features:
    """Precompute the features of every bar of ``market`` (causal: bar t reads bars <= t).

    :param window: W, bars of history (and, for ``window``, of returns) in an observation.
    :param kind: ``window`` or ``summary`` (see the module table).
    """
    if window < 2:
        raise ConfigError(f"window must be at least 2 bars, got {window}")
    if window >= market.n_bars:
        raise ConfigError(f"window={window} leaves no bar to trade in a market of {market.n_bars} bars")
    if kind not in KINDS:
        raise ConfigError(f"observation kind must be one of {', '.join(KINDS)}, got {kind!r}")
    close = market.close
    log_returns = np.full(close.shape, np.nan)
    log_returns[1:] = np.log(close[1:] / close[:-1])  # NaN unless listed at t-1 and t
    n = close.shape[1]
    if kind == "window":
        table = _volatility(log_returns, window, market.periods_per_year)
        low, high = np.zeros(n), np.full(n, VOLATILITY_BOUND)
    else:
        log_close = np.log(close)
        momentum = [np.clip(np.nan_to_num(_lagged_difference(log_close, h)), -RETURN_BOUND, RETURN_BOUND)
                     for h in MOMENTUM_BARS]  # fmt: skip
        recent = _volatility(log_returns, VOLATILITY_BARS, market.periods_per_year)
        yearly = _volatility(log_returns, BASELINE_BARS, market.periods_per_year, min_bars=VOLATILITY_BARS)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where((recent > 0) & (yearly > 0), np.log(recent / yearly), 0.0)
        table = np.hstack([*momentum, recent, np.clip(ratio, -RATIO_BOUND, RATIO_BOUND)])
        low = np.concatenate([np.full(3 * n, -RETURN_BOUND), np.zeros(n), np.full(n, -RATIO_BOUND)])
        high = np.concatenate(
            [np.full(3 * n, RETURN_BOUND), np.full(n, VOLATILITY_BOUND), np.full(n, RATIO_BOUND)]
        )
    return Features(
        returns=_frozen32(np.clip(np.nan_to_num(log_returns), -RETURN_BOUND, RETURN_BOUND)),
        table=_frozen32(table),
        low=low,
        high=high,
        listed=_frozen32(market.available[:, 1:]),
        window=window,
        lags=window if kind == "window" else 0,
    )


def _volatility(log_returns: np.ndarray, bars: int, periods_per_year: float, min_bars: int = 2) -> np.ndarray:
    """(T, N+1) annualized rolling std over ``bars`` (``min_bars`` listed at least), clipped; else 0."""
    std = pd.DataFrame(log_returns).rolling(bars, min_periods=min_bars).std().to_numpy()
    return np.clip(np.nan_to_num(std * np.sqrt(periods_per_year)), 0.0, VOLATILITY_BOUND)


def _lagged_difference(values: np.ndarray, lag: int) -> np.ndarray:
    """(T, N+1) ``values[t] - values[t - lag]`` (NaN for the first ``lag`` rows or where undefined)."""
    out = np.full(values.shape, np.nan)
    out[lag:] = values[lag:] - values[:-lag]
    return out


def _frozen32(array: np.ndarray) -> np.ndarray:
    out = np.ascontiguousarray(array, dtype=np.float32)
    out.setflags(write=False)
    return out
