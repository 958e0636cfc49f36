"""The probability of backtest overfitting against noise, a real edge and cases counted by hand.

In the hand-counted cases T = 4 rows make S = 2 groups of 2 rows: group 0 is rows 0-1, group 1
rows 2-3, and the 2 combinations take group 0, then group 1, as in-sample. The Sharpe ratio of
two observations a, b is ((a + b) / 2) / (|a - b| / sqrt(2)).
"""

import numpy as np
import pytest

from cryptofolio.evaluation.overfitting import probability_of_backtest_overfitting


def per_bar_sharpe(half: np.ndarray) -> np.ndarray:
    return half.mean(axis=0) / half.std(axis=0, ddof=1)


def test_choosing_among_pure_noise_overfits_half_the_time():
    rng = np.random.default_rng(0)
    # One matrix's PBO spreads widely (about 0.3 to 0.8 over seeds): average 20 of them.
    pbos = [probability_of_backtest_overfitting(rng.normal(size=(800, 20)), groups=8).pbo for _ in range(20)]
    assert 0.4 < np.mean(pbos) < 0.6


def test_a_persistent_edge_is_chosen_and_stays_best():
    performance = np.random.default_rng(1).normal(size=(800, 20))
    performance[:, 7] += 0.3  # a per-bar Sharpe ratio of 0.3, six standard errors over a half's 400 rows
    result = probability_of_backtest_overfitting(performance, groups=8)
    assert result.pbo < 0.05
    assert (result.selected == 7).all()
    np.testing.assert_allclose(result.logits, np.log(20.0))  # best of 20: ω = 20 / 21, λ = log 20


def test_two_configurations_that_swap_places_overfit_every_time():
    performance = np.array([[1.0, 0.0], [3.0, 2.0], [-1.0, 1.0], [1.0, 5.0]])
    # Sharpe ratios    group 0        group 1
    #   config 0     2 / 1 = √2      0 / √2 = 0
    #   config 1     1 / 1 = 1/√2    3 / (2√2) = 3√2/4 ≈ 1.061
    # in-sample group 0: n* = 0 (√2); out of sample it is worst: rank 1, ω = 1/3, λ = log(1/2)
    # in-sample group 1: n* = 1 (1.061); out of sample 1/√2 < √2, worst again: λ = log(1/2)
    result = probability_of_backtest_overfitting(performance, groups=2)
    assert result.combinations == 2 and result.pbo == 1.0
    np.testing.assert_array_equal(result.selected, [0, 1])
    np.testing.assert_allclose(result.logits, [-np.log(2.0), -np.log(2.0)])
    np.testing.assert_allclose(result.in_sample_best_out_of_sample, [0.0, 1.0 / np.sqrt(2.0)])
    # slope through (√2, 0) and (3√2/4, 1/√2): (√2/2) / (-√2/4) = -2
    assert result.performance_degradation_slope == pytest.approx(-2.0)


def test_landing_on_the_median_counts_as_overfit():
    performance = np.array([[1.0, 0.0, -1.0], [3.0, 2.0, 1.0], [-1.0, 1.0, 0.0], [1.0, 3.0, 2.0]])
    # Sharpe ratios    group 0    group 1
    #   config 0       √2         0
    #   config 1       1/√2       √2
    #   config 2       0          1/√2
    # in-sample group 0: n* = 0, out of sample last of 3: ω = 1/4, λ = log(1/3)
    # in-sample group 1: n* = 1, out of sample the median: ω = 2/4, λ = 0, counted (λ <= 0)
    result = probability_of_backtest_overfitting(performance, groups=2)
    np.testing.assert_allclose(result.logits, [-np.log(3.0), 0.0])
    assert result.logits[1] == 0.0 and result.pbo == 1.0


def test_tied_configurations_share_their_average_rank():
    column = np.random.default_rng(2).normal(size=40)
    result = probability_of_backtest_overfitting(np.column_stack([column, column]), groups=4)
    # n* is the first of the two tied; out of sample they tie: rank (1 + 2) / 2, ω = 1.5 / 3, λ = 0
    assert (result.selected == 0).all()
    np.testing.assert_array_equal(result.logits, np.zeros(6))


@pytest.mark.parametrize(("groups", "combinations"), [(2, 2), (4, 6), (8, 70), (16, 12_870)])
def test_every_half_of_the_groups_is_tried_once(groups, combinations):
    performance = np.random.default_rng(3).normal(size=(64, 3))
    result = probability_of_backtest_overfitting(performance, groups=groups)
    assert result.combinations == combinations
    assert result.logits.shape == result.selected.shape == (combinations,)


def test_the_oldest_rows_that_fill_no_group_are_dropped():
    performance = np.random.default_rng(4).normal(size=(41, 3))  # 41 = 4 groups of 10 and 1 row
    performance[0] = [1e6, -1e6, 0.0]  # would swamp every metric if it were used
    kept = probability_of_backtest_overfitting(performance[1:], groups=4)
    result = probability_of_backtest_overfitting(performance, groups=4)
    np.testing.assert_array_equal(result.logits, kept.logits)
    np.testing.assert_array_equal(result.selected, kept.selected)


def test_the_default_sharpe_ratio_agrees_with_computing_each_half_directly():
    performance = np.random.default_rng(5).normal(0.001, 0.02, size=(203, 6))
    fast = probability_of_backtest_overfitting(performance, groups=6)
    direct = probability_of_backtest_overfitting(performance, groups=6, metric=per_bar_sharpe)
    np.testing.assert_array_equal(fast.selected, direct.selected)
    np.testing.assert_allclose(fast.logits, direct.logits)
    np.testing.assert_allclose(fast.in_sample_best_out_of_sample, direct.in_sample_best_out_of_sample)
    assert fast.pbo == direct.pbo


def test_a_custom_metric_does_the_choosing():
    performance = np.array([[1.0, 0.0], [3.0, 2.0], [-1.0, 1.0], [1.0, 5.0]])
    # means: config 0 is 2 then 0, config 1 is 1 then 3; n* = 0 then 1, each worst out of sample
    result = probability_of_backtest_overfitting(performance, groups=2, metric=lambda half: half.mean(axis=0))
    np.testing.assert_allclose(result.in_sample_best_out_of_sample, [0.0, 1.0])
    assert result.performance_degradation_slope == pytest.approx(1.0)  # through (2, 0) and (3, 1)


@pytest.mark.parametrize(
    ("performance", "groups", "message"),
    [
        (np.zeros(40), 4, "performance must be a 2-D"),
        (np.ones((40, 1)), 4, r"at least 2 configurations \(columns\) to rank, got 1"),
        (np.full((40, 3), np.nan), 4, "performance must be finite"),
        (None, 3, "groups must be an even integer of at least 2, got 3"),
        (None, 0, "groups must be an even integer"),
        (None, 4.0, "groups must be an even integer"),
        (None, 32, "groups=32 leaves 1 rows per group from T=40"),
    ],
)
def test_malformed_arguments_are_named(performance, groups, message):
    if performance is None:
        performance = np.random.default_rng(6).normal(size=(40, 3))
    with pytest.raises(ValueError, match=message):
        probability_of_backtest_overfitting(performance, groups=groups)


def test_a_metric_must_score_every_configuration():
    performance = np.random.default_rng(7).normal(size=(40, 3))
    with pytest.raises(
        ValueError, match=r"metric must map a \(t, N\) array to \(N,\) scores, got shape \(\)"
    ):
        probability_of_backtest_overfitting(performance, groups=4, metric=lambda half: half.mean())


def test_a_constant_configuration_has_no_sharpe_ratio():
    performance = np.random.default_rng(8).normal(size=(40, 3))
    performance[:, 1] = 0.0  # e.g. always in cash: 0 / 0
    with pytest.raises(ValueError, match=r"configurations \[1\] on some in-sample half"):
        probability_of_backtest_overfitting(performance, groups=4)


def test_a_rescaled_copy_ties_with_its_original_as_an_exact_copy_does():
    returns = np.random.default_rng(5).standard_t(4, size=(320, 5)) * 0.02
    copied, rescaled = returns.copy(), returns.copy()
    copied[:, 4] = returns[:, 1]
    rescaled[:, 4] = 3.0 * returns[:, 1]  # the same Sharpe ratio, computed through other rounding
    for metric in (None, lambda half: half.mean(axis=0) / half.std(axis=0, ddof=1)):
        exact = probability_of_backtest_overfitting(copied, groups=8, metric=metric)
        noisy = probability_of_backtest_overfitting(rescaled, groups=8, metric=metric)
        np.testing.assert_array_equal(noisy.logits, exact.logits)
        np.testing.assert_array_equal(noisy.selected, exact.selected)
