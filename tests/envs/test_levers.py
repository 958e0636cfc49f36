"""The env's generalization levers: residual actions, the trade band, the drawdown-increase reward."""

import math

import numpy as np
import pytest

from cryptofolio.agents import make_baseline
from cryptofolio.envs import PortfolioEnv, synthetic_market
from cryptofolio.envs.profiles import model_portfolios
from cryptofolio.envs.reward import reward
from cryptofolio.evaluation.backtest import run_backtest


@pytest.fixture(scope="module")
def market():
    return synthetic_market(seed=2, n_bars=900)


class Zero:
    """The zero action: under ``residual`` it holds the profile's model portfolio."""

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        return np.zeros(10, dtype=np.float32), state


def test_the_zero_residual_action_is_the_model_portfolio(market):
    env = PortfolioEnv(market, residual=True)
    model = model_portfolios("moderate", market)
    drifted = np.full(10, 0.1)
    np.testing.assert_allclose(env.target_weights(np.zeros(10), 500, drifted), model[500], atol=1e-15)


def test_a_residual_tilt_reaches_as_far_as_its_strength(market):
    env = PortfolioEnv(market, residual=True, tilt=2.0)
    m = model_portfolios("moderate", market)[500]
    cash_up = np.r_[1.0, -np.ones(9)]
    expected = m[0] * math.e**2 / (m[0] * math.e**2 + (1 - m[0]) * math.e**-2)
    assert env.target_weights(cash_up, 500, m)[0] == pytest.approx(expected, rel=1e-12)


def test_with_zero_residual_actions_and_a_band_the_env_is_the_moderate_baseline(market):
    """The untrained residual agent starts as the rule: same trades, same values, to rounding."""
    agent = run_backtest(Zero(), PortfolioEnv(market, split="train", residual=True, trade_band=0.05))
    rule = run_backtest(make_baseline("moderate:adaptive_band=false"), PortfolioEnv(market, split="train"))
    traded = rule.turnover > 1e-9  # a rule's "keep" round-trips through an action: turnover ~1e-16
    assert traded.sum() > 3  # the band was crossed several times
    np.testing.assert_array_equal(agent.turnover > 0, traded)
    np.testing.assert_allclose(agent.values, rule.values, rtol=1e-9)


def test_within_the_band_nothing_is_traded(market):
    env = PortfolioEnv(market, trade_band=0.05)
    env.reset(seed=0)
    env.step(np.zeros(10))  # equal weights
    drifted = env.drifted_weights
    nudge = 2 * drifted / drifted.max() - 1 + np.r_[0.04, np.zeros(9)]  # moves cash by about 0.4 points
    _, _, _, _, info = env.step(nudge)
    assert info["turnover"] == 0.0 and info["fees"] == 0.0
    np.testing.assert_array_equal(info["weights"], drifted)


def test_the_increase_penalty_charges_each_deepening_of_the_drawdown():
    # 1.0 -> 0.9 (drawdown 0.1 from 0) -> 0.8 (0.2, up 0.1) -> 0.85 (0.15, a recovery: no charge)
    peak, tolerance, penalty = 1.0, 0.25, 0.5
    steps = [(1.0, 0.9, 0.1), (0.9, 0.8, 0.1), (0.8, 0.85, 0.0)]
    for value, next_value, deepening in steps:
        total, _, term, _, _, peak = reward(value, next_value, peak, 0.0, tolerance, penalty, True, 0.0, 0.0)
        assert term == pytest.approx(penalty * deepening / tolerance, abs=1e-12)
        assert total == pytest.approx(math.log(next_value / value) - term, abs=1e-12)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"drawdown_mode": "sum"}, "drawdown_mode must be one of excess, increase"),
        ({"trade_band": -0.1}, r"trade_band must be a finite number in \[0.0, 1.0\]"),
        ({"tilt": 0.0}, r"tilt must be a finite number in \(0.0, 10.0\]"),
        ({"drawdown_mode": "increase", "drawdown_tolerance": 0.0}, r"drawdown_tolerance must be .* \(0.0"),
    ],
)
def test_bad_lever_options_are_refused(market, options, message):
    with pytest.raises(ValueError, match=message):
        PortfolioEnv(market, **options)


def test_a_rule_refuses_an_env_that_would_remap_its_weights(market):
    with pytest.raises(ValueError, match="rule moderate chooses weights itself"):
        run_backtest(make_baseline("moderate"), PortfolioEnv(market, residual=True))


def test_the_action_penalty_charges_the_mean_square_of_the_clipped_action(market):
    env = PortfolioEnv(market, residual=True, action_penalty=0.1)
    env.reset(seed=0)
    action = np.r_[0.5, -0.5, 3.0, np.zeros(7)]  # clipped: 0.25 + 0.25 + 1 over 10 entries
    _, reward_, *_, info = env.step(action)
    assert info["reward_action_penalty"] == pytest.approx(0.1 * 1.5 / 10, abs=1e-15)
    assert reward_ == pytest.approx(
        info["reward_log_growth"] - info["reward_drawdown_penalty"] - 0.015, abs=1e-15
    )


def test_between_decision_bars_actions_are_ignored_and_the_portfolio_drifts(market):
    env = PortfolioEnv(market, decision_every=7, episode_length=30)
    env.reset(seed=0, options={"start": 588})  # a multiple of 7: the first decision trades
    rng = np.random.default_rng(0)
    for _ in range(21):
        bar = env.bar
        *_, info = env.step(rng.uniform(-1, 1, 10))
        assert (info["turnover"] > 0) == (bar % 7 == 0), bar
        if bar % 7:
            np.testing.assert_array_equal(info["weights"], info["drifted_weights"])
    with pytest.raises(ValueError, match="non-finite"):
        env.step(np.full(10, np.nan))  # checked on every bar, decision or not
