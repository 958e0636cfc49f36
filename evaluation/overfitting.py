"""The probability of backtest overfitting (PBO), estimated by combinatorially symmetric
cross-validation (CSCV): Bailey, Borwein, López de Prado and Zhu (2017), "The probability of
backtest overfitting", Journal of Computational Finance 20(4).

The T observations (rows, in time order) of N candidate configurations (columns) are cut into S
contiguous groups. Each way of taking S/2 groups as the in-sample half J, the other S/2 as the
out-of-sample half J̄, asks one question: does the configuration n* that scores best on J stay
above the median on J̄? Its relative rank on J̄ is ω = rank / (N + 1), rank 1 the worst and N the
best, and its logit λ = log(ω / (1 - ω)) is 0 at the median, negative below it. PBO is the
share of halves whose λ is at most 0: about 0.5 when choosing on J tells nothing about J̄ (pure
noise), near 0 when the in-sample best keeps its edge.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cryptofolio.envs.errors import ConfigError

TIE = 1e-12
"""Relative difference below which two scores are tied: a rescaled copy of a configuration has its
Sharpe ratio to about 1e-16, rounding noise that must not rank them."""

Metric = Callable[[np.ndarray], np.ndarray]
"""Maps (t, N) observations to (N,) scores, higher better."""


@dataclass(frozen=True, eq=False)  # eq=False: arrays do not compare to a single bool
class OverfittingResult:
    """CSCV's findings; arrays hold one entry per combination, in the order of
    ``itertools.combinations(range(S), S // 2)`` (the in-sample groups)."""

    pbo: float
    """Share of combinations with logit λ <= 0: n* at or below the out-of-sample median."""
    logits: np.ndarray
    """(C,) λ = log(ω / (1 - ω)) of n*'s out-of-sample relative rank ω = rank / (N + 1)."""
    combinations: int
    """C = binom(S, S/2), the number of in-sample halves tried."""
    selected: np.ndarray
    """(C,) column index n* of the configuration best in sample (the first of tied bests)."""
    in_sample_best_out_of_sample: np.ndarray
    """(C,) the out-of-sample metric of n*, in the metric's units."""
    performance_degradation_slope: float
    """Least-squares slope of n*'s out-of-sample metric on its in-sample one (NaN if that is constant)."""


def probability_of_backtest_overfitting(
    performance: np.ndarray, groups: int = 16, metric: Metric | None = None
) -> OverfittingResult:
    """PBO of choosing the best of N configurations by ``metric``, by CSCV over ``groups`` groups.

    :param performance: (T, N) observations in time order (e.g. daily returns) of N >= 2
        configurations. The first ``T mod groups`` rows, the oldest, are dropped so that the rest
        splits into ``groups`` contiguous groups of ``T // groups`` rows.
    :param groups: S, even, at least 2; each group needs at least 2 rows. S = 16 gives 12,870
        combinations.
    :param metric: maps a (t, N) array of a half's rows (in time order) to (N,) scores, higher
        better; by default each column's per-observation Sharpe ratio, mean over standard
        deviation with ddof=1, not annualized.

    Ties: scores equal to :data:`TIE` (relative) are tied, so that equal ratios computed through
    different rounding (a configuration and a rescaled copy of it) tie in both paths. n* is the
    first of the configurations tied best in sample; out of sample, tied configurations share
    their average rank, so ω = 1/2 and λ = 0 when n* ties the median.

    PBO counts λ <= 0: the paper's estimate φ = ∫ f(λ) dλ from -∞ to 0, for f the relative
    frequency of the logits over the combinations, includes the mass at λ = 0 (so do the R
    package pbo and pypbo). λ = 0 needs n* exactly at the median: an odd N, or ties.
    """
    performance = _check_performance(performance)
    _check_groups(groups, len(performance))
    rows = len(performance) // groups
    configurations = performance.shape[1]
    blocks = performance[len(performance) - groups * rows :].reshape(groups, rows, configurations)

    chosen = np.array(list(itertools.combinations(range(groups), groups // 2)))  # (C, S/2)
    count = len(chosen)
    in_sample = np.zeros((count, groups), dtype=bool)
    in_sample[np.arange(count)[:, None], chosen] = True
    if metric is None:
        in_scores, out_scores = _sharpe_of_halves(blocks, in_sample)
    else:
        in_scores, out_scores = _metric_of_halves(blocks, in_sample, metric)
    _check_scores(in_scores, "in-sample", metric is None)
    _check_scores(out_scores, "out-of-sample", metric is None)

    every = np.arange(count)
    top = in_scores.max(axis=1, keepdims=True)
    selected = np.argmax(_tied(in_scores, top) | (in_scores == top), axis=1)  # the first tied best
    best_in, best_out = in_scores[every, selected], out_scores[every, selected]
    tied = _tied(out_scores, best_out[:, None]) | (out_scores == best_out[:, None])
    below = np.count_nonzero((out_scores < best_out[:, None]) & ~tied, axis=1)
    level = np.count_nonzero(tied, axis=1)  # n* and its ties
    rank = below + (level + 1) / 2.0  # 1 the worst, N the best; ties share their average rank
    omega = rank / (configurations + 1)
    logits = np.log(omega / (1.0 - omega))

    spread = best_in - best_in.mean()
    slope = (
        float(spread @ (best_out - best_out.mean()) / (spread @ spread))
        if np.ptp(best_in) > 0
        else float("nan")
    )
    return OverfittingResult(
        pbo=float(np.mean(logits <= 0.0)),
        logits=logits,
        combinations=count,
        selected=selected,
        in_sample_best_out_of_sample=best_out,
        performance_degradation_slope=slope,
    )


def _tied(scores: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Where ``scores`` equal ``other`` to :data:`TIE` (relative): equal ratios computed two ways."""
    with np.errstate(invalid="ignore"):
        return np.abs(scores - other) <= TIE * np.maximum(np.abs(scores), np.abs(other))


def _sharpe_of_halves(blocks: np.ndarray, in_sample: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(C, N) per-observation Sharpe ratios (ddof=1) of each combination's in- and out-of-sample rows.

    :param blocks: (S, rows, N) observations by group; :param in_sample: (C, S) group masks.
    """
    # Cost: one pass over the T N observations for each group's sums, then (C, S) @ (S, N)
    # products, O(C S N): about 4 million multiply-adds for S = 16, N = 20, where re-reading each
    # half's rows would cost O(C T N), about 280 million for T = 1,100.
    centre = blocks.mean(axis=(0, 1))  # centring keeps sum(x^2) - n mean^2 from cancelling
    centred = blocks - centre
    sums, squares = centred.sum(axis=1), (centred**2).sum(axis=1)  # (S, N)
    count = blocks.shape[0] // 2 * blocks.shape[1]  # rows in a half
    halves = []
    for mask in (in_sample, ~in_sample):
        weights = mask.astype(np.float64)
        total, total_squares = weights @ sums, weights @ squares
        mean = total / count
        variance = np.maximum(total_squares - total * mean, 0.0) / (count - 1)
        with np.errstate(divide="ignore", invalid="ignore"):  # a constant half: checked by the caller
            halves.append((centre + mean) / np.sqrt(variance))
    return halves[0], halves[1]


def _metric_of_halves(
    blocks: np.ndarray, in_sample: np.ndarray, metric: Metric
) -> tuple[np.ndarray, np.ndarray]:
    """(C, N) ``metric`` of each combination's in- and out-of-sample rows: 2 C calls of ``metric``."""
    configurations = blocks.shape[2]
    in_scores = np.empty((len(in_sample), configurations))
    out_scores = np.empty((len(in_sample), configurations))
    for c, mask in enumerate(in_sample):
        in_scores[c] = _scores(metric, blocks[mask].reshape(-1, configurations))
        out_scores[c] = _scores(metric, blocks[~mask].reshape(-1, configurations))
    return in_scores, out_scores


def _scores(metric: Metric, half: np.ndarray) -> np.ndarray:
    scores = np.asarray(metric(half), dtype=np.float64)
    if scores.shape != (half.shape[1],):
        raise ValueError(
            f"metric must map a (t, N) array to (N,) scores, got shape {scores.shape} from shape {half.shape}"
        )
    return scores


def _check_performance(performance: np.ndarray) -> np.ndarray:
    performance = np.asarray(performance, dtype=np.float64)
    if performance.ndim != 2:
        raise ValueError(
            f"performance must be a 2-D (T observations, N configurations) array, got shape "
            f"{performance.shape}"
        )
    if performance.shape[1] < 2:
        raise ValueError(
            f"performance needs at least 2 configurations (columns) to rank, got {performance.shape[1]}"
        )
    bad = int(np.count_nonzero(~np.isfinite(performance)))
    if bad:
        raise ValueError(f"performance must be finite, found {bad} NaN or infinite entries")
    return performance


def _check_groups(groups: int, observations: int) -> None:
    if not isinstance(groups, int | np.integer) or groups < 2 or groups % 2:
        raise ConfigError(f"groups must be an even integer of at least 2, got {groups!r}")
    if observations // groups < 2:
        raise ConfigError(
            f"groups={groups} leaves {observations // groups} rows per group from T={observations} "
            "observations; each group needs at least 2 (use fewer groups or more observations)"
        )


def _check_scores(scores: np.ndarray, half: str, sharpe: bool) -> None:
    bad = np.flatnonzero(~np.isfinite(scores).all(axis=0))
    if bad.size:
        hint = " (a column constant over a half has no Sharpe ratio)" if sharpe else ""
        raise ValueError(
            f"metric gives NaN or infinite scores to configurations {bad.tolist()} on some {half} half{hint}"
        )
