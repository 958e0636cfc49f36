"""Tiny training configs: a few hundred steps, small networks, frequent validation."""

from collections.abc import Callable

import pytest

from cryptofolio.training.config import TrainConfig, resolve_config
from tests.helpers import tiny_overrides

ConfigFactory = Callable[..., TrainConfig]


@pytest.fixture
def tiny_config() -> ConfigFactory:
    def make(
        algo: str = "ppo", n_timesteps: int = 300, overrides: tuple[str, ...] = (), **explicit
    ) -> TrainConfig:
        return resolve_config(
            algo, overrides=[*tiny_overrides(algo), *overrides], n_timesteps=n_timesteps, **explicit
        )

    return make
