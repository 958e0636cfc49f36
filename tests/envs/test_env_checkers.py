"""Gymnasium's and stable-baselines3's env checkers pass with zero warnings."""

import warnings
from collections.abc import Callable

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gymnasium_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from cryptofolio.envs import ENV_ID, PortfolioEnv, load_csv_dir, synthetic_market
from tests.helpers import build_market

CHECKERS: dict[str, Callable[[gym.Env], None]] = {
    # An env built directly has no spec to re-make it in other render modes; the registered env covers that.
    "gymnasium": lambda env: gymnasium_check_env(env, skip_render_check=True),
    "sb3": sb3_check_env,
}


def assert_passes_without_warnings(check: Callable[[gym.Env], None], env: gym.Env) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check(env)
    assert [str(w.message) for w in caught] == []


@pytest.mark.parametrize("check", [gymnasium_check_env, sb3_check_env], ids=["gymnasium", "sb3"])
def test_checkers_pass_on_the_registered_env(check):
    assert_passes_without_warnings(check, gym.make(ENV_ID).unwrapped)


@pytest.mark.parametrize("name", CHECKERS)
def test_checkers_pass_with_a_late_listing_and_penalties(name):
    market = build_market(
        {"A": list(np.linspace(1, 2, 80)), "LATE": [np.nan] * 40 + list(np.linspace(5, 3, 40))}
    )
    env = PortfolioEnv(market, window=5, episode_length=10, turnover_penalty=0.01, slippage=0.0005)
    assert_passes_without_warnings(CHECKERS[name], env)


@pytest.mark.parametrize("name", CHECKERS)
def test_checkers_pass_with_every_lever(name):
    env = PortfolioEnv(
        synthetic_market(seed=1, n_bars=400), features="summary", residual=True, tilt=2.0, trade_band=0.05,
        action_penalty=0.01, drawdown_mode="increase", episode_length=20,
    )  # fmt: skip
    assert_passes_without_warnings(CHECKERS[name], env)


@pytest.mark.parametrize("name", CHECKERS)
def test_checkers_pass_on_real_daily_data(name, shared_data):
    market = load_csv_dir(shared_data / "binance-daily", symbols=["BTC", "ETH", "ARB"], start="2023-01-01")
    assert_passes_without_warnings(CHECKERS[name], PortfolioEnv(market, window=30))
