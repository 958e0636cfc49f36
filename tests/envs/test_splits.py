"""Chronological splits by date or by fraction."""

import pytest

from cryptofolio.envs import Splits, split_by_dates, split_by_fractions
from cryptofolio.envs.errors import DataError
from tests.helpers import build_market


def test_date_splits_include_whole_end_days_of_hourly_bars():
    market = build_market({"BTC": [1.0] * 72}, freq="1h")
    splits = split_by_dates(
        market,
        train=("2024-01-01", "2024-01-01"),
        validation=("2024-01-02", "2024-01-02"),
        test=("2024-01-03", "2024-01-03"),
    )
    assert (
        splits.train == range(0, 24) and splits.validation == range(24, 48) and splits.test == range(48, 72)
    )
    assert splits.dates(market)["test"] == ("2024-01-03T00:00:00+00:00", "2024-01-03T23:00:00+00:00")


def test_date_splits_may_leave_gaps_between_them():
    market = build_market({"BTC": [1.0] * 30})
    splits = split_by_dates(
        market,
        train=("2024-01-01", "2024-01-10"),
        validation=("2024-01-15", "2024-01-20"),
        test=("2024-01-25", "2024-01-30"),
    )
    assert splits.validation == range(14, 20) and splits.test == range(24, 30)


def test_an_empty_date_split_is_named():
    market = build_market({"BTC": [1.0] * 30})
    with pytest.raises(ValueError, match=r"split 'train' from 2024-01-05 06:00 to 2024-01-05 18:00 holds 0"):
        split_by_dates(
            market,
            train=("2024-01-05 06:00", "2024-01-05 18:00"),
            validation=("2024-01-11", "2024-01-20"),
            test=("2024-01-21", "2024-01-30"),
        )


def test_a_split_before_the_markets_first_bar_is_refused_not_cut():
    market = build_market({"BTC": [1.0] * 30})  # daily bars from 2024-01-01 to 2024-01-30
    with pytest.raises(DataError, match=r"split 'train' from 1990-01-01 .* starts before the market's first"):
        split_by_dates(
            market,
            train=("1990-01-01", "2024-01-10"),
            validation=("2024-01-11", "2024-01-20"),
            test=("2024-01-21", "2024-01-30"),
        )


@pytest.mark.parametrize("end", ["2024-01-31", "2025-02-01", "2024-01-30 01:00"])
def test_a_split_past_the_markets_last_bar_is_refused_not_cut(end):
    market = build_market({"BTC": [1.0] * 30})  # daily bars from 2024-01-01 to 2024-01-30
    with pytest.raises(
        DataError, match=r"split 'test' from 2024-01-21 to .* ends after the market's last bar, 2024-01-30"
    ):
        split_by_dates(
            market,
            train=("2024-01-01", "2024-01-10"),
            validation=("2024-01-11", "2024-01-20"),
            test=("2024-01-21", end),
        )
    last_day = split_by_dates(
        market,
        train=("2024-01-01", "2024-01-10"),
        validation=("2024-01-11", "2024-01-20"),
        test=("2024-01-21", "2024-01-30"),
    )
    assert last_day.test == range(20, 30)


def test_overlapping_splits_are_refused():
    with pytest.raises(ValueError, match=r"split 'validation' .* must start after split 'train' ends"):
        Splits(train=range(0, 10), validation=range(5, 15), test=range(15, 20))


def test_fraction_splits_are_consecutive_with_the_requested_gap():
    market = build_market({"BTC": [1.0] * 104})
    splits = split_by_fractions(market, (0.5, 0.25, 0.25), gap=2)
    assert (
        splits.train == range(0, 50) and splits.validation == range(52, 77) and splits.test == range(79, 104)
    )


def test_unknown_split_names_are_refused():
    splits = Splits(train=range(0, 10), validation=range(10, 15), test=range(15, 20))
    with pytest.raises(KeyError, match="unknown split 'val'"):
        splits["val"]
