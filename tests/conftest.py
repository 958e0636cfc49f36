"""Shared fixtures: hand-made markets, the default synthetic market and tiny trained runs (built once per
test run), and the optional real data in ../shared/data. Helpers to import are in tests/helpers.py."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
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


@pytest.fixture
def postgres():
    """A throwaway PostgreSQL server on a free local port (as user postgres when run as root)."""
    if shutil.which("initdb") is None or shutil.which("pg_ctl") is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    pytest.importorskip("psycopg2", reason="the psycopg2 driver is not installed (pip install '.[postgres]')")
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="cryptofolio-pg-"))  # pytest's own folders are root's alone
    if as_user:
        folder.chmod(0o755)
        shutil.chown(folder, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run([*as_user, "initdb", "-D", str(folder / "data"), "-U", "postgres", "-A", "trust"],
                   check=True, capture_output=True)  # fmt: skip
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
    subprocess.run([*as_user, "pg_ctl", "-D", str(folder / "data"), "-o", options, "-w", "start",
                    "-l", str(folder / "log")], check=True, capture_output=True)  # fmt: skip
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, "pg_ctl", "-D", str(folder / "data"), "-m", "immediate", "stop"],
                       capture_output=True)  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)
