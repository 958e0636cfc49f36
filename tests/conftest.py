"""Shared fixtures: hand-made markets, the default synthetic market and tiny trained runs (built once per
test run), and the optional real data in ../shared/data. Helpers to import are in tests/helpers.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from cryptofolio.envs import MarketConfig, MarketData, Splits
from tests.helpers import SHARED_DATA, MarketFactory, build_market, tiny_overrides


@pytest.fixture
def make_market() -> MarketFactory:
    return build_market


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real market data not found at {SHARED_DATA} (set CRYPTOFOLIO_DATA to its folder)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def default_market() -> tuple[MarketData, Splits]:
    """The default market (``MarketConfig()``: the synthetic market, seed 0) and its splits, loaded once.

    Shared by every test that asks for it: read it, never change it.
    """
    return MarketConfig().load()


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two tiny PPO runs (seeds 0 and 1, 200 steps) of the moderate profile on the default market, trained
    once per test run. Tests read them; a test that changes a run folder works on a copy."""
    from cryptofolio.training.config import resolve_config
    from cryptofolio.training.run_folder import RunFolder
    from cryptofolio.training.train import train

    folder = tmp_path_factory.mktemp("tiny-runs")
    paths = []
    for seed in (0, 1):
        config = resolve_config("ppo", overrides=tiny_overrides("ppo"), n_timesteps=200, seed=seed)
        run = RunFolder.create(folder, config)
        train(config, run)
        paths.append(run.path)
    return paths[0], paths[1]
