"""The real data in ../shared/data loads and an episode runs on it (skipped where it is absent)."""

import numpy as np
import pandas as pd
import pytest

from cryptofolio.envs import DataError, PortfolioEnv, load_csv_dir, risk_profile, split_by_dates

SPLITS = {
    "train": ("2020-10-15", "2022-12-31"),
    "validation": ("2023-01-01", "2023-12-31"),
    "test": ("2024-01-01", "2024-06-30"),
}


def run_whole_split(env: PortfolioEnv, seed: int = 0) -> dict:
    env.action_space.seed(seed)
    _, info = env.reset(options={"start": env.first_start, "to_end": True})
    done = False
    while not done:
        _, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert np.isfinite(reward)
        done = terminated or truncated
    return info


def test_every_daily_file_loads_with_its_listing_date(shared_data):
    market = load_csv_dir(shared_data / "binance-daily")
    assert market.n_assets == 20 and market.cash == "USDT"
    assert market.timestamps[0] == pd.Timestamp("2017-08-17", tz="UTC")
    assert market.timestamps[-1] == pd.Timestamp("2024-06-30", tz="UTC")
    assert market.timestamps[market.listing_bar("ARB")] == pd.Timestamp("2023-03-23", tz="UTC")
    assert not market.filled


def test_an_episode_runs_on_the_moderate_universe_through_arbs_listing(shared_data):
    symbols = risk_profile("moderate").assets
    market = load_csv_dir(shared_data / "binance-daily", symbols=symbols, start="2020-09-14")
    splits = split_by_dates(market, **SPLITS)
    env = PortfolioEnv(market, split="validation", splits=splits)
    info = run_whole_split(env)
    assert info["date"] == np.datetime64("2023-12-31")
    arb = market.column("ARB")
    listing = market.listing_bar("ARB")
    env.reset(options={"start": listing - 3})
    weights = [env.step(np.ones(len(market.symbols), dtype=np.float32))[4]["weights"][arb] for _ in range(6)]
    assert weights[:3] == [0.0, 0.0, 0.0] and all(w > 0 for w in weights[3:])


def test_hourly_gaps_are_errors_under_the_strict_policy(shared_data):
    with pytest.raises(DataError, match=r"BTC\.csv\.gz:line \d+: BTC has \d missing bar\(s\) from 20"):
        load_csv_dir(shared_data / "binance-hourly", symbols=["BTC", "ETH"])


def test_hourly_data_loads_with_gaps_filled_and_counted(shared_data):
    market = load_csv_dir(shared_data / "binance-hourly", symbols=["BTC", "ETH", "ARB"], ffill_limit=4)
    assert market.periods_per_year == 8760
    assert market.filled["BTC"] > 0 and market.filled["ETH"] > 0
    splits = split_by_dates(
        market,
        train=("2020-06-01", "2022-12-31"),
        validation=("2023-01-01", "2023-12-31"),
        test=("2024-01-01", "2024-05-08"),
    )
    run_whole_split(PortfolioEnv(market, split="test", splits=splits, window=48))


def test_usdc_can_be_the_cash_with_its_depeg(shared_data):
    market = load_csv_dir(
        shared_data / "binance-daily", symbols=["BTC", "ETH"], cash="USDC",
        cash_prices=shared_data / "stablecoins-usd-daily" / "USDC.csv", start="2019-01-01",
    )  # fmt: skip
    depeg = market.close[market.bar_at("2023-03-11"), 0]
    assert market.cash == "USDC" and depeg < 0.99
