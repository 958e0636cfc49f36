"""PortfolioEnv: hand-computed ledger, rewards, episodes, reset options and argument checks."""

import math
import warnings
from dataclasses import replace

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.env_util import make_vec_env

from cryptofolio.envs import ENV_ID, PortfolioEnv, Splits, synthetic_market
from cryptofolio.envs.reward import INFO_KEYS as TERM_KEYS
from tests.helpers import build_market

C = 0.001 + 0.0005  # fee + slippage
TOLERANCE, DD_PENALTY, TO_PENALTY = 0.02, 0.5, 0.1
INFO_KEYS = {
    "date", "bar", "portfolio_value", "weights", "drifted_weights", "turnover", "fees", "drawdown",
    "reward_log_growth", "reward_differential_sharpe", "reward_drawdown_penalty", "reward_turnover_penalty",
    "reward_action_penalty", *TERM_KEYS,  # every term of RewardTerms
}  # fmt: skip


@pytest.fixture
def hand_env() -> PortfolioEnv:
    """Cash plus A and B over ten daily bars; episodes start at bar 2 (window 2)."""
    market = build_market(
        {
            "A": [100, 100, 100, 110, 99, 121, 121, 121, 121, 121],
            "B": [50, 50, 50, 45, 40.5, 54, 54, 54, 54, 54],
        }
    )
    splits = Splits(train=range(0, 6), validation=range(6, 8), test=range(8, 10))
    return PortfolioEnv(
        market, splits=splits, fee=0.001, slippage=0.0005, window=2, drawdown_tolerance=TOLERANCE,
        drawdown_penalty=DD_PENALTY, turnover_penalty=TO_PENALTY,
    )  # fmt: skip


def test_three_steps_match_a_hand_computation(hand_env):
    _, info = hand_env.reset(options={"start": 2, "to_end": True})
    assert info["portfolio_value"] == 1.0 and info["date"] == np.datetime64("2024-01-03")

    # Step 1, bar 2 -> 3: from all cash buy (0.2, 0.5, 0.3). Only buys: mu = 1 / (1 + 0.8 c).
    mu1 = 1 / (1 + 0.8 * C)
    v3 = mu1 * (0.2 + 0.5 * 1.1 + 0.3 * 0.9)  # A +10%, B -10%
    w3 = np.array([0.2, 0.55, 0.27]) / 1.02
    _, reward, terminated, truncated, info = hand_env.step(
        np.array([-0.2, 1.0, 0.2])
    )  # (a+1)/sum = (0.2, 0.5, 0.3)
    turnover1 = 0.8 * mu1
    assert info["portfolio_value"] == pytest.approx(v3, abs=1e-12)
    assert info["fees"] == pytest.approx(1 - mu1, abs=1e-12)
    assert info["turnover"] == pytest.approx(turnover1, abs=1e-12)
    np.testing.assert_allclose(info["weights"], [0.2, 0.5, 0.3], atol=1e-12)
    np.testing.assert_allclose(info["drifted_weights"], [1, 0, 0], atol=1e-12)
    assert reward == pytest.approx(math.log(v3) - TO_PENALTY * turnover1, abs=1e-12)
    assert info["drawdown"] == 0.0 and not terminated and not truncated

    # Step 2, bar 3 -> 4: to (0.5, 0.25, 0.25), selling both. mu (1 - 0.5 c) = 1 - c (w3_A + w3_B).
    mu2 = (1 - C * (w3[1] + w3[2])) / (1 - 0.5 * C)
    v4 = v3 * mu2 * (0.5 + 0.25 * 0.9 + 0.25 * 0.9)  # both fall 10%
    dd4 = 1 - v4 / v3
    turnover2 = (w3[1] - 0.25 * mu2) + (w3[2] - 0.25 * mu2)
    _, reward, _, _, info = hand_env.step(np.array([1.0, 0.0, 0.0]))  # (2, 1, 1) / 4
    assert info["portfolio_value"] == pytest.approx(v4, abs=1e-12)
    assert info["fees"] == pytest.approx(v3 * (1 - mu2), abs=1e-12)
    assert info["turnover"] == pytest.approx(turnover2, abs=1e-12)
    assert info["drawdown"] == pytest.approx(dd4, abs=1e-12)
    np.testing.assert_allclose(info["drifted_weights"], w3, atol=1e-12)
    assert info["reward_drawdown_penalty"] == pytest.approx(DD_PENALTY * (dd4 - TOLERANCE), abs=1e-12)
    assert reward == pytest.approx(
        math.log(v4 / v3) - DD_PENALTY * (dd4 - TOLERANCE) - TO_PENALTY * turnover2, abs=1e-12
    )

    # Step 3, bar 4 -> 5: to (0, 0.2, 0.8): sell A, buy B. w4 = (0.5, 0.225, 0.225) / 0.95, so
    # mu = 1 - c ((w4_A - 0.2 mu) + (0.8 mu - w4_B)) = 1 - 0.6 c mu.
    mu3 = 1 / (1 + 0.6 * C)
    v5 = v4 * mu3 * (0.2 * 121 / 99 + 0.8 * 54 / 40.5)
    _, reward, terminated, truncated, info = hand_env.step(np.array([-1.0, -0.5, 1.0]))
    turnover3 = (0.225 / 0.95 - 0.2 * mu3) + (0.8 * mu3 - 0.225 / 0.95)
    assert info["portfolio_value"] == pytest.approx(v5, abs=1e-12)
    assert info["turnover"] == pytest.approx(turnover3, abs=1e-12)
    assert info["drawdown"] == 0.0  # v5 is a new peak
    assert reward == pytest.approx(math.log(v5 / v4) - TO_PENALTY * turnover3, abs=1e-12)
    assert info["date"] == np.datetime64("2024-01-06") and info["bar"] == 5
    assert truncated and not terminated  # bar 5 is the train split's last bar


def test_every_info_has_the_documented_keys_and_components_add_up(hand_env):
    _, info = hand_env.reset(seed=0)
    assert set(info) == INFO_KEYS
    _, reward, *_, info = hand_env.step(hand_env.action_space.sample())
    assert set(info) == INFO_KEYS
    parts = info["reward_log_growth"] - info["reward_drawdown_penalty"] - info["reward_turnover_penalty"]
    parts -= info["reward_action_penalty"]
    assert reward == pytest.approx(parts, abs=1e-15)


def test_all_in_one_asset_is_held_exactly():
    env = PortfolioEnv(synthetic_market(seed=1, n_bars=300), window=5)
    env.reset(seed=0)
    action = -np.ones(env.action_space.shape, dtype=np.float32)
    action[1] = 1.0
    _, _, _, _, info = env.step(action)
    np.testing.assert_array_equal(info["weights"], np.eye(len(action))[1])
    _, _, _, _, info = env.step(np.array([1.0, *[-1.0] * (len(action) - 1)], dtype=np.float32))
    np.testing.assert_array_equal(info["weights"], np.eye(len(action))[0])


def test_weight_on_an_asset_not_yet_listed_goes_to_cash():
    market = build_market({"A": [1.0] * 10, "LATE": [np.nan] * 6 + [1.0] * 4})
    env = PortfolioEnv(market, splits=Splits(range(0, 6), range(6, 8), range(8, 10)), window=2)
    obs, _ = env.reset(options={"start": 2})
    assert obs[-2] == 0.0  # listing flag of LATE
    _, _, _, _, info = env.step(np.array([-1.0, -1.0, 1.0]))
    np.testing.assert_array_equal(info["weights"], [1.0, 0.0, 0.0])


def test_cash_earns_its_yield_per_bar():
    env = PortfolioEnv(synthetic_market(seed=0, n_bars=300), window=5, cash_yield=0.05)
    env.reset(seed=0)
    cash = np.array([1.0, *[-1.0] * env.market.n_assets], dtype=np.float32)
    for _ in range(10):
        *_, info = env.step(cash)
    assert info["portfolio_value"] == pytest.approx(1.05 ** (10 / 365), abs=1e-12)
    assert info["fees"] == 0.0


def test_same_seed_same_trajectory():
    def run(seed):
        env = PortfolioEnv(synthetic_market(seed=2, n_bars=400), window=10, episode_length=20)
        env.action_space.seed(seed)
        obs, info = env.reset(seed=seed)
        out = [(obs, info["bar"])]
        for _ in range(20):
            obs, reward, *_ = env.step(env.action_space.sample())
            out.append((obs, reward))
        return out

    for (a, x), (b, y) in zip(run(7), run(7), strict=True):
        np.testing.assert_array_equal(a, b)
        assert x == y


def test_different_seeds_start_at_different_bars():
    env = PortfolioEnv(synthetic_market(seed=2, n_bars=1000), window=10, episode_length=50)
    starts = {env.reset(seed=seed)[1]["bar"] for seed in range(10)}
    assert len(starts) >= 8


def test_episodes_are_truncated_at_their_length():
    env = PortfolioEnv(synthetic_market(seed=2, n_bars=400), window=10, episode_length=7)
    env.reset(seed=3)
    flags = [env.step(env.action_space.sample())[2:4] for _ in range(7)]
    assert flags == [(False, False)] * 6 + [(False, True)]
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(env.action_space.sample())


def test_to_end_runs_the_whole_split_without_reading_past_it():
    market = synthetic_market(seed=4, n_bars=300)
    env = PortfolioEnv(market, split="validation", window=10)
    _, info = env.reset(options={"start": env.first_start, "to_end": True})
    steps = 0
    truncated = False
    while not truncated:
        *_, truncated, info = env.step(env.action_space.sample())
        steps += 1
    assert info["bar"] == env.split_bars.stop - 1
    assert steps == env.split_bars.stop - 1 - env.first_start


def test_start_may_be_a_timestamp():
    env = PortfolioEnv(synthetic_market(seed=4, n_bars=300), window=10)
    _, info = env.reset(options={"start": "2019-02-01"})
    assert info["bar"] == 31 and info["date"] == np.datetime64("2019-02-01")


def test_ruin_terminates_the_episode():
    market = build_market({"A": [1.0, 1.0, 1.0, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001]})
    env = PortfolioEnv(market, splits=Splits(range(0, 6), range(6, 8), range(8, 10)), window=2)
    env.reset(options={"start": 2})
    _, _, terminated, truncated, info = env.step(np.array([-1.0, 1.0]))
    assert terminated and not truncated and info["portfolio_value"] < 0.01


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"begin": 3}, r"unknown reset option\(s\) \['begin'\]"),
        ({"start": 5}, r"start 5 \(bar 5\) is outside the train split's possible starts: bars 10\.\.208"),
        ({"start": "2030-01-01"}, "no bar at 2030-01-01"),
        ({"start": 3.7}, "start must be a bar number or a date, got 3.7"),
        ({"start": True}, "start must be a bar number or a date, got True"),
    ],
)
def test_bad_reset_options_are_refused(options, message):
    env = PortfolioEnv(synthetic_market(seed=0, n_bars=300), window=10)
    with pytest.raises((ValueError, KeyError), match=message):
        env.reset(options=options)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fee": -0.001}, r"fee must be a finite number in \[0.0, 0.5\], got -0.001"),
        ({"slippage": math.nan}, "slippage must be a finite number"),
        ({"split": "val"}, "split must be one of train, validation, test, got 'val'"),
        ({"profile": "yolo"}, "unknown risk profile 'yolo'"),
        ({"window": 1}, "window must be at least 2 bars"),
        ({"window": 250}, "split 'train' .* leaves no step after a window of 250 bars"),
        ({"episode_length": 0}, "episode_length must be at least 1"),
        ({"initial_value": 0.0}, r"initial_value must be a finite number in \(0.0"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PortfolioEnv(synthetic_market(seed=0, n_bars=300), **kwargs)


@pytest.mark.parametrize(
    ("profile", "tolerance"), [("conservative", 0.20), ("moderate", 0.35), ("aggressive", 0.50)]
)
def test_the_profile_sets_the_drawdown_tolerance(profile, tolerance):
    assert (
        PortfolioEnv(
            synthetic_market(seed=0, n_bars=300), profile=profile
        ).parameters.reward.drawdown_tolerance
        == tolerance
    )


def test_a_nan_action_is_refused_and_the_episode_can_go_on():
    env = PortfolioEnv(synthetic_market(seed=0, n_bars=300), window=10)
    env.reset(seed=0)
    action = np.zeros(env.action_space.shape, dtype=np.float32)
    action[2] = np.nan
    with pytest.raises(ValueError, match=r"non-finite entries at positions \[2\]"):
        env.step(action)
    env.step(np.zeros(env.action_space.shape, dtype=np.float32))


def test_make_with_no_arguments_runs_on_the_synthetic_market():
    env = gym.make(ENV_ID)
    obs, _ = env.reset(seed=0)
    assert env.unwrapped.market.source == "synthetic(seed=0)"
    assert obs.dtype == np.float32 and obs in env.observation_space
    env.step(env.action_space.sample())


def test_observations_stay_finite_and_inside_the_box_on_a_wild_market():
    market = synthetic_market(seed=0, n_bars=400)
    close = market.close.copy()
    close[200, 1:] *= 1e-4  # a crash to near zero and back
    env = PortfolioEnv(replace(market, close=close), window=10, episode_length=400)
    obs, _ = env.reset(options={"start": 150, "to_end": True})
    truncated = terminated = False
    while not (truncated or terminated):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        assert np.isfinite(reward) and obs in env.observation_space


def test_consecutive_splits_earn_every_return_exactly_once():
    market = build_market({"A": [100, 101, 103, 102, 105, 107, 104, 108, 110, 111, 115, 113]})
    splits = Splits(train=range(0, 6), validation=range(6, 9), test=range(9, 12))
    all_in = np.array([-1.0, 1.0])
    growth = 1.0
    for split in ("train", "validation", "test"):
        env = PortfolioEnv(market, split=split, splits=splits, window=2, fee=0.0)
        _, info = env.reset(options={"start": env.first_start, "to_end": True})
        first_return_bar = None
        while True:
            _, _, _, truncated, info = env.step(all_in)
            first_return_bar = info["bar"] if first_return_bar is None else first_return_bar
            if truncated:
                break
        assert first_return_bar == max(
            splits[split].start, 3
        )  # the split's first bar (train: after the window)
        assert info["bar"] == splits[split].stop - 1
        growth *= info["portfolio_value"]
    assert growth == pytest.approx(
        113 / 103, rel=1e-12
    )  # bought at bar 2's close, every return after it once


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (np.zeros((2, 5)), r"action has shape \(2, 5\), expected \(10,\)"),
        (np.zeros((1, 10)), r"action has shape \(1, 10\), expected \(10,\)"),
        (np.array(["0.1"] * 10), "action has entries of type <U3, expected real numbers"),
        (np.zeros(10, dtype=complex), "action has entries of type complex128, expected real numbers"),
    ],
)
def test_an_action_is_never_reshaped_or_cast_from_what_is_not_a_number(action, message):
    env = PortfolioEnv(synthetic_market(seed=0, n_bars=300), window=10)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        env.step(action)


def test_actions_of_any_real_dtype_trade_alike():
    env = PortfolioEnv(synthetic_market(seed=0, n_bars=300), window=10)
    infos = []
    for dtype in (np.float64, np.float32, np.float16, np.int64):
        env.reset(seed=0)
        infos.append(env.step(np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, -1], dtype=dtype))[4]["weights"])
    for weights in infos[1:]:
        np.testing.assert_allclose(weights, infos[0], atol=1e-12)


def test_it_renders_its_weights_and_makes_through_sb3_without_warnings():
    env = PortfolioEnv(synthetic_market(seed=0, n_bars=300), window=10, render_mode="rgb_array")
    env.reset(seed=0)
    env.step(np.array([1.0, -1, -1, -1, -1, -1, -1, -1, -1, -1]))
    image = env.render()
    assert image.shape == (64, 80, 3) and (image[:, 1:7] != 255).all()  # all in cash: a full grey bar
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_vec_env("CryptoPortfolio-v0", n_envs=2).reset()
