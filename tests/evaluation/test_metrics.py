"""Metrics against numbers computed by hand."""

import math

import numpy as np
import pandas as pd
import pytest

from cryptofolio.evaluation import metrics

# Values 100 -> 110 -> 99 -> 108.9: returns +10%, -10%, +10%.
VALUES = np.array([100.0, 110.0, 99.0, 108.9])
RETURNS = np.array([0.1, -0.1, 0.1])
MEAN, STD = 0.1 / 3, math.sqrt(((0.1 - 0.1 / 3) ** 2 * 2 + (-0.1 - 0.1 / 3) ** 2) / 2)


def test_simple_returns():
    np.testing.assert_allclose(metrics.simple_returns(VALUES), RETURNS, atol=1e-15)


def test_total_return_and_cagr():
    assert metrics.total_return(VALUES) == pytest.approx(0.089, abs=1e-12)
    # three daily steps: 1.089 ** (365 / 3) - 1
    assert metrics.cagr(VALUES, 365) == pytest.approx(1.089 ** (365 / 3) - 1, rel=1e-12)
    assert metrics.cagr(np.array([1.0, 2.0]), 1) == pytest.approx(1.0)  # one step of one year doubles


def test_volatility_uses_the_frequency_not_252():
    assert metrics.annualized_volatility(VALUES, 365) == pytest.approx(STD * math.sqrt(365), rel=1e-12)
    assert metrics.annualized_volatility(VALUES, 8760) == pytest.approx(STD * math.sqrt(8760), rel=1e-12)


def test_sharpe_ratio():
    assert metrics.sharpe_ratio(VALUES, 365) == pytest.approx(MEAN / STD * math.sqrt(365), rel=1e-12)
    per_bar = 1.05 ** (1 / 365) - 1
    expected = (MEAN - per_bar) / STD * math.sqrt(365)
    assert metrics.sharpe_ratio(VALUES, 365, risk_free_rate=0.05) == pytest.approx(expected, rel=1e-12)


def test_sortino_ratio_counts_only_the_downside():
    downside = math.sqrt(0.1**2 / 3)  # one of three returns is below zero
    assert metrics.sortino_ratio(VALUES, 365) == pytest.approx(MEAN / downside * math.sqrt(365), rel=1e-12)


def test_ratios_of_a_flat_series_are_undefined():
    flat = np.ones(10)
    assert math.isnan(metrics.sharpe_ratio(flat, 365))
    assert math.isnan(metrics.sortino_ratio(flat, 365))
    assert math.isnan(metrics.calmar_ratio(flat, 365))


def test_max_drawdown_and_its_duration():
    values = np.array([100, 120, 90, 100, 110, 125, 100, 130])
    assert metrics.max_drawdown(values) == pytest.approx(0.25)  # 120 -> 90
    assert metrics.longest_underwater(values) == 3  # bars 2-4 below 120; bar 6 below 125
    assert metrics.max_drawdown_span(values) == 3  # the deepest fall is that stretch
    np.testing.assert_allclose(metrics.drawdowns(values)[:3], [0, 0, 0.25])


def test_the_maximum_drawdowns_span_is_not_the_longest_time_under_water():
    values = np.array([100, 95, 94, 93, 92, 100, 60, 100, 99])  # a long shallow fall, a short deep one
    assert metrics.max_drawdown(values) == pytest.approx(0.4)
    assert metrics.longest_underwater(values) == 4  # bars 1-4 below 100
    assert metrics.max_drawdown_span(values) == 1  # bar 6, recovered at bar 7
    assert metrics.max_drawdown_span(np.array([100, 120, 60, 70])) == 2  # never recovered: to the end
    assert metrics.max_drawdown_span(np.array([1.0, 2.0, 3.0])) == metrics.longest_underwater([1, 2]) == 0


def test_calmar_ratio():
    assert metrics.calmar_ratio(VALUES, 365) == pytest.approx(metrics.cagr(VALUES, 365) / 0.1, rel=1e-12)


def test_turnover_and_time_invested():
    assert metrics.annualized_turnover(np.array([1.0, 0.0, 0.0, 0.2]), 365) == pytest.approx(0.3 * 365)
    weights = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0], [1.0, 0.0]])
    assert metrics.time_invested(weights) == 0.5


def test_mean_exposure_is_one_minus_the_mean_cash_weight():
    weights = np.array([[1.0, 0.0, 0.0], [0.4, 0.3, 0.3], [0.1, 0.9, 0.0]])
    assert metrics.mean_exposure(weights) == pytest.approx(0.5, abs=1e-15)  # 1 - (1 + 0.4 + 0.1) / 3


def _daily(values, first):
    return np.asarray(values, dtype=float), pd.date_range(first, periods=len(values), freq="D", tz="UTC")


def test_worst_drawdowns_have_peak_trough_recovery_and_depth():
    values, stamps = _daily([100, 120, 90, 100, 110, 125, 100, 130], "2024-01-30")
    table = metrics.worst_drawdowns(values, stamps)
    # 120 (Jan 31) -> 90 (Feb 1) -> 125 (Feb 4): 25% deep, 4 days
    # 125 (Feb 4) -> 100 (Feb 5) -> 130 (Feb 6): 20% deep, 2 days
    assert table["drawdown"].tolist() == pytest.approx([0.25, 0.2])
    assert [d.strftime("%m-%d") for d in table["peak"]] == ["01-31", "02-04"]
    assert [d.strftime("%m-%d") for d in table["trough"]] == ["02-01", "02-05"]
    assert [d.strftime("%m-%d") for d in table["recovery"]] == ["02-04", "02-06"]
    assert table["days"].tolist() == [4.0, 2.0]
    assert len(metrics.worst_drawdowns(values, stamps, count=1)) == 1


def test_an_unrecovered_drawdown_runs_to_the_last_bar():
    values, stamps = _daily([100, 80, 90], "2024-03-01")
    (row,) = metrics.worst_drawdowns(values, stamps).itertuples()
    assert row.drawdown == pytest.approx(0.2) and pd.isna(row.recovery) and row.days == 2.0


def test_drawdown_days_are_calendar_days_on_hourly_bars():
    stamps = pd.date_range("2024-03-01", periods=4, freq="h", tz="UTC")
    table = metrics.worst_drawdowns(np.array([100.0, 90.0, 95.0, 100.0]), stamps)
    assert table.loc[0, "days"] == pytest.approx(3 / 24)  # peak at 00:00, back at 03:00


def test_a_series_that_never_falls_has_no_drawdowns():
    assert metrics.worst_drawdowns(*_daily([1, 2, 3], "2024-01-01")).empty


# Twenty daily returns: -10%, -5% and eighteen of +1%.
TAIL = np.array([-0.10, -0.05, *[0.01] * 18])


def test_historical_var_and_cvar_per_bar():
    values = 100 * np.concatenate([[1.0], np.cumprod(1 + TAIL)])
    # the 5% quantile lies 0.95 of the way from -10% to -5%: -0.1 + 0.95 * 0.05 = -5.25%
    assert metrics.historical_var(values) == pytest.approx(0.0525)
    assert metrics.historical_cvar(values) == pytest.approx(0.10)  # the worst 5% of 20 bars: -10%
    # at 90%: 1.9 of the way along, between -5% and +1%: -0.05 + 0.9 * 0.06 = +0.4%, a gain
    assert metrics.historical_var(values, level=0.90) == pytest.approx(-0.004)
    assert metrics.historical_cvar(values, level=0.90) == pytest.approx(0.075)  # the worst two: -10%, -5%


def test_expected_shortfall_is_the_mean_of_the_worst_five_percent_of_bars_however_many_are_flat():
    returns = np.zeros(1000)
    returns[::50] = -0.01  # 20 losing bars of 1%: 2% of the bars, the others flat (a cash-heavy policy)
    values = np.concatenate([[1.0], np.cumprod(1 + returns)])
    assert metrics.historical_cvar(values) == pytest.approx(
        0.2 / 50
    )  # 20 losses and 30 flat bars of the worst 50
    odd = np.concatenate([[1.0], np.cumprod(1 + np.array([-0.1, -0.05, *[0.01] * 28]))])  # 30 bars: a = 1.5
    assert metrics.historical_cvar(odd) == pytest.approx((0.1 + 0.5 * 0.05) / 1.5)


def test_a_flat_series_risks_nothing():
    flat = np.ones(10)
    assert str(metrics.historical_var(flat)) == str(metrics.historical_cvar(flat)) == "0.0"  # not -0.0


def test_monthly_returns_compound_each_calendar_month():
    values, stamps = _daily([100, 110, 99, 108.9], "2023-12-30")  # Dec 30, Dec 31, Jan 1, Jan 2
    table = metrics.monthly_returns(values, stamps)
    assert table.index.tolist() == [2023, 2024]
    assert table.loc[2023, "Dec"] == pytest.approx(0.10)  # 100 -> 110
    assert table.loc[2024, "Jan"] == pytest.approx(108.9 / 110 - 1)  # from December's last value
    assert table.loc[2023, "Total"] == pytest.approx(0.10)
    assert table.loc[2024, "Total"] == pytest.approx(-0.01)
    assert table.drop(columns=["Dec", "Total"]).loc[2023].isna().all()
    assert list(table.columns) == [*metrics.MONTHS, "Total"]


def test_weight_distance_and_equal_weights_by_hand():
    a = np.array([[1.0, 0.0, 0.0], [0.2, 0.4, 0.4]])
    b = np.array([[0.0, 0.5, 0.5], [0.2, 0.4, 0.4]])
    assert metrics.weight_distance(a, b) == pytest.approx(0.5, abs=1e-15)  # (1 + 0) / 2
    available = np.array([[True, True, False], [True, True, True], [True, False, False]])
    np.testing.assert_array_equal(
        metrics.equal_weight_path(available), [[0.0, 1.0, 0.0], [0.0, 0.5, 0.5], [1.0, 0.0, 0.0]]
    )
