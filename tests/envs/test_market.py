"""MarketData keeps its invariants: a regular UTC grid, cash first, prices exactly where listed."""

import pickle
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from cryptofolio.envs import DataError
from tests.helpers import build_market


def test_periods_per_year_follow_the_bar_length():
    assert build_market({"BTC": [1, 2, 3]}).periods_per_year == 365
    assert build_market({"BTC": [1, 2, 3]}, freq="1h").periods_per_year == 8760


def test_arrays_are_read_only():
    market = build_market({"BTC": [1, 2, 3]})
    with pytest.raises(ValueError, match="read-only"):
        market.close[0, 1] = 5.0


def test_bar_at_finds_exact_bars_and_names_the_range_otherwise():
    market = build_market({"BTC": [1, 2, 3]})
    assert market.bar_at("2024-01-02") == 1
    with pytest.raises(DataError, match="no bar at 2024-02-01"):
        market.bar_at("2024-02-01")


def test_an_irregular_grid_is_refused():
    market = build_market({"BTC": [1, 2, 3]})
    stamps = market.timestamps.delete(1).append(
        pd.DatetimeIndex([market.timestamps[-1] + pd.Timedelta(days=1)])
    )
    with pytest.raises(ValueError, match="not a regular"):
        replace(market, timestamps=stamps)


def test_a_price_where_an_asset_is_not_listed_is_refused():
    market = build_market({"BTC": [np.nan, 2, 3]})
    available = market.available.copy()
    available[0, 1] = True
    with pytest.raises(ValueError, match="finite and positive wherever an asset is available"):
        replace(market, available=available)


def test_a_delisting_is_kept_and_a_relisting_refused():
    market = build_market({"BTC": [1, 2, 3], "LUNA": [5, 4, np.nan]})
    assert market.delisted == {"LUNA": 1} and market.n_bars == 3
    with pytest.raises(ValueError, match="BTC has prices again after its last one"):
        build_market({"BTC": [1, np.nan, 3]})


def test_unknown_symbols_are_named():
    with pytest.raises(KeyError, match="unknown symbol 'DOGE'; this market has USDT, BTC"):
        build_market({"BTC": [1, 2]}).column("DOGE")


def test_a_view_ends_at_its_bar():
    market = build_market({"BTC": [1.0, 2.0, 4.0, 8.0], "LATE": [np.nan, np.nan, 1.0, 1.0]})
    view = market.view(2)
    assert view.t == 2 and view.now == market.timestamps[2]
    assert view.close.shape == (3, 3) and len(view.timestamps) == 3
    np.testing.assert_array_equal(view.listed, [True, True, True])
    np.testing.assert_allclose(view.log_returns(5)[:, 1], np.log([2.0, 2.0]))
    assert np.isnan(view.log_returns(5)[0, 2])  # LATE had no price before bar 2
    with pytest.raises(ValueError, match="read-only"):
        view.close[0, 1] = 3.0
    with pytest.raises(IndexError, match="bar 4 is outside"):
        market.view(4)


def test_a_market_pickles_and_keeps_its_fingerprint():
    market = build_market({"BTC": [1.0, 2.0, 4.0], "LATE": [np.nan, 1.0, 1.0]})
    copy = pickle.loads(pickle.dumps(market))
    assert copy.fingerprint() == market.fingerprint()
    np.testing.assert_array_equal(copy.close, market.close)
    assert not copy.close.flags.writeable


def test_the_fingerprint_changes_with_any_price():
    market = build_market({"BTC": [1.0, 2.0, 4.0]})
    close = market.close.copy()
    close[1, 1] = 2.0000001
    assert replace(market, close=close).fingerprint() != market.fingerprint()
