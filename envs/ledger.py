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

This module is the only place that computes fees or drift: the env, the vector env and
every backtest call :func:`ledger_step`. The kernels are compiled with numba: a step
runs millions of times.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def rebalance_factor(drifted: np.ndarray, target: np.ndarray, cost_rate: float) -> float:
    """``mu = V'_t / V_t`` in (0, 1]: the share of value left after paying for the trade.

    :param drifted: (N+1,) weights before trading, ``w~_t``.
    :param target: (N+1,) weights after trading, ``w_t``.
    :param cost_rate: ``c = fee + slippage`` per unit of traded value, in [0, 1).

    ``f(mu) = mu - 1 + c * sum_{i>=1} |mu w_i - w~_i|`` is convex, piecewise linear and
    increasing (slope >= 1 - c > 0), with ``f(0) < 0 <= f(1)``. Newton's method from
    ``mu = 1`` with the left slope stays right of the root and lands exactly on it once it
    reaches the root's segment: at most N+1 steps, usually two. The answer is exact up to
    float rounding (residual ~1e-16), not a first-order approximation.
    """
    mu = 1.0
    n = target.shape[0]
    for _ in range(n + 2):
        f = mu - 1.0
        slope = 1.0
        for i in range(1, n):
            gap = mu * target[i] - drifted[i]
            if gap > 0.0:
                f += cost_rate * gap
                slope += cost_rate * target[i]
            else:
                f -= cost_rate * gap
                slope -= cost_rate * target[i]
        if f <= 0.0:
            break
        step = mu - f / slope
        if step >= mu:  # no progress: at the root up to rounding
            break
        mu = step
    return mu


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
    mu = rebalance_factor(drifted, target, cost_rate)
    n = target.shape[0]
    turnover = 0.0
    for i in range(1, n):
        turnover += abs(mu * target[i] - drifted[i])
    next_drifted = np.empty(n)
    growth = 0.0
    for i in range(n):
        next_drifted[i] = target[i] * relatives[i]
        growth += next_drifted[i]
    for i in range(n):
        next_drifted[i] /= growth
    return cost_rate * turnover * value, turnover, mu * value * growth, next_drifted
