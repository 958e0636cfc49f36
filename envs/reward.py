"""The reward of one step (one kernel for PortfolioEnv and BatchedPortfolioEnv)::

    r_t = log(V_{t+1} / V_t) - drawdown_term - turnover_penalty * turnover_t - action_term

    drawdown_term = drawdown_penalty * max(0, DD_{t+1} - tolerance)          (excess, the default)
                  = drawdown_penalty * max(0, DD_{t+1} - DD_t) / tolerance   (increase)

with ``DD_{t+1} = 1 - V_{t+1} / peak_{t+1}`` and ``peak_{t+1} = max(peak_t, V_{t+1})``, and
``action_term = action_penalty * mean_i clip(a_i)^2``, the size of the action (computed by the
caller, :func:`cryptofolio.envs.actions.action_size`).
"""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True, inline="always")
def reward(
    value: float,
    next_value: float,
    peak: float,
    turnover: float,
    tolerance: float,
    drawdown_penalty: float,
    increase: bool,
    turnover_penalty: float,
    action_term: float,
) -> tuple[float, float, float, float, float, float]:
    """``(reward, log_growth, drawdown_term, turnover_term, drawdown, next_peak)`` of one step.

    :param increase: penalize each increase of the drawdown (else drawdown beyond the tolerance).
    """
    log_growth = math.log(next_value / value)
    next_peak = max(peak, next_value)
    drawdown = 1.0 - next_value / next_peak
    if increase:
        drawdown_term = drawdown_penalty * max(0.0, drawdown - (1.0 - value / peak)) / tolerance
    else:
        drawdown_term = drawdown_penalty * max(0.0, drawdown - tolerance)
    turnover_term = turnover_penalty * turnover
    return (
        log_growth - drawdown_term - turnover_term - action_term,
        log_growth,
        drawdown_term,
        turnover_term,
        drawdown,
        next_peak,
    )
