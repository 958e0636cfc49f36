"""A run's agent reloaded as its env knows it: profile, costs, actions, observation and split dates."""

from cryptofolio.agents.sb3 import run_env
from cryptofolio.envs import MarketConfig, SplitDates
from cryptofolio.training.config import resolve_config
from cryptofolio.training.run_folder import RunFolder
from cryptofolio.training.train import train
from tests.helpers import tiny_overrides


def test_the_runs_env_uses_its_recorded_split_dates(tmp_path):
    dates = SplitDates(
        ("2019-01-01", "2021-12-31"), ("2022-01-01", "2022-12-31"), ("2023-01-01", "2023-06-30")
    )
    config = resolve_config(
        "ppo", overrides=tiny_overrides("ppo"), n_timesteps=100, market=MarketConfig(splits=dates)
    )
    run = RunFolder.create(tmp_path, config)
    train(config, run)
    market, splits = config.market.load()
    env = run_env(run.path, market, split="test")
    assert (
        env.split_bars == splits.test
        and market.timestamps[env.split_bars.stop - 1].isoformat()[:10] == "2023-06-30"
    )
    assert env.config == config.env and env.profile == config.profile
