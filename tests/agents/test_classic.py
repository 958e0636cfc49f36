"""Classic allocations: each does what its name says."""

import numpy as np
import pytest

from cryptofolio.agents import (
    BtcOnly,
    BuyAndHold,
    Cash,
    EqualWeight,
    InverseVolatility,
    MinVariance,
    Olmar,
    RiskParity,
)
from cryptofolio.agents.classic import project_to_simplex, shrunk_covariance
from cryptofolio.envs import PortfolioEnv, synthetic_market
from cryptofolio.evaluation.backtest import run_backtest
from tests.helpers import build_market


@pytest.fixture(scope="module")
def env() -> PortfolioEnv:
    return PortfolioEnv(synthetic_market(seed=3, n_bars=700), split="test", window=30)


def test_buy_and_hold_never_trades_after_the_first_bar(env):
    result = run_backtest(BuyAndHold(), env)
    assert result.turnover[0] > 0.9
    assert result.turnover[1:].max() < 1e-12
    np.testing.assert_allclose(result.weights_after[0, 1:], 1 / env.market.n_assets, atol=1e-12)


def test_cash_never_changes_value(env):
    result = run_backtest(Cash(), env)
    np.testing.assert_array_equal(result.values, 1.0)
    assert result.fees.sum() == 0.0


def test_btc_only_holds_only_btc(env):
    result = run_backtest(BtcOnly(), env)
    btc = env.symbols.index("BTC")
    np.testing.assert_allclose(result.weights_after[:, btc], 1.0, atol=1e-12)


def test_btc_only_needs_btc():
    market = build_market({"ETH": [1.0] * 40})
    with pytest.raises(ValueError, match="btc_only needs BTC"):
        BtcOnly().target_weights(market.view(39), np.eye(2)[0], first=True)


def test_equal_weight_rebalances_only_at_month_starts(env):
    result = run_backtest(EqualWeight(), env)
    traded = result.timestamps[result.turnover > 1e-12]
    assert traded[0] == result.timestamps[0]
    assert all(t.day == 1 for t in traded[1:]) and len(traded) > 3


def alternating(amplitudes: list[float], n: int = 120) -> dict[str, list[float]]:
    """Assets whose log returns alternate +a, -a: their volatility is exactly a (ddof=0)."""
    signs = np.tile([1.0, -1.0], n // 2)
    return {f"A{i}": list(100 * np.exp(np.r_[0, np.cumsum(a * signs)])) for i, a in enumerate(amplitudes)}


def test_inverse_volatility_weights_are_proportional_to_one_over_volatility():
    view = build_market(alternating([0.01, 0.02, 0.04])).view(120)
    weights = InverseVolatility().allocate(view)
    np.testing.assert_allclose(weights[1:], np.array([4, 2, 1]) / 7, atol=1e-3)


def test_risk_parity_equalizes_risk_contributions():
    returns = np.random.default_rng(0).multivariate_normal(
        [0, 0, 0], [[4, 1, 0], [1, 1, 0.2], [0, 0.2, 0.25]], 90
    )
    weights = RiskParity().solve(returns)
    cov = shrunk_covariance(returns)
    contributions = weights * (cov @ weights)
    np.testing.assert_allclose(contributions / contributions.sum(), 1 / 3, atol=1e-5)


def test_min_variance_satisfies_its_optimality_conditions():
    returns = np.random.default_rng(1).multivariate_normal(
        [0, 0, 0], [[4, 1, 0], [1, 1, 0.2], [0, 0.2, 0.25]], 90
    )
    weights = MinVariance().solve(returns)
    marginal = shrunk_covariance(returns) @ weights
    held = weights > 1e-6
    assert weights.sum() == pytest.approx(1.0) and np.all(weights >= 0)
    np.testing.assert_allclose(marginal[held], marginal[held].mean(), rtol=1e-4)  # equal where held
    assert np.all(marginal[~held] >= marginal[held].mean() - 1e-8)  # higher where not


def test_estimated_rules_wait_for_a_new_listings_history():
    prices = alternating([0.01, 0.02])
    prices["NEW"] = [np.nan] * 100 + list(np.linspace(1, 2, 21))  # 20 returns < 30 days
    weights = InverseVolatility().allocate(build_market(prices).view(120))
    assert weights[3] == 0.0 and weights.sum() == pytest.approx(1.0)


def test_olmar_buys_what_fell_below_its_moving_average():
    prices = {"UP": [10, 11, 12, 13, 14], "DOWN": [14, 13, 12, 11, 10]}
    weights = Olmar(window=5).target_weights(
        build_market(prices).view(4), np.array([1.0, 0.0, 0.0]), first=False
    )
    assert weights[2] > 0.99  # DOWN's moving average is 20% above its price


@pytest.mark.parametrize(
    ("v", "expected"),
    [
        ([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]),
        ([1.0, 1.0, -1.0], [0.5, 0.5, 0.0]),
        ([2.0, 0.0, 0.0], [1.0, 0.0, 0.0]),
    ],
)
def test_projection_to_the_simplex(v, expected):
    np.testing.assert_allclose(project_to_simplex(np.array(v)), expected, atol=1e-12)
