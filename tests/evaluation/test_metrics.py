"""Metrics against numbers computed by hand."""

import math

import numpy as np
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
    assert metrics.max_drawdown_duration(values) == 3  # bars 2-4 below 120; bar 6 below 125
    np.testing.assert_allclose(metrics.drawdowns(values)[:3], [0, 0, 0.25])


def test_calmar_ratio():
    assert metrics.calmar_ratio(VALUES, 365) == pytest.approx(metrics.cagr(VALUES, 365) / 0.1, rel=1e-12)


def test_turnover_and_time_invested():
    assert metrics.annualized_turnover(np.array([1.0, 0.0, 0.0, 0.2]), 365) == pytest.approx(0.3 * 365)
    weights = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0], [1.0, 0.0]])
    assert metrics.time_invested(weights) == 0.5
