"""Aggregates over runs and tasks, after rliable (Agarwal et al., 2021, "Deep reinforcement
learning at the edge of the statistical precipice"), written in NumPy.

Scores are (runs, tasks) arrays: a task is a stratum, in our use a (profile, fold) pair, and a
run is a seed; a score is e.g. a fold's excess Sharpe ratio over the rule. Units are the
scores' own.

- :func:`interquartile_mean`: the mean of the middle half of all scores (rliable's IQM).
- :func:`stratified_bootstrap`: a percentile interval of any statistic, resampling runs within
  each task (and, as an option, the tasks).
- :func:`probability_of_improvement`: P(X > Y), the Mann-Whitney probability that a run of X
  beats a run of Y on the same task, averaged over tasks; with an interval in
  :func:`probability_of_improvement_interval`.
- :func:`performance_profile`: the fraction of scores above each threshold (rliable's run-score
  distribution); with bands in :func:`performance_profile_bands`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cryptofolio.evaluation.statistics import check_resamples


def interquartile_mean(scores: np.ndarray) -> float:
    """Mean of all (runs, tasks) scores once a quarter of them is cut from each end.

    The cut is ``floor(0.25 n)`` scores from each end of the n sorted scores, as
    ``scipy.stats.trim_mean(scores, 0.25, axis=None)`` and rliable's ``aggregate_iqm`` do: with
    n = 10, the 2 lowest and the 2 highest go and the middle 6 are averaged.
    """
    scores = _check_scores(scores, "scores")
    ordered = np.sort(scores, axis=None)
    cut = int(0.25 * ordered.size)
    return float(ordered[cut : ordered.size - cut].mean())


def stratified_bootstrap(
    scores: np.ndarray,
    statistic: Callable[[np.ndarray], float],
    resamples: int,
    rng: np.random.Generator,
    confidence: float = 0.95,
    task_bootstrap: bool = False,
) -> tuple[float, float, float]:
    """``statistic`` of (runs, tasks) scores with a stratified percentile-bootstrap interval.

    Each resample draws ``runs`` runs with replacement within each task (column), independently
    across tasks, so every task keeps its weight; ``statistic`` maps the resampled (runs, tasks)
    array to a number. With ``task_bootstrap`` (rliable's option of that name), each resample
    first draws the tasks themselves with replacement: for tasks that are a sample (half-years of
    a market) rather than a fixed benchmark, and for one run per task, where runs alone cannot vary.

    :return: (point, low, high): the statistic of ``scores`` and the ``(1 - confidence) / 2``
        and ``(1 + confidence) / 2`` quantiles of the resampled statistics.
    """
    scores = _check_scores(scores, "scores")
    _check_bootstrap(resamples, confidence)
    tasks = scores.shape[1]
    replicates = np.array(
        [statistic(_resample(scores, rng, _tasks(tasks, rng, task_bootstrap))) for _ in range(resamples)],
        dtype=np.float64,
    )
    low, high = _percentile_interval(replicates, confidence)
    return float(statistic(scores)), float(low), float(high)


def probability_of_improvement(x: np.ndarray, y: np.ndarray) -> float:
    """P(X > Y): for each task, the probability that a run of ``x`` beats a run of ``y``, averaged.

    Per task this is the Mann-Whitney ``U / (n m)``: the mean over all n m pairs of
    ``[x_i > y_j] + 0.5 [x_i == y_j]``, so ties count one half and P(X > X) = 0.5.

    :param x: (n, tasks) scores of one algorithm.
    :param y: (m, tasks) scores of another on the same tasks; m may differ from n.
    """
    x, y = _check_pair(x, y)
    return _improvement(x, y)


def probability_of_improvement_interval(
    x: np.ndarray,
    y: np.ndarray,
    resamples: int,
    rng: np.random.Generator,
    confidence: float = 0.95,
    task_bootstrap: bool = False,
) -> tuple[float, float, float]:
    """:func:`probability_of_improvement` with a stratified percentile-bootstrap interval.

    Each resample draws the runs of ``x`` and those of ``y`` independently, with replacement,
    within each task (rliable's stratified independent bootstrap); with ``task_bootstrap``, within
    tasks first drawn with replacement, the same for ``x`` and ``y``.

    :return: (point, low, high), all in [0, 1].
    """
    x, y = _check_pair(x, y)
    _check_bootstrap(resamples, confidence)
    replicates = []
    for _ in range(resamples):
        tasks = _tasks(x.shape[1], rng, task_bootstrap)
        replicates.append(_improvement(_resample(x, rng, tasks), _resample(y, rng, tasks)))
    low, high = _percentile_interval(np.array(replicates), confidence)
    return _improvement(x, y), float(low), float(high)


def performance_profile(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """(k,) fraction of all (runs, tasks) scores strictly above each of the (k,) thresholds."""
    scores = _check_scores(scores, "scores")
    thresholds = _check_thresholds(thresholds)
    return _profile(scores, thresholds)


def performance_profile_bands(
    scores: np.ndarray,
    thresholds: np.ndarray,
    resamples: int,
    rng: np.random.Generator,
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`performance_profile` with pointwise stratified percentile-bootstrap bands.

    :return: (profile, low, high), each (k,) for the (k,) thresholds.
    """
    scores = _check_scores(scores, "scores")
    thresholds = _check_thresholds(thresholds)
    _check_bootstrap(resamples, confidence)
    replicates = np.array([_profile(_resample(scores, rng), thresholds) for _ in range(resamples)])
    low, high = _percentile_interval(replicates, confidence)
    return _profile(scores, thresholds), low, high


def _improvement(x: np.ndarray, y: np.ndarray) -> float:
    """P(X > Y) of checked (n, tasks) and (m, tasks) scores."""
    pairs = x[:, None, :] - y[None, :, :]  # (n, m, tasks)
    wins = (pairs > 0).mean(axis=(0, 1)) + 0.5 * (pairs == 0).mean(axis=(0, 1))
    return float(wins.mean())


def _profile(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """(k,) fraction of the checked scores above each of the (k,) thresholds."""
    return np.asarray((scores.reshape(1, -1) > thresholds[:, None]).mean(axis=1), dtype=np.float64)


def _tasks(tasks: int, rng: np.random.Generator, task_bootstrap: bool) -> np.ndarray:
    """The columns a resample draws runs from: every task once, or ``tasks`` drawn with replacement."""
    return rng.integers(0, tasks, size=tasks) if task_bootstrap else np.arange(tasks)


def _resample(scores: np.ndarray, rng: np.random.Generator, columns: np.ndarray | None = None) -> np.ndarray:
    """(runs, len(columns)) scores whose column j holds runs drawn with replacement from the scores'
    column ``columns[j]`` (default: every column once, in order)."""
    runs, tasks = scores.shape
    columns = np.arange(tasks) if columns is None else columns
    return scores[rng.integers(0, runs, size=(runs, len(columns))), columns]


def _percentile_interval(replicates: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Low and high quantiles of (resamples, ...) replicates, over the resamples."""
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(replicates, [alpha, 1.0 - alpha], axis=0)
    return low, high


def _check_scores(scores: np.ndarray, name: str) -> np.ndarray:
    """``scores`` as a float64 (runs, tasks) array with a run and a task at least, all finite."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (runs, tasks) array, got shape {scores.shape}")
    if scores.shape[0] < 1 or scores.shape[1] < 1:
        raise ValueError(f"{name} needs at least one run and one task, got shape {scores.shape}")
    bad = int(np.count_nonzero(~np.isfinite(scores)))
    if bad:
        raise ValueError(f"{name} must be finite, found {bad} NaN or infinite entries")
    return scores


def _check_pair(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Checked ``x`` and ``y`` with the same number of tasks (columns)."""
    x, y = _check_scores(x, "x"), _check_scores(y, "y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"x and y must have the same number of tasks (columns), got {x.shape[1]} and {y.shape[1]}"
        )
    return x, y


def _check_thresholds(thresholds: np.ndarray) -> np.ndarray:
    """``thresholds`` as a float64 (k,) array without NaN."""
    thresholds = np.asarray(thresholds, dtype=np.float64)
    if thresholds.ndim != 1:
        raise ValueError(f"thresholds must be a 1-D array, got shape {thresholds.shape}")
    if np.isnan(thresholds).any():
        raise ValueError("thresholds must not contain NaN")
    return thresholds


def _check_bootstrap(resamples: int, confidence: float) -> None:
    if not isinstance(resamples, int | np.integer) or resamples < 1:
        raise ValueError(f"resamples must be a positive integer, got {resamples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")
    check_resamples(int(resamples), confidence)
