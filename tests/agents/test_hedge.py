"""Hedge over a rule library: the regret bound where one expert dominates, no look-ahead, the mixture
traded once through the ledger, and its learning rate chosen on the window before each bar."""

import math

import numpy as np
import pytest

from cryptofolio.agents import make_baseline
from cryptofolio.agents.anchors import anchor_weights
from cryptofolio.agents.baselines import anchor_rule_spec
from cryptofolio.agents.hedge import ETAS, Hedge, expert_library
from cryptofolio.envs import EnvConfig, PortfolioEnv, Splits
from cryptofolio.envs.errors import ConfigError
from cryptofolio.evaluation.backtest import run_backtest

EXPERTS = ("btc_only", "cash", "equal_weight")


def market_where_btc_dominates(make_market, n: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    btc = 100 * np.cumprod(1 + 0.004 + 0.02 * rng.standard_normal(n))
    eth = 10 * np.cumprod(1 - 0.002 + 0.04 * rng.standard_normal(n))
    sol = 5 * np.cumprod(1 + 0.05 * rng.standard_normal(n))
    return make_market({"BTC": list(btc), "ETH": list(eth), "SOL": list(sol)})


@pytest.mark.parametrize(("eta", "fee"), [(1.0, 0.001), (1.0, 0.01), (0.5, 0.0), (0.25, 0.0)])
def test_the_mixture_keeps_within_its_regret_bound_of_the_best_expert(make_market, eta, fee):
    market = market_where_btc_dominates(make_market)
    hedge = Hedge(eta=eta, fee=fee, experts=EXPERTS)
    last = market.view(market.n_bars - 1)
    experts = np.log(hedge.expert_values(last)[-1])
    mixture = math.log(hedge.mixture_values(last)[-1, 0])
    assert experts.argmax() == 0 and experts[0] > experts[2] + 1.0  # btc_only leads, by a lot
    assert mixture >= experts.max() - math.log(len(EXPERTS)) / eta  # log W >= max_k log V_k - ln K / eta
    assert mixture < experts.max()  # and the bound is not vacuous: the leader was not known at the start
    assert hedge.weights_of_experts(last).argmax() == 0


def test_the_bound_holds_where_the_leader_changes(make_market):
    rng = np.random.default_rng(1)
    up_then_down = np.r_[np.full(150, 0.006), np.full(150, -0.006)] + 0.02 * rng.standard_normal(300)
    btc = 100 * np.cumprod(1 + up_then_down)
    eth = 10 * np.cumprod(1 + 0.01 * rng.standard_normal(300))
    market = make_market({"BTC": list(btc), "ETH": list(eth)})
    for eta in (1.0, 0.5):
        hedge = Hedge(eta=eta, fee=0.0, experts=EXPERTS)
        last = market.view(market.n_bars - 1)
        best = np.log(hedge.expert_values(last)[-1]).max()
        assert math.log(hedge.mixture_values(last)[-1, 0]) >= best - math.log(3) / eta


def test_the_mixture_is_the_experts_aggregate_and_nets_their_trades(make_market):
    market = market_where_btc_dominates(make_market, n=200)
    hedge = Hedge(eta=1.0, fee=0.001, experts=EXPERTS)
    last = market.view(market.n_bars - 1)
    values = hedge.expert_values(last)
    # eta = 1: the mixture holds the sub-accounts together, and netting their trades saves fees
    assert hedge.mixture_values(last)[-1, 0] >= values[-1].mean() - 1e-12
    pi = hedge.weights_of_experts(last)
    np.testing.assert_allclose(pi, values[-1] / values[-1].sum(), rtol=1e-12)


def test_a_backtest_trades_the_mixture_once_through_the_ledger(make_market):
    market = market_where_btc_dominates(make_market, n=200)
    splits = Splits(range(0, 100), range(100, 150), range(150, 200))
    env = PortfolioEnv(market, split="test", splits=splits, config=EnvConfig().for_rules())
    hedge = Hedge(eta=1.0, experts=EXPERTS)
    result = run_backtest(hedge, env)
    view = market.view(env.first_start)
    np.testing.assert_allclose(result.weights_after[0], hedge.target(view), atol=1e-12)
    assert result.turnover[0] > 0.5 and result.turnover[1:-1].max() < 0.05  # one trade in, then small ones


def test_its_targets_do_not_read_the_future(make_market):
    market = market_where_btc_dominates(make_market, n=240)
    close = market.close.copy()
    close[181:, 1:] *= np.linspace(0.5, 3.0, 59)[:, None]  # another future after bar 180
    changed = type(market)(**{**market.__dict__, "close": close})
    hedge = Hedge(choose_eta=True, select_days=30, experts=EXPERTS)
    first, second = anchor_weights(hedge, market), anchor_weights(hedge, changed)  # one rule, two markets
    np.testing.assert_array_equal(first[:181], second[:181])
    assert np.abs(first[181:] - second[181:]).max() > 1e-3


def test_the_learning_rate_is_chosen_on_the_window_before_each_bar(make_market):
    market = market_where_btc_dominates(make_market, n=300)
    hedge = Hedge(choose_eta=True, select_days=60, experts=EXPERTS)
    for t in (30, 59, 120, 299):
        view = market.view(t)
        values = hedge.mixture_values(view)
        expected = ETAS[0] if t < 60 else ETAS[int(np.argmax(values[t] / values[t - 60]))]
        assert hedge.chosen_eta(view) == expected
    assert hedge.chosen_eta(market.view(299)) == max(ETAS)  # a steady leader: the fastest follower


def test_a_profile_hedge_is_a_baseline_and_an_anchor():
    rule = make_baseline("aggressive_hedge:eta=0.5,halflife_days=90")
    assert isinstance(rule, Hedge) and rule.profile == "aggressive" and rule.halflife_days == 90
    assert [r.name for r in rule.rules][:2] == ["aggressive", "aggressive_regime"]
    assert len(rule.rules) == len(expert_library("aggressive")) == 9
    assert anchor_rule_spec("profile_hedge", "conservative") == "conservative_hedge"
    with pytest.raises(ConfigError, match="eta must be a positive number"):
        make_baseline("moderate_hedge:eta=0")
