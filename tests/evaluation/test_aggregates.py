"""Aggregates over runs and tasks against cases small enough to count by hand."""

import numpy as np
import pytest
from scipy import stats

from cryptofolio.evaluation.aggregates import (
    interquartile_mean,
    performance_profile,
    performance_profile_bands,
    probability_of_improvement,
    probability_of_improvement_interval,
    stratified_bootstrap,
)


def test_the_iqm_of_one_to_eight_is_the_mean_of_the_middle_four():
    scores = np.arange(1.0, 9.0).reshape(4, 2)  # 4 runs, 2 tasks
    # 8 scores: floor(0.25 * 8) = 2 cut from each end, leaving 3, 4, 5, 6: mean 18 / 4 = 4.5
    assert interquartile_mean(scores) == 4.5


def test_the_iqm_cuts_a_quarter_rounded_down_and_ignores_an_outlier():
    scores = np.array([[1.0, 2.0, 3.0, 4.0, 1000.0], [5.0, 6.0, 7.0, 8.0, 9.0]])
    # 10 scores: floor(2.5) = 2 cut from each end (1, 2 and 9, 1000), leaving 3..8: mean 33 / 6 = 5.5
    assert interquartile_mean(scores) == 5.5


@pytest.mark.parametrize("shape", [(1, 1), (3, 1), (5, 7), (10, 3), (13, 4)])
def test_the_iqm_agrees_with_scipy_trim_mean(shape):
    scores = np.random.default_rng(0).normal(size=shape)
    assert interquartile_mean(scores) == pytest.approx(stats.trim_mean(scores, 0.25, axis=None))


def test_probability_of_improvement_counts_a_tie_as_one_half():
    x, y = np.array([[1.0], [3.0]]), np.array([[1.0], [2.0]])  # 2 runs each, 1 task
    # pairs (x, y): (1, 1) tie 0.5, (1, 2) loss 0, (3, 1) win 1, (3, 2) win 1: 2.5 / 4 = 0.625
    assert probability_of_improvement(x, y) == 0.625


def test_probability_of_improvement_averages_tasks_with_different_run_counts():
    x = np.array([[5.0, 0.0], [6.0, 1.0]])  # 2 runs
    y = np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 4.0]])  # 3 runs
    # task 0: x beats y in all 6 pairs, 1.0; task 1: in none, 0.0; mean (1.0 + 0.0) / 2 = 0.5
    assert probability_of_improvement(x, y) == 0.5


def test_an_algorithm_against_itself_improves_with_probability_one_half():
    x = np.random.default_rng(1).integers(0, 3, size=(6, 4)).astype(float)  # with many ties
    assert probability_of_improvement(x, x) == 0.5


def test_probability_of_improvement_agrees_with_mann_whitney_u():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 5, size=(7, 3)).astype(float)
    y = rng.integers(0, 5, size=(4, 3)).astype(float)
    u = [stats.mannwhitneyu(x[:, task], y[:, task]).statistic for task in range(3)]  # U of x
    assert probability_of_improvement(x, y) == pytest.approx(np.mean(u) / (7 * 4))


def test_a_performance_profile_counts_scores_strictly_above_each_threshold():
    scores = np.array([[0.0, 1.0], [2.0, 3.0]])
    # above -1: all 4; above 0: 1, 2, 3 (0 is not above 0); above 1.5: 2, 3; above 3: none
    np.testing.assert_array_equal(
        performance_profile(scores, np.array([-1.0, 0.0, 1.5, 3.0])), [1.0, 0.75, 0.5, 0.0]
    )


def test_constant_tasks_give_a_zero_width_interval():
    scores = np.array([[1.0, 5.0], [1.0, 5.0], [1.0, 5.0]])  # every resample is this array
    point, low, high = stratified_bootstrap(scores, np.mean, 400, np.random.default_rng(3))
    assert (point, low, high) == (3.0, 3.0, 3.0)


def test_resampling_draws_runs_within_each_task():
    rng = np.random.default_rng(4)
    scores = rng.uniform(size=(5, 3)) + np.array([0.0, 10.0, 100.0])  # tasks in [0, 1), [10, 11), ...
    seen: list[np.ndarray] = []

    def record(resampled: np.ndarray) -> float:
        seen.append(resampled)
        return float(resampled.mean())

    stratified_bootstrap(scores, record, 400, rng)
    assert len(seen) == 401  # 400 resamples and the point estimate
    for resampled in seen:
        assert resampled.shape == (5, 3)
        for task in range(3):
            assert np.isin(resampled[:, task], scores[:, task]).all()  # runs of this task only


def test_a_task_bootstrap_draws_whole_tasks_and_varies_one_run_per_task():
    scores = np.array([[1.0, 10.0, 100.0]])  # one run per task: resampling runs alone cannot vary it
    assert stratified_bootstrap(scores, np.mean, 400, np.random.default_rng(3)) == (37.0, 37.0, 37.0)
    seen: list[np.ndarray] = []

    def record(resampled: np.ndarray) -> float:
        seen.append(resampled)
        return float(resampled.mean())

    point, low, high = stratified_bootstrap(
        scores, record, 400, np.random.default_rng(3), task_bootstrap=True
    )
    assert point == 37.0 and low == 1.0 and high == 100.0  # all-first and all-last tasks are drawn
    assert all(resampled.shape == (1, 3) and np.isin(resampled, scores).all() for resampled in seen)


def test_a_task_bootstrap_of_improvement_pairs_the_tasks_of_both():
    x, y = np.array([[1.0, 5.0]]), np.array([[0.0, 9.0]])  # x wins task 0, loses task 1
    point, low, high = probability_of_improvement_interval(
        x, y, 400, np.random.default_rng(2), task_bootstrap=True
    )
    assert (point, low, high) == (0.5, 0.0, 1.0)  # a resample holds task 0 twice, task 1 twice, or both


def test_a_stratified_bootstrap_brackets_its_point_and_repeats_with_its_seed():
    scores = np.random.default_rng(5).normal(size=(10, 6))
    first = stratified_bootstrap(scores, interquartile_mean, 500, np.random.default_rng(6))
    again = stratified_bootstrap(scores, interquartile_mean, 500, np.random.default_rng(6))
    assert first == again
    point, low, high = first
    assert point == interquartile_mean(scores) and low < point < high


def test_an_interval_of_improvement_is_certain_when_every_run_wins():
    x, y = np.full((4, 3), 2.0) + np.arange(4)[:, None], np.zeros((5, 3))  # x beats y in every pair
    assert probability_of_improvement_interval(x, y, 400, np.random.default_rng(7)) == (1.0, 1.0, 1.0)


def test_an_interval_of_improvement_brackets_its_point_within_zero_and_one():
    rng = np.random.default_rng(8)
    x, y = rng.normal(0.5, 1.0, size=(8, 5)), rng.normal(0.0, 1.0, size=(6, 5))
    point, low, high = probability_of_improvement_interval(x, y, 500, rng)
    assert point == probability_of_improvement(x, y)
    assert 0.0 <= low < point < high <= 1.0


def test_profile_bands_bracket_the_profile_and_vanish_for_constant_tasks():
    thresholds = np.array([-1.0, 0.0, 0.5, 2.0])
    scores = np.random.default_rng(9).normal(size=(8, 4))
    profile, low, high = performance_profile_bands(scores, thresholds, 400, np.random.default_rng(10))
    assert profile.shape == low.shape == high.shape == (4,)
    np.testing.assert_array_equal(profile, performance_profile(scores, thresholds))
    assert (low <= profile).all() and (profile <= high).all()
    constant = np.array([[0.0, 1.0], [0.0, 1.0]])  # above 0.5: one score in two, in every resample
    _, low, high = performance_profile_bands(constant, np.array([0.5]), 400, np.random.default_rng(11))
    assert low[0] == high[0] == 0.5


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        (np.arange(4.0), "2-D"),
        (np.zeros((0, 3)), "at least one run and one task"),
        (np.zeros((3, 0)), "at least one run and one task"),
        (np.array([[1.0, np.nan], [np.inf, 2.0]]), "found 2 NaN or infinite"),
    ],
)
def test_malformed_scores_are_refused(scores, message):
    with pytest.raises(ValueError, match=message):
        interquartile_mean(scores)
    with pytest.raises(ValueError, match=message):
        stratified_bootstrap(scores, np.mean, 10, np.random.default_rng(0))


def test_x_and_y_must_share_their_tasks():
    with pytest.raises(ValueError, match=r"same number of tasks \(columns\), got 2 and 3"):
        probability_of_improvement(np.zeros((4, 2)), np.zeros((4, 3)))


@pytest.mark.parametrize(
    ("resamples", "confidence", "message"),
    [
        (0, 0.95, "resamples must be a positive integer"),
        (10, 1.0, "confidence must be strictly between"),
        (399, 0.95, "resamples=399: a 95% interval needs at least 400"),
        (1999, 0.99, "resamples=1999: a 99% interval needs at least 2000"),
    ],
)
def test_bootstrap_settings_are_checked(resamples, confidence, message):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=message):
        probability_of_improvement_interval(np.ones((2, 2)), np.ones((2, 2)), resamples, rng, confidence)


@pytest.mark.parametrize(
    ("thresholds", "message"), [(np.zeros((2, 2)), "1-D"), (np.array([0.0, np.nan]), "NaN")]
)
def test_thresholds_are_a_line_of_numbers(thresholds, message):
    with pytest.raises(ValueError, match=message):
        performance_profile(np.ones((2, 2)), thresholds)
