"""Portfolio diagnostics: clusters, risk contributions and the guidance's flags, on known markets."""

import numpy as np
import pytest

from cryptofolio.cli import main
from cryptofolio.evaluation.diagnostics import diagnose_weights, risk_contributions, window_returns
from tests.helpers import build_market

CLUSTER = ("BTC", "ETH", "SOL")
WEIGHTS = np.array([0.1, 0.3, 0.2, 0.2, 0.1, 0.1])  # USDT, BTC, ETH, SOL, LINK, UNI


def factor_market(n_bars: int = 300, seed: int = 0):
    """BTC, ETH and SOL share one factor (pairwise correlation about 0.97); LINK and UNI are independent."""
    rng = np.random.default_rng(seed)
    factor = rng.normal(0.0, 0.03, n_bars)
    returns = {s: factor + rng.normal(0.0, 0.005, n_bars) for s in CLUSTER}
    returns |= {s: rng.normal(0.0, 0.03, n_bars) for s in ("LINK", "UNI")}
    return build_market({s: list(100 * np.cumprod(1 + r)) for s, r in returns.items()})


def test_the_correlated_assets_are_found_as_one_cluster_and_flagged():
    market = factor_market()
    d = diagnose_weights(market, market.n_bars - 1, WEIGHTS, window=90)
    assert [c.symbols for c in d.clusters] == [CLUSTER]
    assert d.clusters[0].weight == pytest.approx(0.7)
    assert d.clusters[0].min_correlation > 0.9
    assert any("BTC, ETH, SOL move together" in f and "hold 70%" in f for f in d.flags)
    assert any("6 positions" in f for f in d.flags)  # fewer than 8
    corr = window_returns(market, market.n_bars - 1, 90).iloc[:, 1:].corr().to_numpy()
    assert d.average_correlation == pytest.approx(corr[~np.eye(5, dtype=bool)].mean())


def test_risk_contributions_sum_to_the_portfolio_volatility():
    market = factor_market()
    bar = market.n_bars - 1
    d = diagnose_weights(market, bar, WEIGHTS, window=90)
    returns = window_returns(market, bar, 90).to_numpy()
    volatility = np.std(returns @ WEIGHTS, ddof=1) * np.sqrt(365)  # computed apart from the module
    assert d.volatility == pytest.approx(volatility, rel=1e-12)
    assert d.risk_contributions.sum() == pytest.approx(d.volatility, rel=1e-12)
    assert d.risk_contributions[0] == 0.0  # cash priced 1.0 carries no risk
    cluster_share = d.risk_contributions[1:4].sum() / d.volatility
    assert cluster_share > 0.9  # 70% of the weight, nearly all of the risk
    assert d.btc_correlation > 0.9


def test_each_contribution_is_the_weight_times_the_marginal_volatility():
    rng = np.random.default_rng(1)
    root = rng.normal(size=(4, 4))
    covariance = root @ root.T
    weights = np.array([0.1, 0.2, 0.3, 0.4])
    contributions, sigma = risk_contributions(weights, covariance)

    def volatility(w):
        return np.sqrt(w @ covariance @ w)

    step = 1e-6
    for i in range(4):
        bump = np.zeros(4)
        bump[i] = step
        marginal = (volatility(weights + bump) - volatility(weights - bump)) / (2 * step)
        assert contributions[i] == pytest.approx(weights[i] * marginal, rel=1e-6)
    assert sigma == pytest.approx(volatility(weights))


def test_a_diversified_portfolio_raises_no_cluster_flag():
    market = factor_market()
    weights = np.array([0.1, 0.2, 0.0, 0.0, 0.35, 0.35])
    d = diagnose_weights(market, market.n_bars - 1, weights, window=90)
    assert d.clusters == [] and not any("move together" in f for f in d.flags)
    assert d.category_shares["store_of_value"] == pytest.approx(0.2)


def test_diagnostics_read_no_price_after_their_bar():
    market = factor_market()
    bar = 200
    before = diagnose_weights(market, bar, WEIGHTS, window=90)
    close = market.close.copy()
    close[bar + 1 :, 1:] *= np.random.default_rng(5).lognormal(0, 0.2, close[bar + 1 :, 1:].shape)
    changed = build_market({s: list(close[:, i]) for i, s in enumerate(market.symbols) if i > 0})
    after = diagnose_weights(changed, bar, WEIGHTS, window=90)
    assert after.volatility == before.volatility
    np.testing.assert_array_equal(after.risk_contributions, before.risk_contributions)


def test_a_window_longer_than_the_history_is_refused():
    market = factor_market(n_bars=50)
    with pytest.raises(ValueError, match=r"a window of 90 bars needs 90 bars before 2024-02-19"):
        diagnose_weights(market, 49, WEIGHTS, window=90)


def test_diagnose_command_on_the_synthetic_market(tmp_path, capsys):
    holdings = tmp_path / "h.json"
    holdings.write_text('{"BTC": 1, "ETH": 10, "SOL": 100, "USDC": 1000}')
    assert main(["diagnose", "--holdings", str(holdings), "--window", "60"]) == 0
    out = capsys.readouterr().out
    assert "Diagnostics over the 60 bars to" in out and "expected volatility 50%" in out
    assert "FLAG" in out and "positions of 1% or more" in out
    assert main(["diagnose", "--holdings", str(holdings), "--format", "json", "--profile", "aggressive"]) == 0
    assert '"expected_volatility": 0.7' in capsys.readouterr().out
