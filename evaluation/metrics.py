"""Performance metrics: pure functions of a value series and of a backtest's trades.

Conventions: ``values`` is an (n+1,) series of portfolio values at bar closes; its returns are
the n simple returns between consecutive values. ``periods_per_year`` annualizes (365 for
daily crypto bars, 8,760 for hourly): always a parameter, never a hidden 252. Ratios with a
zero denominator (a series that never moves or never falls) are NaN: undefined, not zero.
Losses (drawdowns, VaR, CVaR) are positive fractions of the value: 0.05 is a 5% loss.

The tear-sheet tables (:func:`monthly_returns`, :func:`worst_drawdowns`) also take the (n+1,)
UTC timestamps of the values.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cryptofolio.agents.base import equal_weights

if TYPE_CHECKING:
    from cryptofolio.evaluation.backtest import BacktestResult

INVESTED = 1e-9  # risky weight above which a bar counts as invested

METRICS = (
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown",
    "cdar",
    "max_drawdown_span_days",
    "underwater_days",
    "turnover",
    "fees",
    "time_invested",
)
"""Keys of :func:`summarize`, in table order."""

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def simple_returns(values: np.ndarray) -> np.ndarray:
    """(n,) ``v[t+1] / v[t] - 1`` of an (n+1,) value series."""
    values = np.asarray(values, dtype=np.float64)
    return values[1:] / values[:-1] - 1.0


def total_return(values: np.ndarray) -> float:
    """``v[n] / v[0] - 1``."""
    return float(values[-1] / values[0] - 1.0)


def cagr(values: np.ndarray, periods_per_year: float) -> float:
    """Compound annual growth rate: ``(v[n] / v[0]) ** (periods_per_year / n) - 1``."""
    return float((values[-1] / values[0]) ** (periods_per_year / (len(values) - 1)) - 1.0)


def annualized_volatility(values: np.ndarray, periods_per_year: float) -> float:
    """Standard deviation of the returns (ddof=1) times ``sqrt(periods_per_year)``."""
    return float(simple_returns(values).std(ddof=1) * np.sqrt(periods_per_year))


def _excess_returns(values: np.ndarray, periods_per_year: float, risk_free_rate: float) -> np.ndarray:
    per_period = (1.0 + risk_free_rate) ** (1.0 / periods_per_year) - 1.0
    return simple_returns(values) - per_period


def sharpe_ratio(values: np.ndarray, periods_per_year: float, risk_free_rate: float = 0.0) -> float:
    """Mean over std (ddof=1) of the returns in excess of ``risk_free_rate`` (annual), annualized."""
    excess = _excess_returns(values, periods_per_year, risk_free_rate)
    spread = excess.std(ddof=1)
    return float(excess.mean() / spread * np.sqrt(periods_per_year)) if spread > 0 else float("nan")


def sortino_ratio(values: np.ndarray, periods_per_year: float, risk_free_rate: float = 0.0) -> float:
    """Mean excess return over the downside deviation ``sqrt(mean(min(excess, 0)^2))``, annualized."""
    excess = _excess_returns(values, periods_per_year, risk_free_rate)
    downside = np.sqrt(np.mean(np.minimum(excess, 0.0) ** 2))
    return float(excess.mean() / downside * np.sqrt(periods_per_year)) if downside > 0 else float("nan")


def drawdowns(values: np.ndarray) -> np.ndarray:
    """(n+1,) ``1 - v[t] / max(v[:t+1])``."""
    values = np.asarray(values, dtype=np.float64)
    return 1.0 - values / np.maximum.accumulate(values)


def max_drawdown(values: np.ndarray) -> float:
    """Largest fall from a running peak, as a fraction (0.35 is 35%)."""
    return float(drawdowns(values).max())


def conditional_drawdown_at_risk(values: np.ndarray, level: float = 0.95) -> float:
    """Conditional drawdown at risk (Chekhlov, Uryasev and Zabarankin, 2005): the mean of the worst
    ``1 - level`` share of the path's drawdowns, one per bar, a fraction (0.3 is 30%).

    The tail holds ``ceil((1 - level) (n+1))`` of the (n+1,) bars' drawdowns, at least one: level 0.95
    over a year of daily bars averages the 19 deepest days. Between the mean drawdown (level 0) and
    the maximum drawdown (level 1), it says how deep the portfolio sits when it is deep.
    """
    deepest = np.sort(drawdowns(values))[::-1]
    tail = max(1, math.ceil((1.0 - level) * len(deepest) - 1e-9))
    return float(deepest[:tail].mean())


def _underwater_runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, stops) of the runs of bars below a previous peak: bars ``starts[k]:stops[k]``."""
    edges = np.diff(np.concatenate([[0], (drawdowns(values) > 0).astype(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def longest_underwater(values: np.ndarray) -> int:
    """Longest time below a previous peak, in bars (to the recovery, or to the end if none)."""
    starts, stops = _underwater_runs(values)
    return int((stops - starts).max()) if len(starts) else 0


def max_drawdown_span(values: np.ndarray) -> int:
    """Length of the maximum drawdown, in bars: from its peak to its recovery (or to the end if none).

    Not :func:`longest_underwater`: a shallow fall can last longer than the deepest one.
    """
    starts, stops = _underwater_runs(values)
    if not len(starts):
        return 0
    trough = int(np.argmax(drawdowns(values)))
    (run,) = np.flatnonzero((starts <= trough) & (trough < stops))
    return int(stops[run] - starts[run])


def worst_drawdowns(values: np.ndarray, timestamps: pd.DatetimeIndex, count: int = 5) -> pd.DataFrame:
    """The ``count`` deepest falls from a running peak, deepest first, one row per episode.

    An episode runs from its ``peak`` (the last bar at the running maximum) through its
    ``trough`` (its lowest bar) to its ``recovery`` (the first bar back at or above the peak;
    NaT if none by the last bar). ``drawdown`` is the depth at the trough, a fraction of the
    peak; ``days`` the calendar days from the peak to the recovery, or to the last bar.

    :param values: (n+1,) values at bar closes.
    :param timestamps: (n+1,) their times.
    :return: (min(count, episodes), 5) columns drawdown, peak, trough, recovery, days.
    """
    depth = drawdowns(values)
    edges = np.diff(np.concatenate([[0], (depth > 0).astype(np.int8), [0]]))
    rows = []
    starts, stops = np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()
    for first, stop in zip(starts, stops, strict=True):  # bars first to stop - 1 are below the peak
        trough = first + int(np.argmax(depth[first:stop]))
        recovered = stop < len(values)
        end = timestamps[stop] if recovered else timestamps[-1]
        rows.append(
            {
                "drawdown": float(depth[trough]),
                "peak": timestamps[first - 1],
                "trough": timestamps[trough],
                "recovery": end if recovered else pd.NaT,
                "days": (end - timestamps[first - 1]) / pd.Timedelta(days=1),
            }
        )
    table = pd.DataFrame(rows, columns=["drawdown", "peak", "trough", "recovery", "days"])
    return table.sort_values("drawdown", ascending=False, kind="stable").head(count).reset_index(drop=True)


def historical_var(values: np.ndarray, level: float = 0.95) -> float:
    """Historical value at risk per bar: ``-quantile(returns, 1 - level)``, a loss (0.05 is 5%).

    The loss one bar's return exceeds with probability ``1 - level`` in the sample (a day's on
    daily bars); numpy's linear interpolation between order statistics, not annualized.
    """
    return float(0.0 - np.quantile(simple_returns(values), 1.0 - level))  # 0.0 - x: no -0.0 for flat series


def historical_cvar(values: np.ndarray, level: float = 0.95) -> float:
    """Historical expected shortfall per bar: the mean loss of the worst ``1 - level`` share of the
    bars, a loss (0.05 is 5%).

    With ``a = (1 - level) n`` for n bars sorted from the worst, ``ES = -(sum of the floor(a) worst
    + (a - floor(a)) times the next) / a`` (Acerbi and Tasche 2002): exactly the worst 5% of the
    bars at 95%, however many of the others are flat, where averaging every bar at or below the
    5% quantile takes in all the flat bars of a policy that rarely loses.
    """
    returns = np.sort(simple_returns(values))
    share = (1.0 - level) * len(returns)
    whole = min(int(np.floor(share)), len(returns) - 1)
    tail = returns[:whole].sum() + (share - whole) * returns[whole]
    return float(0.0 - tail / share)


def monthly_returns(values: np.ndarray, timestamps: pd.DatetimeIndex) -> pd.DataFrame:
    """(years, 13) return of each calendar month, compounded from its bars, and of each year.

    A bar's return counts in the month of the bar it ends on, so a month's return is its last
    value over the previous month's last value (or the first value), minus 1, as a fraction.
    Months without bars are NaN; ``Total`` compounds the year's months in the period.

    :param values: (n+1,) values at bar closes.
    :param timestamps: (n+1,) their UTC times.
    :return: indexed by year; columns Jan to Dec, then Total.
    """
    growth = pd.Series(1.0 + simple_returns(values), index=timestamps[1:])
    stamps = pd.DatetimeIndex(growth.index)
    months = growth.groupby([stamps.year, stamps.month]).prod().unstack() - 1.0
    table = months.reindex(columns=range(1, 13)).set_axis(list(MONTHS), axis=1)
    table["Total"] = growth.groupby(stamps.year).prod() - 1.0
    return table.rename_axis(index="year")


def calmar_ratio(values: np.ndarray, periods_per_year: float) -> float:
    """CAGR over maximum drawdown."""
    worst = max_drawdown(values)
    return cagr(values, periods_per_year) / worst if worst > 0 else float("nan")


def annualized_turnover(turnover: np.ndarray, periods_per_year: float) -> float:
    """Mean turnover per step times ``periods_per_year`` (1.0: the portfolio traded once a year).

    :param turnover: (n,) value bought plus sold at each step, as a fraction of the value.
    """
    return float(np.mean(turnover) * periods_per_year)


def time_invested(weights: np.ndarray) -> float:
    """Share of steps holding any risky asset. :param weights: (n, N+1) weights after trading, cash first."""
    return float(np.mean(weights[:, 1:].sum(axis=1) > INVESTED))


def mean_exposure(weights: np.ndarray) -> float:
    """Mean risky share, ``1 -`` the mean cash weight.

    :param weights: (n, N+1) weights after trading, cash first.
    """
    return float(1.0 - np.mean(weights[:, 0]))


def weight_distance(weights: np.ndarray, other: np.ndarray) -> float:
    """Mean total-variation distance of two weight paths: ``1/2 sum_i |w_i - v_i|`` per bar, averaged
    (0: the same weights, 1: nothing held in common).

    :param weights, other: (n, N+1) weights, cash first, on the same bars.
    """
    return float(0.5 * np.abs(np.asarray(weights) - np.asarray(other)).sum(axis=1).mean())


def equal_weight_path(available: np.ndarray) -> np.ndarray:
    """(n, N+1) the equal-weight rule's weights at each bar (:func:`~cryptofolio.agents.base.equal_weights`).

    :param available: (n, N+1) listing flags, cash first.
    """
    return np.array([equal_weights(listed) for listed in np.asarray(available, dtype=bool)])


def collapse(result: BacktestResult, rule: BacktestResult, available: np.ndarray) -> dict[str, float]:
    """Whether a learner learned anything: the distance of its weights to its base rule's and to equal
    weights (:func:`weight_distance`) over the bars it traded, and its annualized turnover.

    :param rule: the base rule's backtest on the same bars; :param available: (n+1, N+1) their listing flags.
    """
    steps = slice(0, len(result.values) - 1)
    mine = result.weights_after[steps]
    return {
        "distance_to_rule": weight_distance(mine, rule.weights_after[steps]),
        "distance_to_equal_weight": weight_distance(mine, equal_weight_path(available[steps])),
        "turnover": annualized_turnover(result.turnover[steps], result.periods_per_year),
    }


def summarize(result: BacktestResult) -> dict[str, float]:
    """Every metric of :data:`METRICS` for one backtest (fees as a fraction of the initial value)."""
    values, ppy = result.values, result.periods_per_year
    steps = slice(0, len(values) - 1)  # the bars where the policy traded
    return {
        "total_return": total_return(values),
        "cagr": cagr(values, ppy),
        "volatility": annualized_volatility(values, ppy),
        "sharpe": sharpe_ratio(values, ppy),
        "sortino": sortino_ratio(values, ppy),
        "calmar": calmar_ratio(values, ppy),
        "max_drawdown": max_drawdown(values),
        "cdar": conditional_drawdown_at_risk(values),
        "max_drawdown_span_days": max_drawdown_span(values) * 365.0 / ppy,
        "underwater_days": longest_underwater(values) * 365.0 / ppy,
        "turnover": annualized_turnover(result.turnover[steps], ppy),
        "fees": float(result.fees.sum() / values[0]),
        "time_invested": time_invested(result.weights_after[steps]),
    }
