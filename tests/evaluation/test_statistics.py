"""Statistics against cases whose answer is known."""

import numpy as np
import pytest

from cryptofolio.evaluation import metrics
from cryptofolio.evaluation.statistics import (
    circular_block_indices,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    paired_interval,
    per_bar_sharpe,
    probabilistic_sharpe_ratio,
    returns_of,
    seed_interval,
    values_of,
)


def test_a_seed_interval_covers_the_known_mean():
    samples = np.random.default_rng(0).normal(1.0, 1.0, size=200)
    interval = seed_interval(samples)
    assert interval.covers(1.0) and interval.high - interval.low < 0.4
    assert interval.estimate == pytest.approx(samples.mean())


def test_seed_intervals_of_one_run_or_identical_runs():
    single = seed_interval(np.array([0.7]))
    assert single.estimate == 0.7 and np.isnan(single.low) and np.isnan(single.high)
    same = seed_interval(np.array([0.7, 0.7, 0.7]))
    assert (same.low, same.estimate, same.high) == (0.7, 0.7, 0.7)


def test_block_indices_are_consecutive_bars_wrapping_around():
    indices = circular_block_indices(10, 4, 50, np.random.default_rng(1))
    assert indices.shape == (50, 10) and indices.min() >= 0 and indices.max() <= 9
    steps = np.diff(indices[:, :4], axis=1) % 10
    assert np.all(steps == 1)  # within a block, each bar follows the previous one


def sharpe_difference(paired: np.ndarray) -> float:
    values = values_of(paired)
    return metrics.sharpe_ratio(values[:, 0], 365) - metrics.sharpe_ratio(values[:, 1], 365)


def test_a_policy_minus_itself_is_exactly_zero():
    returns = np.random.default_rng(2).normal(0.001, 0.02, size=300)
    interval = paired_interval(sharpe_difference, np.column_stack([returns, returns]))
    assert (interval.estimate, interval.low, interval.high) == (0.0, 0.0, 0.0)


def test_a_paired_interval_covers_a_known_difference():
    rng = np.random.default_rng(3)
    base = rng.normal(0.0, 0.02, size=2000)
    better = base + 0.002  # the same market days, 0.2% a day more
    mean_gap = paired_interval(lambda r: float(np.mean(r[:, 0] - r[:, 1])), np.column_stack([better, base]))
    assert mean_gap.covers(0.002) and mean_gap.low > 0.0019


def test_psr_of_a_zero_sharpe_series_is_one_half():
    returns = np.tile([0.01, -0.01], 100)
    assert probabilistic_sharpe_ratio(returns) == pytest.approx(0.5)


def test_psr_grows_with_the_sample():
    rng = np.random.default_rng(4)
    short, long = rng.normal(0.001, 0.02, 100), rng.normal(0.001, 0.02, 5000)
    short = (short - short.mean()) / short.std(ddof=1) * 0.02 + 0.001  # both with per-bar Sharpe 0.05
    long = (long - long.mean()) / long.std(ddof=1) * 0.02 + 0.001
    assert per_bar_sharpe(short) == pytest.approx(per_bar_sharpe(long))
    assert probabilistic_sharpe_ratio(long) > probabilistic_sharpe_ratio(short) > 0.5


def test_deflation_lowers_the_psr_with_more_trials():
    returns = np.random.default_rng(5).normal(0.002, 0.02, size=500)
    psr = probabilistic_sharpe_ratio(returns)
    few = deflated_sharpe_ratio(returns, np.array([0.05, 0.07]))
    many = deflated_sharpe_ratio(returns, np.linspace(0.0, 0.1, 40))
    assert psr > few > many
    assert deflated_sharpe_ratio(returns, np.array([0.1])) == psr  # one trial: nothing to deflate
    assert expected_max_sharpe(np.linspace(0.0, 0.1, 40)) > expected_max_sharpe(np.linspace(0.0, 0.1, 3)) > 0


def test_values_and_returns_are_inverse():
    values = np.array([1.0, 1.1, 0.99, 1.2])
    np.testing.assert_allclose(values_of(returns_of(values)), values)
