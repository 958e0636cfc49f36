"""The reward of one step (one kernel for PortfolioEnv and BatchedPortfolioEnv, a torch twin in
:mod:`cryptofolio.envs.differentiable`)::

    r_t = growth_t - drawdown_term - turnover_penalty * turnover_t - action_term - variance_term

    growth_t = log(V_{t+1} / V_t)                                  (objective log_growth, the default)
             = D_t, the differential Sharpe ratio of log(V_{t+1} / V_t)   (differential_sharpe)

    drawdown_term = drawdown_penalty * max(0, DD_{t+1} - tolerance)          (excess, the default)
                  = drawdown_penalty * max(0, DD_{t+1} - DD_t) / tolerance   (increase)

with ``DD_{t+1} = 1 - V_{t+1} / peak_{t+1}`` and ``peak_{t+1} = max(peak_t, V_{t+1})``, and
``action_term = action_penalty * mean_i clip(a_i)^2``, the size of the action (computed by the
caller, :func:`cryptofolio.envs.actions.action_size`) on bars that decide (``decision_every``), 0
on the others, whose action is ignored. ``variance_term = variance_penalty * log(V_{t+1} / V_t)^2``
makes the log growth objective a mean-variance utility: summed over an episode it charges the
returns' second moment, a risk budget's dial that, unlike the drawdown, acts on every bar.

The differential Sharpe ratio (Moody and Saffell, "Learning to trade via direct reinforcement",
2001) is the first-order effect of the step's return ``R_t = log(V_{t+1} / V_t)`` on a Sharpe
ratio of exponential moving moments ``A_t = A_{t-1} + eta (R_t - A_{t-1})`` and
``B_t = B_{t-1} + eta (R_t^2 - B_{t-1})``, with ``A_0 = B_0 = 0`` at the episode's start::

    D_t = (B ΔA_t - A ΔB_t / 2) / (B - A^2)^(3/2),   ΔA_t = R_t - A,   ΔB_t = R_t^2 - B

where ``A = A_{t-1} / c`` and ``B = B_{t-1} / c``, ``c = 1 - (1 - eta)^n`` after ``n`` steps of the
episode, are the moments corrected for their zero start (as Adam corrects its moments), so the
first steps are not divided by a near-zero variance; ``D_t = 0`` while that variance is at most
``VARIANCE_FLOOR`` times ``B`` (after the first step, or of equal returns: it is rounding, not risk).

The kernel's inputs and outputs are named records: :class:`RewardSettings` (built once from
:class:`~cryptofolio.envs.config.RewardConfig`), :class:`RewardState` (what a step carries to the
next) and :class:`RewardTerms` (the terms of the reward). The envs keep the settings, the state
(and the batched env its statistics) in structured arrays of the records' fields
(:func:`record_dtype`), which numba reads and writes by name; the info dict's ``reward_<term>``
keys (:data:`INFO_KEYS`), the batched env's statistics and the twin all follow the records' fields.
A new term is a field of :class:`RewardTerms` (its setting a field of :class:`RewardSettings` and
of ``RewardConfig``), computed in :func:`reward` and in the twin.
"""

from __future__ import annotations

import math
from typing import Any, Generic, NamedTuple, TypeVar, get_type_hints

import numpy as np
from numba import literal_unroll, njit

from cryptofolio.envs.config import RewardConfig, check_range

X = TypeVar("X")
"""A number: a float in the kernels, a (B,) tensor in the torch twin."""

VARIANCE_FLOOR = 1e-8
"""A moving variance at most this fraction of the second moment counts as zero (rounding error)."""


class RewardSettings(NamedTuple):
    """The reward's settings, built once from a :class:`RewardConfig` and the risk profile."""

    drawdown_tolerance: float
    """Drawdown beyond which the ``excess`` penalty applies (the profile's unless configured)."""
    drawdown_penalty: float
    """Strength of the drawdown penalty."""
    increase: bool
    """Whether the drawdown term penalizes each increase (``drawdown_mode="increase"``)."""
    turnover_penalty: float
    """Penalty per unit of turnover."""
    action_penalty: float
    """Penalty on the action's mean square."""
    sharpe_decay: float
    """0 (the log growth is the objective), or ``eta`` of the differential Sharpe ratio objective."""
    variance_penalty: float
    """Penalty on the step's squared log growth."""

    @classmethod
    def from_config(cls, config: RewardConfig, profile_tolerance: float) -> RewardSettings:
        """The settings of ``config``, whose drawdown tolerance defaults to the profile's maximum drawdown.

        :raises ValueError: for a tolerance of 0 with ``drawdown_mode="increase"`` (it divides by it).
        """
        tolerance = profile_tolerance if config.drawdown_tolerance is None else config.drawdown_tolerance
        increase = config.drawdown_mode == "increase"  # divides by the tolerance, which must be positive
        check_range("drawdown_tolerance", tolerance, 0.0, 1.0, open_low=increase)
        return cls(
            drawdown_tolerance=float(tolerance),
            drawdown_penalty=float(config.drawdown_penalty),
            increase=increase,
            turnover_penalty=float(config.turnover_penalty),
            action_penalty=float(config.action_penalty),
            sharpe_decay=float(config.sharpe_decay) if config.objective != "log_growth" else 0.0,
            variance_penalty=float(config.variance_penalty),
        )


class RewardState(NamedTuple, Generic[X]):
    """What a step carries to the next: the episode's peak, drawdown and moving moments."""

    peak: X
    """``peak_{t+1} = max(peak_t, V_{t+1})``, the episode's highest value so far."""
    drawdown: X
    """``DD_{t+1} = 1 - V_{t+1} / peak_{t+1}`` (observed by the agent)."""
    sharpe_mean: X
    """``A_t``, the differential Sharpe ratio's moving mean (0 unless it is the objective)."""
    sharpe_second: X
    """``B_t``, its moving second moment (0 unless it is the objective)."""

    @classmethod
    def start(cls, value: X, zero: X) -> RewardState[X]:
        """The state at an episode's start, worth ``value`` (``zero``: 0 as a float or a tensor)."""
        return cls(peak=value, drawdown=zero, sharpe_mean=zero, sharpe_second=zero)


class RewardTerms(NamedTuple, Generic[X]):
    """The terms of a step's reward, ``objective - each penalty``; each is the info's ``reward_<term>``."""

    log_growth: X
    """``log(V_{t+1} / V_t)``."""
    differential_sharpe: X
    """``D_t``, the differential Sharpe ratio (0 unless it is the objective)."""
    drawdown_penalty: X
    """The drawdown term subtracted from the reward."""
    turnover_penalty: X
    """``turnover_penalty * turnover_t``, subtracted from the reward."""
    action_penalty: X
    """``action_penalty * mean_i clip(a_i)^2`` on bars that decide, subtracted from the reward."""
    variance_penalty: X
    """``variance_penalty * log(V_{t+1} / V_t)^2``, subtracted from the reward."""


INFO_KEYS = tuple(f"reward_{name}" for name in RewardTerms._fields)
"""The info key of each term, in the order of :class:`RewardTerms`' fields."""
_TERM_FIELDS = RewardTerms._fields
_STATE_FIELDS = RewardState._fields  # (numba unrolls a loop over a global tuple, not over an attribute)

NO_TERMS: RewardTerms[float] = RewardTerms._make(0.0 for _ in RewardTerms._fields)
"""The reward terms of a reset."""


def record_dtype(record: type[tuple[Any, ...]]) -> np.dtype:
    """The structured dtype with one field per field of the NamedTuple class ``record``, in its order.

    ``float`` (and the twin's generic number) is float64, ``bool`` bool, ``int`` int64, a
    NamedTuple field a nested record: numba reads and writes such arrays' fields by name, and a
    structured array crosses from Python into a compiled call far faster than a NamedTuple.
    """
    kinds: dict[Any, Any] = {float: np.float64, X: np.float64, bool: np.bool_, int: np.int64}
    hints = get_type_hints(record)
    fields = []
    for name in record._fields:  # type: ignore[attr-defined]
        kind = hints[name]
        fields.append((name, record_dtype(kind) if _is_record(kind) else kinds[kind]))
    return np.dtype(fields)


def _is_record(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, tuple) and hasattr(kind, "_fields")


def as_record(values: tuple[Any, ...]) -> np.ndarray:
    """A NamedTuple as a (1,) structured array of :func:`record_dtype` (``array[0].field``)."""
    return np.array([values], dtype=record_dtype(type(values)))


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
    turnover: float,
    action_size: float,
    steps: int,
    state: RewardState[float],
    settings: RewardSettings,
) -> tuple[float, RewardTerms[float], RewardState[float]]:
    """``(reward, terms, next_state)``: the reward of one step, its terms and the state it carries on.

    :param value: ``V_t``; :param next_value: ``V_{t+1}``; :param turnover: the step's turnover.
    :param action_size: ``mean_i clip(a_i)^2`` on a bar that decides, 0 on the others
        (:func:`cryptofolio.envs.actions.action_size`).
    :param steps: the episode's steps before this one (see :func:`differential_sharpe`).
    :param state: the state after the previous step (:meth:`RewardState.start` at the episode's
        start); :param settings: the reward's settings. Both are read by name: NamedTuples or records.
    """
    log_growth = math.log(next_value / value)
    peak = max(state.peak, next_value)
    drawdown = 1.0 - next_value / peak
    if settings.increase:
        drawdown_term = (
            settings.drawdown_penalty
            * max(0.0, drawdown - (1.0 - value / state.peak))
            / settings.drawdown_tolerance
        )
    else:
        drawdown_term = settings.drawdown_penalty * max(0.0, drawdown - settings.drawdown_tolerance)
    turnover_term = settings.turnover_penalty * turnover
    action_term = settings.action_penalty * action_size
    variance_term = settings.variance_penalty * log_growth * log_growth
    objective, sharpe, mean, second = log_growth, 0.0, 0.0, 0.0
    if settings.sharpe_decay > 0.0:
        sharpe, mean, second = differential_sharpe(
            log_growth, state.sharpe_mean, state.sharpe_second, steps, settings.sharpe_decay
        )
        objective = sharpe
    total = objective - drawdown_term - turnover_term - action_term - variance_term
    terms = RewardTerms(
        log_growth=log_growth,
        differential_sharpe=sharpe,
        drawdown_penalty=drawdown_term,
        turnover_penalty=turnover_term,
        action_penalty=action_term,
        variance_penalty=variance_term,
    )
    return total, terms, RewardState(peak=peak, drawdown=drawdown, sharpe_mean=mean, sharpe_second=second)


@njit(cache=True, inline="always")
def write_terms(terms: RewardTerms[float], row: Any) -> None:
    """Write each field of ``terms`` to the field of the same name of the record ``row``."""
    for name in literal_unroll(_TERM_FIELDS):
        row[name] = getattr(terms, name)


@njit(cache=True, inline="always")
def write_state(state: RewardState[float], row: Any) -> None:
    """Write each field of ``state`` to the field of the same name of the record ``row``."""
    for name in literal_unroll(_STATE_FIELDS):
        row[name] = getattr(state, name)


@njit(cache=True)
def advance(
    value: float,
    next_value: float,
    turnover: float,
    action_size: float,
    steps: int,
    settings: np.ndarray,
    state: np.ndarray,
) -> tuple[float, float, tuple[float, ...]]:
    """:func:`reward` for the scalar env: ``(reward, drawdown, terms)``, the state advanced in place.

    Numba passes structured arrays, numbers and plain tuples across faster than NamedTuples, so the
    records are (1,) structured arrays and ``terms`` is :class:`RewardTerms`' values in its fields' order.

    :param settings: :class:`RewardSettings`; :param state: :class:`RewardState`, advanced in place.
    """
    total, terms, next_state = reward(value, next_value, turnover, action_size, steps, state[0], settings[0])
    write_state(next_state, state[0])
    return total, next_state.drawdown, terms[:]
