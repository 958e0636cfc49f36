"""Block-bootstrap resamples: every step is a real step of the period, in blocks, all assets together."""

import numpy as np
import pytest

from cryptofolio.envs import DataError, synthetic_market
from cryptofolio.envs.resample import block_bootstrap
from tests.helpers import build_market


@pytest.fixture(scope="module")
def market():
    return synthetic_market(seed=4, n_bars=300)


def test_each_step_is_a_step_of_the_period_for_all_assets_at_once(market):
    bars = range(100, 200)
    resample, splits = block_bootstrap(market, bars, block=10, n_bars=500, seed=0)
    original = market.close[101:200] / market.close[100:199]  # the 99 steps inside the period
    steps = resample.close[1:] / resample.close[:-1]
    sources = [np.flatnonzero(np.all(np.isclose(original, step, rtol=1e-12), axis=1)) for step in steps]
    assert all(len(s) >= 1 for s in sources)  # every asset's relative from the same original bar
    first = [s[0] for s in sources]
    within = [first[i + 1] - first[i] == 1 for i in range(len(first) - 1) if (i + 1) % 10]
    assert all(within)  # consecutive inside each block of 10
    np.testing.assert_array_equal(resample.close[0], market.close[100])
    assert splits.train == range(0, 496) and resample.n_bars == 500


def test_a_seed_gives_one_resample(market):
    a, _ = block_bootstrap(market, range(0, 200), block=20, n_bars=300, seed=1)
    b, _ = block_bootstrap(market, range(0, 200), block=20, n_bars=300, seed=1)
    c, _ = block_bootstrap(market, range(0, 200), block=20, n_bars=300, seed=2)
    np.testing.assert_array_equal(a.close, b.close)
    assert not np.array_equal(a.close, c.close)


def test_late_listings_resample_from_the_last_listing_and_later_ones_stay_unlisted():
    btc, arb = list(np.linspace(1, 2, 60)), [np.nan] * 20 + list(np.linspace(1, 2, 40))
    late = build_market({"BTC": btc, "ARB": arb, "OP": [np.nan] * 55 + [1.0] * 5})
    resample, _ = block_bootstrap(late, range(0, 50), block=5, n_bars=100, seed=0)
    np.testing.assert_array_equal(resample.available.all(axis=0), [True, True, True, False])
    assert resample.timestamps[0] == late.timestamps[20] and np.isnan(resample.close[:, 3]).all()
    steps = resample.close[1:, 1:3] / resample.close[:-1, 1:3]
    original = late.close[21:50, 1:3] / late.close[20:49, 1:3]  # BTC from ARB's listing on
    assert all(np.isclose(original, step, rtol=1e-12).all(axis=1).any() for step in steps)
    with pytest.raises(DataError, match=r"block must be between 1 and 29 bars, got 30: .* from 2024-01-21"):
        block_bootstrap(late, range(0, 50), block=30, n_bars=100, seed=0)


def test_an_asset_listed_too_recently_stays_unlisted_instead_of_shortening_the_draws():
    btc, arb = list(np.linspace(1, 2, 60)), [np.nan] * 20 + list(np.linspace(1, 2, 40))
    late = build_market({"BTC": btc, "ARB": arb})  # ARB trades the last 30 of bars 0..49
    kept, _ = block_bootstrap(late, range(0, 50), block=5, n_bars=100, seed=0, min_history=30)
    assert kept.available.all(axis=0).tolist() == [True, True, True]
    assert kept.timestamps[0] == late.timestamps[20]
    dropped, _ = block_bootstrap(late, range(0, 50), block=5, n_bars=100, seed=0, min_history=31)
    assert dropped.available.all(axis=0).tolist() == [True, True, False]
    assert dropped.timestamps[0] == late.timestamps[0] and np.isnan(dropped.close[:, 2]).all()
    steps = dropped.close[1:, 1] / dropped.close[:-1, 1]
    assert (steps > late.close[21, 1] / late.close[20, 1]).any()  # BTC drawn from before ARB listed too


def test_assets_trading_from_the_first_bar_are_resampled_whatever_the_history():
    market = synthetic_market(seed=4, n_bars=300)
    resample, _ = block_bootstrap(market, range(0, 100), block=10, n_bars=200, seed=0, min_history=365)
    assert resample.available.all()
