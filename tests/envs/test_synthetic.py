"""The synthetic market: deterministic per seed, and its returns follow its own regime model."""

import numpy as np
import pytest
from scipy import stats

from cryptofolio.envs import calibrated_model, risk_profile, synthetic_market


def test_the_same_seed_gives_the_same_market():
    a, b = synthetic_market(seed=3), synthetic_market(seed=3)
    np.testing.assert_array_equal(a.close, b.close)
    np.testing.assert_array_equal(a.truth.regime_path, b.truth.regime_path)


def test_different_seeds_give_different_markets():
    assert not np.array_equal(synthetic_market(seed=1).close, synthetic_market(seed=2).close)


def test_default_universe_is_the_moderate_profile_plus_a_stablecoin_cash():
    market = synthetic_market()
    assert market.symbols == ("USDC", *risk_profile("moderate").assets)
    np.testing.assert_array_equal(market.close[:, 0], 1.0)
    assert market.periods_per_year == 365 and market.available.all()


def test_the_true_regime_path_and_parameters_come_with_the_market():
    market = synthetic_market(seed=0, symbols=["BTC", "ETH"])
    truth = market.truth
    assert truth.regime_path.shape == (market.n_bars,)
    assert set(np.unique(truth.regime_path)) <= set(range(len(truth.model.regimes)))
    assert truth.model.assets == ("BTC", "ETH") and truth.model.mean.shape == (4, 2)
    assert set(truth.model.regimes) == {"bull", "bear", "high_volatility", "sideways"}


def test_unknown_assets_are_named():
    with pytest.raises(ValueError, match="no synthetic parameters for FOO"):
        synthetic_market(symbols=["BTC", "FOO"])


def test_calibrated_correlations_are_valid_and_the_chain_is_a_markov_matrix():
    model = calibrated_model()
    np.testing.assert_allclose(model.transition.sum(axis=1), 1.0, atol=1e-5)
    for corr in model.correlation:
        np.testing.assert_allclose(np.diag(corr), 1.0, atol=1e-3)
        assert np.linalg.eigvalsh(corr).min() > 0


@pytest.fixture(scope="module")
def long_market():
    return synthetic_market(seed=11, symbols=["BTC", "ETH"], n_bars=60_000)


def test_regimes_occur_in_their_long_run_shares(long_market):
    model, path = long_market.truth.model, long_market.truth.regime_path
    shares = np.bincount(path, minlength=len(model.regimes)) / len(path)
    np.testing.assert_allclose(shares, model.stationary(), atol=0.04)


def test_returns_have_each_regimes_volatility_and_correlation(long_market):
    model, path = long_market.truth.model, long_market.truth.regime_path
    returns = np.diff(np.log(long_market.close[:, 1:]), axis=0)
    regime = path[1:]
    for k in range(len(model.regimes)):
        block = returns[regime == k]
        np.testing.assert_allclose(block.std(axis=0), model.volatility[k], rtol=0.08)
        assert np.corrcoef(block.T)[0, 1] == pytest.approx(model.correlation[k][0, 1], abs=0.05)


def test_returns_are_fat_tailed(long_market):
    model, path = long_market.truth.model, long_market.truth.regime_path
    returns = np.diff(np.log(long_market.close[:, 1]))
    standardized = (returns - model.mean[path[1:], 0]) / model.volatility[path[1:], 0]
    assert stats.kurtosis(standardized) > 2.0  # a normal has 0
