"""The reward of one step (one kernel for PortfolioEnv and BatchedPortfolioEnv)::

    r_t = log(V_{t+1} / V_t) - drawdown_penalty * max(0, DD_{t+1} - tolerance) - turnover_penalty * turnover_t

with ``DD_{t+1} = 1 - V_{t+1} / peak_{t+1}`` and ``peak_{t+1} = max(peak_t, V_{t+1})``.
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
    turnover_penalty: float,
) -> tuple[float, float, float, float, float, float]:
    """``(reward, log_growth, drawdown_term, turnover_term, drawdown, next_peak)`` of one step."""
    log_growth = math.log(next_value / value)
    next_peak = max(peak, next_value)
    drawdown = 1.0 - next_value / next_peak
    drawdown_term = drawdown_penalty * max(0.0, drawdown - tolerance)
    turnover_term = turnover_penalty * turnover
    return (
        log_growth - drawdown_term - turnover_term,
        log_growth,
        drawdown_term,
        turnover_term,
        drawdown,
        next_peak,
    )
