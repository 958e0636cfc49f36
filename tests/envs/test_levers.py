"""The env's generalization levers: residual actions, the trade band, the drawdown-increase reward,
the differential Sharpe ratio objective."""

import math

import numpy as np
import pytest

from cryptofolio.agents import make_baseline
from cryptofolio.envs import PortfolioEnv, RewardConfig, synthetic_market
from cryptofolio.envs.profiles import model_portfolios
from cryptofolio.envs.reward import RewardSettings, RewardState, differential_sharpe, reward
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
    tolerance, penalty = 0.25, 0.5
    config = RewardConfig(drawdown_tolerance=tolerance, drawdown_penalty=penalty, drawdown_mode="increase")
    settings = RewardSettings.from_config(config, 0.35)
    state = RewardState.start(1.0, 0.0)
    steps = [(1.0, 0.9, 0.1), (0.9, 0.8, 0.1), (0.8, 0.85, 0.0)]
    for value, next_value, deepening in steps:
        total, terms, state = reward(value, next_value, 0.0, 0.0, 0, state, settings)
        term = terms.drawdown_penalty
        assert term == pytest.approx(penalty * deepening / tolerance, abs=1e-12)
        assert total == pytest.approx(math.log(next_value / value) - term, abs=1e-12)


def test_the_variance_penalty_charges_the_squared_log_growth_by_hand():
    # V 1 -> e^0.1 -> e^-0.1: log growth 0.1 then -0.2; penalty 0.5: 0.5 * 0.01 = 0.005, 0.5 * 0.04 = 0.02.
    settings = RewardSettings.from_config(RewardConfig(drawdown_penalty=0.0, variance_penalty=0.5), 0.35)
    state = RewardState.start(1.0, 0.0)
    for value, next_value, term in [(1.0, math.exp(0.1), 0.005), (math.exp(0.1), math.exp(-0.1), 0.02)]:
        total, terms, state = reward(value, next_value, 0.0, 0.0, 0, state, settings)
        assert terms.variance_penalty == pytest.approx(term, abs=1e-15)
        assert total == pytest.approx(terms.log_growth - term, abs=1e-15)


def test_the_variance_penalty_is_off_by_default_and_only_adds_its_term(market):
    plain, penalized = PortfolioEnv(market), PortfolioEnv(market, variance_penalty=2.0)
    plain.reset(seed=0)
    penalized.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(20):
        action = rng.uniform(-1, 1, 10)
        _, plain_reward, *_, plain_info = plain.step(action)
        _, reward_, *_, info = penalized.step(action)
        assert plain_info["reward_variance_penalty"] == 0.0
        assert info["reward_log_growth"] == plain_info["reward_log_growth"]  # the same ledger
        assert info["reward_variance_penalty"] == 2.0 * info["reward_log_growth"] ** 2
        assert reward_ == pytest.approx(plain_reward - info["reward_variance_penalty"], abs=1e-15)


def test_the_differential_sharpe_ratio_of_three_returns_by_hand():
    # eta 0.5, returns 0.01, -0.02, 0.03. Step 1: no moments yet, D = 0; A = 0.005, B = 0.00005.
    # Step 2: corrected by c = 0.5, a = 0.01 and b = 0.0001: variance 0, D = 0; A = -0.0075, B = 0.000225.
    # Step 3: c = 0.75, a = -0.01, b = 0.0003, variance 0.0002; dA = 0.04, dB = 0.0006;
    # D = (0.0003 * 0.04 + 0.5 * 0.01 * 0.0006) / 0.0002^1.5 = 0.000015 / 0.0002^1.5 = 7.5 / sqrt(2).
    mean = second = 0.0
    sharpes = []
    for steps, growth in enumerate([0.01, -0.02, 0.03]):
        sharpe, mean, second = differential_sharpe(growth, mean, second, steps, 0.5)
        sharpes.append(sharpe)
    assert sharpes[:2] == [0.0, 0.0]
    assert sharpes[2] == pytest.approx(7.5 / math.sqrt(2), rel=1e-12)
    assert (mean, second) == pytest.approx((0.01125, 0.0005625), rel=1e-12)


@pytest.mark.parametrize("growth", [-0.05, -0.01, 0.0, 0.02, 0.08])
@pytest.mark.parametrize(("mean", "second"), [(0.001, 0.0009), (-0.002, 0.0004), (0.01, 0.0101)])
def test_the_differential_sharpe_ratio_is_the_sharpe_ratios_first_order_change(growth, mean, second):
    # Moody and Saffell: S(A_t, B_t) = S(A_{t-1}, B_{t-1}) + eta D_t + O(eta^2), S = A / sqrt(B - A^2).
    # After many steps the zero-start correction is 1, so the moments are the raw ones.
    eta = 1e-7
    sharpe, next_mean, next_second = differential_sharpe(growth, mean, second, 10**10, eta)
    ratio = lambda a, b: a / math.sqrt(b - a * a)  # noqa: E731
    assert sharpe == pytest.approx((ratio(next_mean, next_second) - ratio(mean, second)) / eta, rel=1e-4)


def test_the_differential_sharpe_ratio_is_zero_for_equal_returns_whatever_the_rounding():
    mean = second = 0.0
    for steps in range(50):
        sharpe, mean, second = differential_sharpe(0.0001, mean, second, steps, 0.1)  # a cash yield
        assert sharpe == 0.0


def test_the_differential_sharpe_objective_replaces_the_log_growth_in_the_reward(market):
    options = {"residual": True, "turnover_penalty": 0.01, "drawdown_penalty": 0.0}
    sharpe_env = PortfolioEnv(market, objective="differential_sharpe", sharpe_decay=0.05, **options)
    growth_env = PortfolioEnv(market, **options)
    rng = np.random.default_rng(0)
    for env in (sharpe_env, growth_env):
        env.reset(seed=3)
    mean = second = 0.0
    for steps in range(40):
        action = rng.uniform(-1, 1, 10)
        _, total, *_, info = sharpe_env.step(action)
        _, plain, *_, plain_info = growth_env.step(action)
        assert info["reward_log_growth"] == plain_info["reward_log_growth"]  # the same ledger
        expected, mean, second = differential_sharpe(info["reward_log_growth"], mean, second, steps, 0.05)
        assert (
            info["reward_differential_sharpe"] == expected and plain_info["reward_differential_sharpe"] == 0
        )
        assert total == pytest.approx(expected - info["reward_turnover_penalty"], abs=1e-12)
        assert plain == pytest.approx(plain_info["reward_log_growth"] - plain_info["reward_turnover_penalty"])
    sharpe_env.reset(seed=4)  # a new episode starts its moments afresh
    _, total, *_, info = sharpe_env.step(np.zeros(10))
    assert info["reward_differential_sharpe"] == 0.0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"drawdown_mode": "sum"}, "drawdown_mode must be one of excess, increase"),
        ({"trade_band": -0.1}, r"trade_band must be a finite number in \[0.0, 1.0\]"),
        ({"tilt": 0.0}, r"tilt must be a finite number in \(0.0, 10.0\]"),
        ({"drawdown_mode": "increase", "drawdown_tolerance": 0.0}, r"drawdown_tolerance must be .* \(0.0"),
        ({"objective": "sortino"}, "objective must be one of log_growth, differential_sharpe"),
        ({"sharpe_decay": 0.0}, r"sharpe_decay must be a finite number in \(0.0, 1.0\]"),
        ({"sharpe_decay": float("nan")}, r"sharpe_decay must be a finite number"),
        ({"variance_penalty": -0.5}, r"variance_penalty must be a finite number in \[0.0, inf\]"),
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


def test_the_action_penalty_is_charged_only_on_bars_that_decide(market):
    env = PortfolioEnv(market, residual=True, decision_every=3, action_penalty=0.1)
    env.reset(seed=0)
    for _ in range(9):
        bar = env.bar
        *_, info = env.step(np.full(10, 0.5))
        assert info["reward_action_penalty"] == (pytest.approx(0.1 * 0.25) if bar % 3 == 0 else 0.0)
