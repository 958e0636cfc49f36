"""The reward of one step (one kernel for PortfolioEnv and BatchedPortfolioEnv)::

    r_t = growth_t - drawdown_term - turnover_penalty * turnover_t - action_term

    growth_t = log(V_{t+1} / V_t)                                  (objective log_growth, the default)
             = D_t, the differential Sharpe ratio of log(V_{t+1} / V_t)   (differential_sharpe)

    drawdown_term = drawdown_penalty * max(0, DD_{t+1} - tolerance)          (excess, the default)
                  = drawdown_penalty * max(0, DD_{t+1} - DD_t) / tolerance   (increase)

with ``DD_{t+1} = 1 - V_{t+1} / peak_{t+1}`` and ``peak_{t+1} = max(peak_t, V_{t+1})``, and
``action_term = action_penalty * mean_i clip(a_i)^2``, the size of the action (computed by the
caller, :func:`cryptofolio.envs.actions.action_size`) on bars that decide (``decision_every``), 0
on the others, whose action is ignored.

The differential Sharpe ratio (Moody and Saffell, "Learning to trade via direct reinforcement",
2001) is the first-order effect of the step's return ``R_t = log(V_{t+1} / V_t)`` on a Sharpe
ratio of exponential moving moments ``A_t = A_{t-1} + eta (R_t - A_{t-1})`` and
``B_t = B_{t-1} + eta (R_t^2 - B_{t-1})``, with ``A_0 = B_0 = 0`` at the episode's start::

    D_t = (B ΔA_t - A ΔB_t / 2) / (B - A^2)^(3/2),   ΔA_t = R_t - A,   ΔB_t = R_t^2 - B

where ``A = A_{t-1} / c`` and ``B = B_{t-1} / c``, ``c = 1 - (1 - eta)^n`` after ``n`` steps of the
episode, are the moments corrected for their zero start (as Adam corrects its moments), so the
first steps are not divided by a near-zero variance; ``D_t = 0`` while that variance is at most
``VARIANCE_FLOOR`` times ``B`` (after the first step, or of equal returns: it is rounding, not risk).
"""

from __future__ import annotations

import math

from numba import njit

VARIANCE_FLOOR = 1e-8
"""A moving variance at most this fraction of the second moment counts as zero (rounding error)."""


@njit(cache=True, inline="always")
def differential_sharpe(
    growth: float, mean: float, second: float, steps: int, decay: float
) -> tuple[float, float, float]:
    """``(D_t, A_t, B_t)``: the step's differential Sharpe ratio and the next moving moments.

    :param growth: ``R_t``, the step's log growth; :param mean: ``A_{t-1}``; :param second:
        ``B_{t-1}``; :param steps: ``n``, the episode's steps before this one; :param decay: ``eta``.
    """
    sharpe = 0.0
    if steps > 0:
        correction = 1.0 - (1.0 - decay) ** steps
        a, b = mean / correction, second / correction
        variance = b - a * a
        scale = variance**1.5 if variance > VARIANCE_FLOOR * b else 0.0
        if scale > 0.0:  # (and not an underflow)
            sharpe = (b * (growth - a) - 0.5 * a * (growth * growth - b)) / scale
    return sharpe, mean + decay * (growth - mean), second + decay * (growth * growth - second)


@njit(cache=True, inline="always")
def reward(
    value: float,
    next_value: float,
    peak: float,
    mean: float,
    second: float,
    steps: int,
    turnover: float,
    tolerance: float,
    drawdown_penalty: float,
    increase: bool,
    turnover_penalty: float,
    action_term: float,
    sharpe_decay: float,
) -> tuple[float, float, float, float, float, float, float, float, float]:
    """``(reward, log_growth, sharpe, drawdown_term, turnover_term, drawdown, next_peak, next_mean,
    next_second)`` of one step.

    :param mean, second, steps: the moving moments ``A_{t-1}``, ``B_{t-1}`` and the episode's steps
        so far (see :func:`differential_sharpe`).
    :param increase: penalize each increase of the drawdown (else drawdown beyond the tolerance).
    :param sharpe_decay: ``eta`` of the differential Sharpe ratio, which replaces the log growth as
        the objective; 0: the log growth is the objective (``sharpe`` and the moments stay 0).
    """
    log_growth = math.log(next_value / value)
    next_peak = max(peak, next_value)
    drawdown = 1.0 - next_value / next_peak
    if increase:
        drawdown_term = drawdown_penalty * max(0.0, drawdown - (1.0 - value / peak)) / tolerance
    else:
        drawdown_term = drawdown_penalty * max(0.0, drawdown - tolerance)
    turnover_term = turnover_penalty * turnover
    objective, sharpe, next_mean, next_second = log_growth, 0.0, 0.0, 0.0
    if sharpe_decay > 0.0:
        sharpe, next_mean, next_second = differential_sharpe(log_growth, mean, second, steps, sharpe_decay)
        objective = sharpe
    return (
        objective - drawdown_term - turnover_term - action_term,
        log_growth,
        sharpe,
        drawdown_term,
        turnover_term,
        drawdown,
        next_peak,
        next_mean,
        next_second,
    )
