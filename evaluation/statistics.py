"""Statistics for comparing policies honestly: intervals over seeds and over time, and
Sharpe ratios adjusted for estimation error and for the number of policies compared.

- :func:`seed_interval`: a percentile-bootstrap interval of a mean over runs (seeds), with
  scipy's bootstrap.
- :func:`paired_interval`: a circular block bootstrap over bars. Each replicate draws the
  same blocks of bars for every series, so agents and their baseline see the same market
  days; blocks keep the short-range dependence of returns.
- :func:`probabilistic_sharpe_ratio` and :func:`deflated_sharpe_ratio`: the probability that
  the true Sharpe ratio exceeds a benchmark, given the sample's length, skew and kurtosis
  (Bailey and López de Prado, 2012 and 2014).

Returns here are per-bar simple returns, shape (n,) or (n, k) for k series.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

EULER_GAMMA = 0.5772156649015329


@dataclass(frozen=True)
class Interval:
    """An estimate with a confidence interval."""

    estimate: float
    low: float
    high: float

    def covers(self, value: float) -> bool:
        return bool(self.low <= value <= self.high)


def seed_interval(
    values: np.ndarray, confidence: float = 0.95, resamples: int = 9_999, seed: int = 0
) -> Interval:
    """Mean of ``values`` (one per run) with a percentile-bootstrap interval; NaN bounds with one run."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return Interval(np.nan, np.nan, np.nan)
    mean = float(values.mean())
    if len(values) == 1:  # one run: no spread to estimate
        return Interval(mean, np.nan, np.nan)
    if np.ptp(values) == 0:  # identical runs: the bootstrap has nothing to resample
        return Interval(float(values[0]), float(values[0]), float(values[0]))
    result = stats.bootstrap(
        (values,),
        np.mean,
        confidence_level=confidence,
        n_resamples=resamples,
        method="percentile",
        random_state=seed,
    )
    return Interval(mean, float(result.confidence_interval.low), float(result.confidence_interval.high))


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
    """``statistic`` of (n, k) paired return series, with a circular block bootstrap interval.

    :param statistic: maps (n, k) returns to a number, e.g. an agent's Sharpe minus its
        baseline's; it sees the resampled bars in the same order for every series.
    """
    returns = np.asarray(returns, dtype=np.float64)
    n = len(returns)
    rng = np.random.default_rng(seed)
    indices = circular_block_indices(n, block or block_length(n), resamples, rng)
    replicates = np.array([statistic(returns[rows]) for rows in indices])
    replicates = replicates[np.isfinite(replicates)]
    alpha = (1.0 - confidence) / 2.0
    if len(replicates) == 0:
        return Interval(statistic(returns), np.nan, np.nan)
    low, high = np.quantile(replicates, [alpha, 1.0 - alpha])
    return Interval(float(statistic(returns)), float(low), float(high))


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
    """The per-bar Sharpe ratio the best of N trials reaches by luck alone (zero true Sharpe)."""
    trials = np.asarray(trial_sharpes, dtype=np.float64)
    trials = trials[np.isfinite(trials)]
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
