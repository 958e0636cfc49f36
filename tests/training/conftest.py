"""Tiny training configs: a few hundred steps, small networks, frequent validation."""

from collections.abc import Callable

import pytest

from cryptofolio.training.config import TrainConfig, resolve_config

TINY = {
    "ppo": ["n_steps=32", "batch_size=32", "n_epochs=2"],
    "recurrent_ppo": ["n_steps=32", "batch_size=32", "n_epochs=2", "policy_kwargs.lstm_hidden_size=8"],
    "a2c": ["n_steps=8"],
    "sac": ["learning_starts=50", "buffer_size=2000", "batch_size=32"],
    "td3": ["learning_starts=50", "buffer_size=2000", "batch_size=32"],
    "direct": ["n_steps=16"],
}
COMMON = [
    "n_envs=2",
    "eval_freq=100",
    "checkpoint_freq=200",
    "policy_kwargs.net_arch=[16,16]",
    "env.episode_length=60",
]

ConfigFactory = Callable[..., TrainConfig]


def tiny_overrides(algo: str) -> list[str]:
    return [*COMMON, *TINY[algo]]


@pytest.fixture
def tiny_config() -> ConfigFactory:
    def make(
        algo: str = "ppo", n_timesteps: int = 300, overrides: tuple[str, ...] = (), **explicit
    ) -> TrainConfig:
        return resolve_config(
            algo, overrides=[*tiny_overrides(algo), *overrides], n_timesteps=n_timesteps, **explicit
        )

    return make
