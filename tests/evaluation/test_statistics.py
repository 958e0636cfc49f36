"""Statistics against cases whose answer is known."""

import numpy as np
import pytest
from scipy import stats

from cryptofolio.evaluation import metrics
from cryptofolio.evaluation.statistics import (
    bias_corrected,
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


def test_a_t_interval_over_three_seeds_covers_the_mean_95_percent_of_the_time():
    samples = np.random.default_rng(7).normal(0.3, 1.0, size=(4000, 3))
    covered = [seed_interval(row).covers(0.3) for row in samples]
    assert 0.94 < np.mean(covered) < 0.96  # a percentile bootstrap over three seeds: about 0.73


def test_a_bias_corrected_interval_moves_with_the_replicates_median_bias():
    replicates = np.random.default_rng(8).lognormal(0.0, 1.0, size=2000)
    centred = bias_corrected(float(np.median(replicates)), replicates)  # no bias: the percentile interval
    np.testing.assert_allclose(
        [centred.low, centred.high], np.quantile(replicates, [0.025, 0.975]), rtol=1e-3
    )
    estimate = float(np.quantile(replicates, 0.1))  # replicates above it 90% of the time: biased up
    shifted = bias_corrected(estimate, replicates)
    z0 = stats.norm.ppf(np.mean(replicates < estimate))
    levels = stats.norm.cdf([2 * z0 - 1.959964, 2 * z0 + 1.959964])  # 0.0003 and 0.27
    np.testing.assert_allclose([shifted.low, shifted.high], np.quantile(replicates, levels), rtol=1e-6)
    assert shifted.low <= estimate <= shifted.high


@pytest.mark.parametrize("share", [0.01, 0.99])
def test_no_interval_where_the_estimate_lies_outside_its_own_bounds(share):
    replicates = np.random.default_rng(8).normal(0.0, 1.0, size=2000)
    estimate = float(np.quantile(replicates, share))  # below 2.5% (above 97.5%) of its replicates
    interval = bias_corrected(estimate, replicates)
    assert interval.estimate == estimate and np.isnan(interval.low) and np.isnan(interval.high)


@pytest.mark.parametrize("resamples", [1, 39, 399])
def test_fewer_resamples_than_an_interval_needs_are_refused(resamples):
    returns = np.random.default_rng(9).normal(0.0, 0.01, size=(100, 2))
    with pytest.raises(ValueError, match=f"resamples={resamples}: a 95% interval needs at least 400"):
        paired_interval(lambda r: float(r.mean()), returns, resamples=resamples)


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
    better = base + rng.normal(0.002, 0.001, size=2000)  # the same market days, 0.2% a day more on average
    mean_gap = paired_interval(lambda r: float(np.mean(r[:, 0] - r[:, 1])), np.column_stack([better, base]))
    assert mean_gap.covers(0.002) and 0.0019 < mean_gap.low < mean_gap.high < 0.0021


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


def test_a_trial_without_a_sharpe_ratio_counts_as_zero_not_as_no_trial():
    with_cash = expected_max_sharpe(np.array([0.05, np.nan, 0.1, 0.08]))
    assert with_cash == expected_max_sharpe(np.array([0.05, 0.0, 0.1, 0.08]))
    assert with_cash != expected_max_sharpe(np.array([0.05, 0.1, 0.08]))


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
