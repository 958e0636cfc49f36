"""Every baseline: named specs, weights on the simplex, late listings, and no look-ahead."""

from dataclasses import replace

import numpy as np
import pytest

from cryptofolio.agents import BASELINES, make_baseline
from cryptofolio.envs import PortfolioEnv, Splits, synthetic_market
from cryptofolio.evaluation.backtest import run_backtest

LISTING = 400


@pytest.fixture(scope="module")
def late_market():
    """Two years of synthetic prices; SOL lists at bar 400, inside the validation split."""
    market = synthetic_market(seed=8, n_bars=730, symbols=["BTC", "ETH", "SOL", "LINK", "AAVE"])
    close, available = market.close.copy(), market.available.copy()
    column = market.column("SOL")
    close[:LISTING, column], available[:LISTING, column] = np.nan, False
    return replace(market, close=close, available=available)


SPLITS = Splits(train=range(0, 365), validation=range(365, 560), test=range(560, 730))


@pytest.fixture(scope="module", params=list(BASELINES))
def run(request, late_market):
    env = PortfolioEnv(late_market, split="validation", splits=SPLITS, window=30)
    return make_baseline(request.param), run_backtest(make_baseline(request.param), env)


def test_weights_sum_to_one_and_stay_non_negative(run):
    _, result = run
    for weights in (result.weights_before, result.weights_after):
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-12)
        assert weights.min() >= 0.0


def test_nothing_is_held_before_a_listing(run, late_market):
    _, result = run
    before = result.timestamps < late_market.timestamps[LISTING]
    assert before.sum() > 20
    assert result.weights_after[before, late_market.column("SOL")].max() == 0.0


def test_changing_the_future_changes_nothing_before_it(run, late_market):
    rule, result = run
    t = LISTING + 50
    rng = np.random.default_rng(0)
    close = late_market.close.copy()
    close[t + 1 :, 1:] *= rng.uniform(0.3, 3.0, size=close[t + 1 :, 1:].shape)
    env = PortfolioEnv(replace(late_market, close=close), split="validation", splits=SPLITS, window=30)
    changed = run_backtest(make_baseline(rule.name), env)
    upto = np.flatnonzero(result.timestamps <= late_market.timestamps[t])
    np.testing.assert_array_equal(result.weights_after[upto], changed.weights_after[upto])
    np.testing.assert_array_equal(result.values[upto], changed.values[upto])


def test_specs_carry_options_and_name_the_result():
    rule = make_baseline("moderate:calendar=weekly,adaptive_band=false")
    assert (rule.calendar, rule.adaptive_band, rule.name) == (
        "weekly",
        False,
        "moderate_calendar_weekly_adaptive_band_false",
    )
    assert make_baseline("equal_weight:calendar=weekly").calendar == "weekly"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("moderat", "unknown baseline 'moderat'; choose from conservative, moderate"),
        ("moderate:bandwidth=0.1", "moderate has no option bandwidth; options: adaptive_band, band"),
        ("moderate:band", "must be key=value"),
        ("cash:calendar=weekly", "cash has no option calendar"),
    ],
)
def test_bad_specs_are_named(spec, message):
    with pytest.raises(ValueError, match=message):
        make_baseline(spec)
