"""Observation features: computed once per market, read per bar.

This is the one feature pipeline: the env, the vector env and ``recommend`` all build
observations with :meth:`Features.observation`. Every feature at bar t uses prices up to
and including bar t only.

Observation layout, for N risky assets and a window of W bars (columns cash first):

==============  ==========  ===========  =========================================================
slice           length      range        content
==============  ==========  ===========  =========================================================
returns         W * (N+1)   [-5, 5]      log returns of bars t-W+1..t, oldest first, one row of
                                         N+1 per bar; 0 where the asset was not listed at the bar
                                         or the bar before
volatility      N+1         [0, 10]      annualized std of the listed bars' log returns in the
                                         window (0 with fewer than 2)
weights         N+1         [0, 1]       current (drifted) weights, before trading at t
listed          N           {0, 1}       1 if the risky asset is listed at bar t
drawdown        1           [0, 1]       1 - V_t / max(V up to t) in the episode
==============  ==========  ===========  =========================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from gymnasium import spaces
from numba import njit

from envs.market import MarketData

RETURN_BOUND = 5.0
VOLATILITY_BOUND = 10.0


@dataclass(frozen=True, eq=False)
class Features:
    """Market part of the observations for every bar of one market.

    :param returns: (T, N+1) float32 clipped log returns (0 where not defined).
    :param volatility: (T, N+1) float32 annualized rolling volatility over the window.
    :param listed: (T, N) float32 listing flags of the risky assets.
    :param window: W, bars of returns in each observation.
    """

    returns: np.ndarray
    volatility: np.ndarray
    listed: np.ndarray
    window: int

    @property
    def n_columns(self) -> int:
        """N+1, cash included."""
        return int(self.returns.shape[1])

    @property
    def size(self) -> int:
        """Length of an observation: W * (N+1) + (N+1) + (N+1) + N + 1."""
        n = self.n_columns
        return self.window * n + 3 * n

    def observation(self, t: int, weights: np.ndarray, drawdown: float) -> np.ndarray:
        """(size,) float32 observation at bar ``t`` (requires ``t >= window``)."""
        return self.observations(np.array([t]), np.asarray(weights).reshape(1, -1), np.array([drawdown]))[0]

    def observations(self, bars: np.ndarray, weights: np.ndarray, drawdowns: np.ndarray) -> np.ndarray:
        """(B, size) float32 observations of B portfolios, row k as :meth:`observation` at ``bars[k]``.

        :param bars: (B,) int bars, each at least ``window``; :param weights: (B, N+1);
        :param drawdowns: (B,).
        """
        if len(bars) and bars.min() < self.window:
            raise IndexError(f"bar {bars.min()} has fewer than window={self.window} bars of history")
        out = np.empty((len(bars), self.size), dtype=np.float32)
        fill_observations(
            self.returns, self.volatility, self.listed, self.window, bars, weights, drawdowns, out
        )
        return out

    def observation_space(self) -> spaces.Box:
        """Finite float32 Box matching :meth:`observation` (see the module table)."""
        n, w = self.n_columns, self.window
        low = np.concatenate([np.full(w * n, -RETURN_BOUND), np.zeros(2 * n + n)]).astype(np.float32)
        high = np.concatenate(
            [np.full(w * n, RETURN_BOUND), np.full(n, VOLATILITY_BOUND), np.ones(n + n)]
        ).astype(np.float32)
        return spaces.Box(low=low, high=high, dtype=np.float32)


@njit(cache=True, inline="always")
def fill_observation(
    returns: np.ndarray,
    volatility: np.ndarray,
    listed: np.ndarray,
    window: int,
    t: int,
    weights: np.ndarray,
    k: int,
    drawdown: float,
    out: np.ndarray,
) -> None:
    """Write the observation of bar ``t`` for portfolio ``k`` into ``out[k]``, in the module table's layout.

    :param returns, volatility: (T, N+1); :param listed: (T, N); :param weights: (B, N+1);
    :param out: (B, size) float32.
    """
    n = returns.shape[1]
    first = t - window + 1
    for s in range(window):  # indices affine in the loop variables, so LLVM vectorizes the copy
        for j in range(n):
            out[k, s * n + j] = returns[first + s, j]
    block = window * n
    for j in range(n):
        out[k, block + j] = volatility[t, j]
        out[k, block + n + j] = weights[k, j]
    for j in range(n - 1):
        out[k, block + 2 * n + j] = listed[t, j]
    out[k, block + 3 * n - 1] = drawdown


@njit(cache=True)
def fill_observations(
    returns: np.ndarray,
    volatility: np.ndarray,
    listed: np.ndarray,
    window: int,
    bars: np.ndarray,
    weights: np.ndarray,
    drawdowns: np.ndarray,
    out: np.ndarray,
) -> None:
    """:func:`fill_observation` for every portfolio k at its bar ``bars[k]``."""
    for k in range(bars.shape[0]):
        fill_observation(returns, volatility, listed, window, bars[k], weights, k, drawdowns[k], out)


def build_features(market: MarketData, window: int) -> Features:
    """Precompute the features of every bar of ``market`` (causal: bar t reads bars <= t)."""
    if window < 2:
        raise ValueError(f"window must be at least 2 bars, got {window}")
    if window >= market.n_bars:
        raise ValueError(f"window={window} leaves no bar to trade in a market of {market.n_bars} bars")
    close = market.close
    log_returns = np.full(close.shape, np.nan)
    log_returns[1:] = np.log(close[1:] / close[:-1])  # NaN unless listed at t-1 and t
    volatility = pd.DataFrame(log_returns).rolling(window, min_periods=2).std().to_numpy() * np.sqrt(
        market.periods_per_year
    )
    return Features(
        returns=_frozen32(np.clip(np.nan_to_num(log_returns), -RETURN_BOUND, RETURN_BOUND)),
        volatility=_frozen32(np.clip(np.nan_to_num(volatility), 0.0, VOLATILITY_BOUND)),
        listed=_frozen32(market.available[:, 1:]),
        window=window,
    )


def _frozen32(array: np.ndarray) -> np.ndarray:
    out = np.ascontiguousarray(array, dtype=np.float32)
    out.setflags(write=False)
    return out
