"""Statistics for comparing policies honestly: intervals over seeds and over time, and
Sharpe ratios adjusted for estimation error and for the number of policies compared.

- :func:`seed_interval`: a Student-t interval of a mean over runs (seeds). At the 2-10 seeds
  reports use it covers the mean about 95% of the time, where a percentile bootstrap over the
  seeds covered 51-90% (``benchmarks/interval_coverage.py``).
- :func:`paired_interval`: a circular block bootstrap over bars, bias-corrected (BC). Each
  replicate draws the same blocks of bars for every series, so agents and their baseline see
  the same market days; blocks keep the short-range dependence of returns. The BC interval
  moves the percentile interval by the replicates' median bias; where the estimate still falls
  outside it (below 2.5% or above 97.5% of its replicates) there is no interval (NaN bounds),
  never one that excludes its own estimate. Its measured coverage is in ``benchmarks/README.md``.
- :func:`probabilistic_sharpe_ratio` and :func:`deflated_sharpe_ratio`: the probability that
  the true Sharpe ratio exceeds a benchmark, given the sample's length, skew and kurtosis
  (Bailey and López de Prado, 2012 and 2014).

Returns here are per-bar simple returns, shape (n,) or (n, k) for k series.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

EULER_GAMMA = 0.5772156649015329
PAIRED_COVERAGE = (
    "Measured coverage of the paired 95% interval of a Sharpe difference (benchmarks/interval_coverage.py, "
    "400 simulated pairs a setting, bias-corrected): 91% over 180 daily bars with heavy tails and "
    "autocorrelation (a half-year fold), 93% over 1,000 such bars, 95% over 180 independent normal bars; "
    "on one fold, read it as about a 90% interval."
)
"""What the reports say of their paired intervals (measured 2026-12-05, this session's 2-core Xeon)."""


@dataclass(frozen=True)
class Interval:
    """An estimate with a confidence interval."""

    estimate: float
    low: float
    high: float

    def covers(self, value: float) -> bool:
        return bool(self.low <= value <= self.high)


def seed_interval(values: np.ndarray, confidence: float = 0.95) -> Interval:
    """Mean of ``values`` (one per run) with a Student-t interval ``mean +- t(n-1) s / sqrt(n)``.

    Non-finite values are left out; one run has NaN bounds (no spread to estimate), identical
    runs a zero-width interval.
    """
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return Interval(np.nan, np.nan, np.nan)
    mean = float(values.mean())
    if len(values) == 1:
        return Interval(mean, np.nan, np.nan)
    if np.ptp(values) == 0:  # identical runs: exactly their value, not a sum's rounding of it
        return Interval(float(values[0]), float(values[0]), float(values[0]))
    half = float(stats.t.ppf(0.5 + confidence / 2.0, len(values) - 1) * stats.sem(values))
    return Interval(mean, mean - half, mean + half)


def minimum_resamples(confidence: float) -> int:
    """The fewest bootstrap resamples a two-sided ``confidence`` interval needs: 10 beyond each bound
    (400 at 95%); with fewer, a bound is one or two replicates, or none."""
    return math.ceil(10.0 / ((1.0 - confidence) / 2.0) - 1e-9)


def check_resamples(resamples: int, confidence: float) -> None:
    """:raises ValueError: naming the minimum, for fewer resamples than :func:`minimum_resamples`."""
    if resamples < minimum_resamples(confidence):
        raise ValueError(
            f"resamples={resamples}: a {confidence:.0%} interval needs at least "
            f"{minimum_resamples(confidence)} (10 beyond each bound)"
        )


def block_length(n: int) -> int:
    """Default block length for ``n`` bars: about the cube root of n."""
    return max(1, round(n ** (1.0 / 3.0)))


def circular_block_indices(n: int, block: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(resamples, n) bar indices: blocks of ``block`` consecutive bars from random starts, wrapping."""
    blocks = -(-n // block)
    starts = rng.integers(0, n, size=(resamples, blocks))
    return ((starts[:, :, None] + np.arange(block)) % n).reshape(resamples, -1)[:, :n]


def paired_interval(
    statistic: Callable[[np.ndarray], float],
    returns: np.ndarray,
    confidence: float = 0.95,
    resamples: int = 2_000,
    block: int | None = None,
    seed: int = 0,
) -> Interval:
    """``statistic`` of (n, k) paired return series, with a bias-corrected circular block bootstrap interval.

    :param statistic: maps (n, k) returns to a number, e.g. an agent's Sharpe minus its
        baseline's; it sees the resampled bars in the same order for every series.
    :raises ValueError: for fewer resamples than the interval needs (:func:`minimum_resamples`).
    """
    check_resamples(resamples, confidence)
    estimate, replicates = paired_replicates(statistic, returns, resamples, block, seed)
    return bias_corrected(estimate, replicates, confidence)


def paired_replicates(
    statistic: Callable[[np.ndarray], float],
    returns: np.ndarray,
    resamples: int,
    block: int | None = None,
    seed: int = 0,
) -> tuple[float, np.ndarray]:
    """``statistic`` of (n, k) ``returns``, and its finite replicates over circular block resamples."""
    returns = np.asarray(returns, dtype=np.float64)
    n = len(returns)
    rng = np.random.default_rng(seed)
    indices = circular_block_indices(n, block or block_length(n), resamples, rng)
    replicates = np.array([statistic(returns[rows]) for rows in indices])
    return float(statistic(returns)), replicates[np.isfinite(replicates)]


def bias_corrected(estimate: float, replicates: np.ndarray, confidence: float = 0.95) -> Interval:
    """The bias-corrected (BC) percentile interval of bootstrap ``replicates`` of ``estimate``.

    ``z0 = Phi^-1(share of replicates below the estimate, ties counted half)``, clipped to half a
    replicate from 0 and 1; the bounds are the replicates' quantiles ``Phi(2 z0 -+ z)`` for
    ``z = Phi^-1(1/2 + confidence/2)`` (Efron 1987; ``z0 = 0`` gives the percentile interval).
    NaN bounds without finite replicates, and where the estimate falls outside the bounds (below
    2.5% or above 97.5% of its replicates): the bootstrap is then too biased to give an interval,
    and no interval is printed rather than one that excludes its own estimate.
    """
    if len(replicates) == 0 or not np.isfinite(estimate):
        return Interval(estimate, np.nan, np.nan)
    count = len(replicates)
    below = (np.count_nonzero(replicates < estimate) + 0.5 * np.count_nonzero(replicates == estimate)) / count
    z0 = stats.norm.ppf(np.clip(below, 0.5 / count, 1.0 - 0.5 / count))
    z = stats.norm.ppf(0.5 + confidence / 2.0)
    low, high = np.quantile(replicates, stats.norm.cdf([2.0 * z0 - z, 2.0 * z0 + z]))
    if not low <= estimate <= high:  # the bootstrap is too biased here to say anything
        return Interval(estimate, np.nan, np.nan)
    return Interval(estimate, float(low), float(high))


def per_bar_sharpe(returns: np.ndarray) -> float:
    """Mean over standard deviation (ddof=1) of per-bar returns, not annualized."""
    spread = np.std(returns, ddof=1)
    return float(np.mean(returns) / spread) if spread > 0 else float("nan")


def probabilistic_sharpe_ratio(returns: np.ndarray, benchmark: float = 0.0) -> float:
    """Probability that the true per-bar Sharpe ratio exceeds ``benchmark`` (per bar).

    ``PSR = Phi((SR - SR*) sqrt(n - 1) / sqrt(1 - skew SR + (kurtosis - 1) / 4 SR^2))``.
    """
    returns = np.asarray(returns, dtype=np.float64)
    sharpe = per_bar_sharpe(returns)
    if not np.isfinite(sharpe):
        return float("nan")
    skew = stats.skew(returns)
    kurtosis = stats.kurtosis(returns, fisher=False)
    spread = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    return float(stats.norm.cdf((sharpe - benchmark) * np.sqrt(len(returns) - 1) / np.sqrt(spread)))


def expected_max_sharpe(trial_sharpes: np.ndarray) -> float:
    """The per-bar Sharpe ratio the best of N trials reaches by luck alone (zero true Sharpe).

    A trial without a Sharpe ratio (a path with no spread: held in cash) scores 0 and counts
    towards N: leaving it out would lower N and ease the test.
    """
    trials = np.asarray(trial_sharpes, dtype=np.float64)
    trials = np.where(np.isfinite(trials), trials, 0.0)
    if len(trials) < 2:
        return 0.0
    n = len(trials)
    spread = np.sqrt(np.var(trials, ddof=1))
    return float(
        spread
        * (
            (1 - EULER_GAMMA) * stats.norm.ppf(1 - 1.0 / n)
            + EULER_GAMMA * stats.norm.ppf(1 - 1.0 / (n * np.e))
        )
    )


def deflated_sharpe_ratio(returns: np.ndarray, trial_sharpes: np.ndarray) -> float:
    """PSR against the luck of the best of the compared trials (their per-bar Sharpe ratios)."""
    return probabilistic_sharpe_ratio(returns, benchmark=expected_max_sharpe(trial_sharpes))


def returns_of(values: np.ndarray) -> np.ndarray:
    """(n,) or (n, k) simple returns of (n+1,) or (n+1, k) values."""
    values = np.asarray(values, dtype=np.float64)
    return values[1:] / values[:-1] - 1.0


def values_of(returns: np.ndarray) -> np.ndarray:
    """(n+1,) or (n+1, k) values from 1.0, the inverse of :func:`returns_of`."""
    returns = np.asarray(returns, dtype=np.float64)
    ones = np.ones((1, *returns.shape[1:]))
    return np.concatenate([ones, np.cumprod(1.0 + returns, axis=0)])
