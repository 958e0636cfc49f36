"""The ledger: what trading and holding do to a long-only portfolio.

Weights are over (cash, asset 1..N) and sum to one.

- At bar t the portfolio is worth ``V_t`` with drifted weights ``w~_t``; the policy picks
  target weights ``w_t``.
- Trades are paid from cash at rate ``c = fee + slippage`` on each risky asset's traded
  value, buys and sells alike. The value after trading is ``V'_t = mu V_t`` where ``mu``
  solves, exactly (:func:`rebalance_factor`)::

      mu = 1 - c * sum_{i>=1} |mu w_{t,i} - w~_{t,i}|

- The position is traded at bar t's close and held to bar t+1's close::

      V_{t+1}    = V'_t * sum_i w_{t,i} x_{t+1,i},     x_{t+1,i} = p_{t+1,i} / p_{t,i}
      w~_{t+1,i} = w_{t,i} x_{t+1,i} / sum_j w_{t,j} x_{t+1,j}

  (the cash relative ``x_{t+1,0}`` carries the stablecoin's own price change and any yield).

This module is the only place that computes fees or drift. :func:`trade_and_hold` is the
kernel: it steps portfolio k of (B, N+1) state arrays at bar t of (T, N+1) market arrays.
PortfolioEnv calls it with B = 1, the batched env for every k, and :func:`ledger_step`
wraps it for one portfolio given as plain vectors. Kernels take arrays and indices rather
than row views: numba makes views inside a loop costly (3-4 times here), and a step runs
millions of times.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def solve_rebalance(drifted: np.ndarray, targets: np.ndarray, k: int, cost_rate: float) -> float:
    """``mu = V'_t / V_t`` in (0, 1] for portfolio ``k`` of (B, N+1) ``drifted`` and ``targets``.

    ``f(mu) = mu - 1 + c * sum_{i>=1} |mu w_i - w~_i|`` is convex, piecewise linear and
    increasing (slope >= 1 - c > 0), with ``f(0) < 0 <= f(1)``. Newton's method from
    ``mu = 1`` with the left slope stays right of the root and lands exactly on it once it
    reaches the root's segment: at most N+1 steps, usually two. The answer is exact up to
    float rounding (residual ~1e-16), not a first-order approximation.
    """
    mu = 1.0
    n = targets.shape[1]
    for _ in range(n + 2):
        f = mu - 1.0
        slope = 1.0
        for i in range(1, n):
            gap = mu * targets[k, i] - drifted[k, i]
            if gap > 0.0:
                f += cost_rate * gap
                slope += cost_rate * targets[k, i]
            else:
                f -= cost_rate * gap
                slope -= cost_rate * targets[k, i]
        if f <= 0.0:
            break
        step = mu - f / slope
        if step >= mu:  # no progress: at the root up to rounding
            break
        mu = step
    return mu


@njit(cache=True, inline="always")
def trade_and_hold(
    value: float,
    drifted: np.ndarray,
    targets: np.ndarray,
    relatives: np.ndarray,
    t: int,
    k: int,
    cost_rate: float,
    out: np.ndarray,
) -> tuple[float, float, float]:
    """Trade portfolio ``k`` from ``drifted[k]`` to ``targets[k]`` at bar ``t``, hold to bar t+1.

    :param value: ``V_t`` of portfolio k.
    :param drifted: (B, N+1) weights before trading; :param targets: (B, N+1) after trading.
    :param relatives: (T, N+1) price relatives, row t holding ``p_{t+1} / p_t``.
    :param out: (B, N+1), row k receives ``w~_{t+1}``.
    :return: ``(fees, turnover, next_value)``, as in :func:`ledger_step`.
    """
    mu = solve_rebalance(drifted, targets, k, cost_rate)
    n = targets.shape[1]
    turnover = 0.0
    for i in range(1, n):
        turnover += abs(mu * targets[k, i] - drifted[k, i])
    growth = 0.0
    for i in range(n):
        out[k, i] = targets[k, i] * relatives[t, i]
        growth += out[k, i]
    for i in range(n):
        out[k, i] /= growth
    return cost_rate * turnover * value, turnover, mu * value * growth


@njit(cache=True)
def as_row(vector: np.ndarray) -> np.ndarray:
    """(1, n) view (or contiguous copy) of an (n,) vector, for the kernels' (B, n) arrays."""
    return np.ascontiguousarray(vector).reshape(1, -1)


@njit(cache=True)
def rebalance_factor(drifted: np.ndarray, target: np.ndarray, cost_rate: float) -> float:
    """``mu = V'_t / V_t`` for one portfolio given as (N+1,) vectors (see :func:`solve_rebalance`).

    :param drifted: (N+1,) ``w~_t``, weights before trading.
    :param target: (N+1,) ``w_t``, weights after trading.
    :param cost_rate: ``c = fee + slippage`` per unit of traded value, in [0, 1).
    """
    return solve_rebalance(as_row(drifted), as_row(target), 0, cost_rate)


@njit(cache=True)
def ledger_step(
    value: float, drifted: np.ndarray, target: np.ndarray, relatives: np.ndarray, cost_rate: float
) -> tuple[float, float, float, np.ndarray]:
    """Trade from ``drifted`` to ``target`` at bar t's close, then hold to bar t+1.

    :param value: ``V_t``, portfolio value before trading (quote currency).
    :param drifted: (N+1,) ``w~_t``, weights before trading.
    :param target: (N+1,) ``w_t``, weights after trading (non-negative, sum 1).
    :param relatives: (N+1,) ``x_{t+1}``, price relatives ``p_{t+1} / p_t`` (cash first).
    :param cost_rate: ``c = fee + slippage``, in [0, 1).
    :return: ``(fees, turnover, next_value, next_drifted)``: fees and slippage paid
        (``V_t - V'_t``, quote currency); turnover, the risky value bought plus sold as a
        fraction of ``V_t`` (so ``fees = c * turnover * V_t``); ``V_{t+1}``; and (N+1,)
        ``w~_{t+1}``.
    """
    out = np.empty((1, target.shape[0]))
    fees, turnover, next_value = trade_and_hold(
        value, as_row(drifted), as_row(target), as_row(relatives), 0, 0, cost_rate, out
    )
    return fees, turnover, next_value, out[0]


def price_relatives(
    close: np.ndarray, available: np.ndarray, haircut: float = 0.0, cash_growth: float = 1.0
) -> np.ndarray:
    """(T, N+1) float64 ``p_{t+1} / p_t`` in row t, from (T, N+1) closes and listing flags: 1 if unlisted;
    ``1 - haircut`` at a delisted asset's last bar (held past it, it is worth its last close less the
    haircut); cash's times ``cash_growth`` (its yield per bar). The last row is unused (1)."""
    relatives = np.ones_like(close, dtype=np.float64)
    now, after = available[:-1], available[1:]
    with np.errstate(invalid="ignore"):
        moves = close[1:] / close[:-1]
    relatives[:-1] = np.where(now & after, moves, np.where(now, 1.0 - haircut, 1.0))
    relatives[:, 0] *= cash_growth
    return relatives
