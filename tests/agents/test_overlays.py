"""Risk overlays: hand-computed exposures, composition by name, no look-ahead, and anchored learners."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptofolio.agents import make_baseline
from cryptofolio.agents.anchors import anchor_of, anchor_weights, anchored_env
from cryptofolio.agents.baselines import anchor_rule_spec, split_specs
from cryptofolio.agents.classic import BtcOnly, BuyAndHold
from cryptofolio.agents.overlays import (
    DrawdownBrake,
    VolTarget,
    brake_exposure,
    brake_level,
    budget_of,
    exposures,
    scaled,
)
from cryptofolio.envs import PortfolioEnv, synthetic_market
from cryptofolio.envs.config import EnvConfig
from cryptofolio.envs.errors import ConfigError
from cryptofolio.evaluation.backtest import run_backtest
from tests.helpers import build_market, whole_market_splits


def test_scaled_moves_the_cut_risk_to_cash_and_keeps_the_mix():
    out = scaled(np.array([0.1, 0.6, 0.3]), 0.5)
    np.testing.assert_allclose(out, [0.55, 0.3, 0.15], atol=1e-15)


def test_brake_level_meets_its_log_wealth_bound():
    level = brake_level(0.35)
    assert -math.log(1 - level) / level - 1 == pytest.approx(-math.log(0.65), abs=1e-12)
    assert level == pytest.approx(0.5347, abs=1e-4)


def test_brake_exposure_is_the_cushion_times_its_multiplier():
    assert brake_exposure(0.0, 0.5) == 1.0
    assert brake_exposure(0.5, 0.5) == 0.0
    assert brake_exposure(0.7, 0.5) == 0.0
    # x = 0.2, b = 0.5: floor 0.5 of the peak, cushion (0.8 - 0.5) / 0.8 = 0.375, times 1 / b
    assert brake_exposure(0.2, 0.5) == pytest.approx(0.75, abs=1e-15)


def test_the_brake_reads_the_index_drawdown_below_its_peak():
    market = build_market({"BTC": [100.0, 120.0, 90.0, 96.0]})
    brake = DrawdownBrake(base=BtcOnly(), budget=0.3, margin=1.0, window_days=30)
    view = market.view(3)
    assert brake.drawdown(view, BtcOnly().target(view)) == pytest.approx(1 - 96 / 120, abs=1e-12)
    expected = brake_exposure(0.2, brake_level(0.3))
    np.testing.assert_allclose(brake.target(view), [1 - expected, expected], atol=1e-12)
    assert brake.cushion(view) == pytest.approx((brake_level(0.3) - 0.2) / brake_level(0.3), abs=1e-12)


def test_the_brake_takes_risk_back_once_the_peak_is_forgotten():
    prices = [100.0] * 5 + [40.0] * 20
    market = build_market({"BTC": prices})
    brake = DrawdownBrake(base=BtcOnly(), budget=0.3, margin=1.0, window_days=10)
    assert brake.target(market.view(8))[1] == 0.0  # 60% below a peak inside the window: all cash
    assert brake.target(market.view(24))[1] == 1.0  # the peak left the window: fully back in


def test_voltarget_scales_to_the_target_over_the_trailing_estimate():
    up, down = 110.0, 100.0
    market = build_market({"BTC": [down, up, down, up, down]})
    rule = VolTarget(base=BtcOnly(), vol=0.2, window_days=4)
    step = math.log(1.1)
    sigma = step * math.sqrt(4 / 3) * math.sqrt(365)  # returns +s, -s, +s, -s: mean 0, ddof 1
    np.testing.assert_allclose(rule.target(market.view(4))[1], 0.2 / sigma, rtol=1e-12)
    assert VolTarget(base=BtcOnly(), vol=10.0, window_days=4).target(market.view(4))[1] == 1.0  # cap 1


def test_a_composed_rule_is_named_by_its_parts_and_multiplies_exposures():
    rule = make_baseline("moderate+voltarget+ddbrake")
    assert rule.name == "moderate+voltarget+ddbrake"
    view = synthetic_market(seed=0).view(400)
    parts = exposures(rule, view)
    base = make_baseline("moderate").target(view)
    np.testing.assert_allclose(
        rule.target(view), scaled(base, parts["voltarget"] * parts["ddbrake"]), atol=1e-12
    )
    assert budget_of(rule) is rule and rule.budget == 0.35


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("equal_weight+voltarget", "give vol= or profile="),
        ("moderate+leverage", "unknown overlay 'leverage'"),
        ("moderate+ddbrake:budget=1.5", "budget must be a drawdown in (0, 1)"),
        ("moderate+ddbrake:margin=0", "margin must be in (0, 1]"),
        ("moderate+voltarget:cap=2", "never adds risk"),
    ],
)
def test_a_bad_overlay_spec_is_one_clear_error(spec, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make_baseline(spec)


def test_an_overlay_refuses_a_base_without_a_standing_target():
    with pytest.raises(ConfigError, match="buy_and_hold has no standing target"):
        DrawdownBrake(base=BuyAndHold(), profile="moderate")


@settings(max_examples=15, deadline=None)
@given(bar=st.integers(200, 500), shock=st.floats(0.2, 5.0))
def test_changing_the_future_changes_no_decision(bar, shock):
    market = synthetic_market(seed=1)
    close = market.close.copy()
    close[bar + 1 :, 1:] *= shock
    changed = build_market({s: close[:, i] for i, s in enumerate(market.symbols) if i})
    same = build_market({s: market.close[:, i] for i, s in enumerate(market.symbols) if i})
    for spec in ("moderate+voltarget+ddbrake", "equal_weight+regime+ddbrake:profile=aggressive"):
        rule = make_baseline(spec)
        np.testing.assert_array_equal(rule.target(changed.view(bar)), rule.target(same.view(bar)))


def test_anchor_rule_spec_puts_the_runs_profile_in_place_of_the_word_profile():
    assert anchor_rule_spec(None, "moderate") == "moderate"
    assert anchor_rule_spec("profile+voltarget+ddbrake", "aggressive") == "aggressive+voltarget+ddbrake"
    assert anchor_rule_spec("profile_regime+ddbrake", "moderate") == "moderate_regime+ddbrake"
    assert anchor_rule_spec("profile_hedge:eta=0.5", "aggressive") == "aggressive_hedge:eta=0.5"
    assert anchor_rule_spec("equal_weight+ddbrake:profile=moderate", "conservative") == (
        "equal_weight+ddbrake:profile=moderate"
    )


@pytest.mark.parametrize(
    ("anchor", "rule_spec", "band", "risk_dial"),
    [
        ("profile+voltarget+ddbrake", "moderate+voltarget+ddbrake", 0.05, False),
        ("profile+voltarget+ddbrake", "moderate+voltarget+ddbrake", 0.05, True),
        # the hedge learner: the allocator trades to its mixture every bar
        ("profile_hedge:choose_eta=true", "moderate_hedge:choose_eta=true", 0.0, False),
    ],
)
def test_the_zero_action_of_an_anchored_learner_is_the_rule_itself(anchor, rule_spec, band, risk_dial):
    market = synthetic_market(seed=0)
    splits = whole_market_splits(market.n_bars, 400)
    config = EnvConfig().with_options(residual=True, anchor=anchor, trade_band=band, risk_dial=risk_dial)
    env = anchored_env(market, split="test", splits=splits, profile="moderate", config=config)

    class Zero:
        def predict(self, observation, state=None, episode_start=None, deterministic=True):
            return np.zeros(len(market.symbols)), state

    learner = run_backtest(Zero(), env)
    rules_env = PortfolioEnv(market, split="test", splits=splits, config=config.for_rules())
    rule = run_backtest(make_baseline(rule_spec), rules_env)
    np.testing.assert_allclose(learner.values, rule.values, rtol=1e-12, atol=0)
    assert rule.turnover.sum() > 0.5  # the rule did trade: the test compares something


def test_anchor_weights_are_the_rules_target_at_every_bar():
    market = synthetic_market(seed=0)
    rule = make_baseline("moderate+ddbrake")
    weights = anchor_weights(rule, market)
    np.testing.assert_array_equal(weights[321], rule.target(market.view(321)))
    config = EnvConfig().with_options(residual=True, anchor="profile+ddbrake")
    assert anchor_of(config, "moderate", market) is anchor_of(config, "moderate", market)  # computed once


def test_an_env_told_of_an_anchor_rule_without_its_weights_says_how_to_build_it():
    config = EnvConfig().with_options(residual=True, anchor="profile+ddbrake")
    with pytest.raises(ConfigError, match="anchored_env"):
        PortfolioEnv(synthetic_market(seed=0), config=config)


def test_an_anchor_without_residual_actions_is_refused():
    with pytest.raises(ConfigError, match="needs residual"):
        EnvConfig().with_options(anchor="profile+ddbrake")


def test_a_comma_inside_a_specs_options_stays_in_it():
    text = "moderate+voltarget:vol=0.4,window_days=60+ddbrake, moderate:band=0.1,adaptive_band=false,cash"
    assert split_specs(text) == [
        "moderate+voltarget:vol=0.4,window_days=60+ddbrake",
        "moderate:band=0.1,adaptive_band=false",
        "cash",
    ]
