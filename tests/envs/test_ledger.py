"""The ledger: exact fees, value conservation and drift."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from cryptofolio.envs import ledger_step, rebalance_factor
from tests.strategies import simplex

N_MAX = 12


@st.composite
def trades(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, float]:
    n = draw(st.integers(2, N_MAX))
    return draw(simplex(n)), draw(simplex(n)), draw(st.floats(0.0, 0.05))


def residual(mu: float, drifted: np.ndarray, target: np.ndarray, c: float) -> float:
    return mu - 1.0 + c * np.abs(mu * target[1:] - drifted[1:]).sum()


def test_buying_from_cash_costs_the_closed_form():
    # All buys: mu = 1 - c * mu * (risky share) => mu = 1 / (1 + c * 0.8)
    mu = rebalance_factor(np.array([1.0, 0.0, 0.0]), np.array([0.2, 0.5, 0.3]), 0.001)
    assert mu == pytest.approx(1.0 / 1.0008, abs=1e-15)


def test_selling_to_cash_costs_the_closed_form():
    # All sells: mu = 1 - c * (0.8 - 0.4 * mu) => mu = (1 - 0.8 c) / (1 - 0.4 c)
    mu = rebalance_factor(np.array([0.2, 0.5, 0.3]), np.array([0.6, 0.2, 0.2]), 0.002)
    assert mu == pytest.approx((1 - 0.8 * 0.002) / (1 - 0.4 * 0.002), abs=1e-15)


def test_mixed_trade_with_a_kink_is_solved_exactly():
    # Asset 1 is bought, asset 2 sold: mu = 1 - c * ((0.7 mu - 0.3) + (0.5 - 0.3 mu)),
    # so mu = (1 - 0.2 c) / (1 + 0.4 c)
    mu = rebalance_factor(np.array([0.2, 0.3, 0.5]), np.array([0.0, 0.7, 0.3]), 0.01)
    assert mu == pytest.approx((1 - 0.2 * 0.01) / (1 + 0.4 * 0.01), abs=1e-15)


def test_ledger_step_drifts_weights_with_prices():
    fees, turnover, value, drifted = ledger_step(
        100.0, np.array([0.5, 0.5]), np.array([0.5, 0.5]), np.array([1.0, 2.0]), 0.001
    )
    assert fees == 0.0 and turnover == 0.0
    assert value == pytest.approx(150.0, abs=1e-12)
    np.testing.assert_allclose(drifted, [1 / 3, 2 / 3], atol=1e-15)


@given(trades())
def test_mu_solves_the_cost_equation_to_machine_precision(trade):
    drifted, target, c = trade
    mu = rebalance_factor(drifted, target, c)
    assert abs(residual(mu, drifted, target, c)) <= 1e-15
    reference = brentq(residual, 1e-9, 1.0 + 1e-12, args=(drifted, target, c), xtol=1e-16, rtol=1e-15)
    assert mu == pytest.approx(reference, abs=2e-15)


@given(trades())
def test_mu_is_in_zero_one(trade):
    mu = rebalance_factor(*trade)
    assert 0.0 < mu <= 1.0


@given(trades(), st.floats(1e-3, 1e6))
def test_value_is_conserved_through_a_trade(trade, value):
    drifted, target, c = trade
    fees, turnover, _, _ = ledger_step(value, drifted, target, np.ones_like(target), c)
    value_after = rebalance_factor(drifted, target, c) * value
    assert value_after + fees == pytest.approx(value, rel=1e-12)
    assert fees == pytest.approx(c * turnover * value, rel=1e-12)


@given(trades(), st.data())
def test_weights_stay_on_the_simplex_after_drift(trade, data):
    drifted, target, c = trade
    relatives = np.array(
        data.draw(st.lists(st.floats(0.01, 10.0), min_size=len(target), max_size=len(target)))
    )
    _, _, value, next_drifted = ledger_step(1.0, drifted, target, relatives, c)
    assert np.all(next_drifted >= 0.0)
    assert next_drifted.sum() == pytest.approx(1.0, abs=1e-12)
    holdings = rebalance_factor(drifted, target, c) * target * relatives  # value of each position at t+1
    assert value == pytest.approx(holdings.sum(), rel=1e-12)
    np.testing.assert_allclose(next_drifted, holdings / holdings.sum(), atol=1e-12)


@given(trades())
def test_zero_fee_means_zero_cost(trade):
    drifted, target, _ = trade
    fees, _, value, _ = ledger_step(1.0, drifted, target, np.ones_like(target), 0.0)
    assert fees == 0.0
    assert value == pytest.approx(1.0, abs=1e-15)


@given(trades())
def test_no_trade_costs_nothing(trade):
    drifted, _, c = trade
    fees, turnover, _, _ = ledger_step(1.0, drifted, drifted.copy(), np.ones_like(drifted), c)
    assert fees == 0.0 and turnover == 0.0


@settings(max_examples=50)
@given(trades(), st.lists(st.floats(0.0, 1.0), min_size=2, max_size=6))
def test_cost_grows_with_turnover(trade, fractions):
    drifted, target, c = trade
    results = []
    for lam in sorted(fractions):  # trade a growing share of the way from drifted to target
        partial = (1 - lam) * drifted + lam * target
        fees, turnover, _, _ = ledger_step(1.0, drifted, partial, np.ones_like(target), c)
        results.append((turnover, fees))
    turnovers, fees = np.array(results).T
    assert np.all(np.diff(turnovers) >= -1e-15)
    assert np.all(np.diff(fees) >= -1e-15)
