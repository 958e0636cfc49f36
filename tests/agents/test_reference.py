"""The known-parameter reference policy."""

from dataclasses import replace

import numpy as np
import pytest

from cryptofolio.agents import EqualWeight
from cryptofolio.agents.reference import GrowthOptimal
from cryptofolio.envs import PortfolioEnv, synthetic_market
from cryptofolio.evaluation.backtest import run_backtest


def log_growth(result) -> float:
    return float(np.log(result.values[-1] / result.values[0]))


def test_the_reference_beats_equal_weight_on_average_over_seeds():
    reference, equal = [], []
    for seed in range(6):
        market = synthetic_market(seed=seed)
        env = PortfolioEnv(market, split="test")
        reference.append(log_growth(run_backtest(GrowthOptimal(market.truth.model), env)))
        equal.append(log_growth(run_backtest(EqualWeight(), env)))
    assert np.mean(reference) > np.mean(equal)


def test_its_targets_are_long_only_weights():
    targets = GrowthOptimal(synthetic_market(seed=0).truth.model).targets
    assert targets.shape == (4, 10) and np.all(targets >= 0)
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, atol=1e-9)


def test_it_reads_only_the_current_regime():
    market = synthetic_market(seed=1, n_bars=400)
    t = 300
    path = market.truth.regime_path.copy()
    path[t + 1 :] = (path[t + 1 :] + 1) % 4  # another future
    changed = replace(market, truth=replace(market.truth, regime_path=path))
    env_a, env_b = (PortfolioEnv(m, split="validation", window=10) for m in (market, changed))
    policy = GrowthOptimal(market.truth.model)
    a, b = run_backtest(policy, env_a), run_backtest(policy, env_b)
    upto = a.timestamps <= market.timestamps[t]
    np.testing.assert_array_equal(a.weights_after[upto], b.weights_after[upto])


def test_it_needs_a_synthetic_market():
    from tests.helpers import build_market

    market = build_market({"BTC": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="needs a synthetic market"):
        GrowthOptimal(synthetic_market(seed=0).truth.model).target_weights(market.view(2), np.eye(2)[0], True)
