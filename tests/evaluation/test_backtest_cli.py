"""`cryptofolio backtest` end to end."""

import json

import pandas as pd
import pytest

from cryptofolio.agents import BASELINES
from cryptofolio.cli import main


def test_backtest_of_all_baselines_on_the_synthetic_market(tmp_path, capsys):
    assert (
        main(["backtest", "--policies", "all", "--split", "test", "--fee", "0.001", "--out", str(tmp_path)])
        == 0
    )
    out = capsys.readouterr().out
    table = pd.read_csv(tmp_path / "metrics.csv", index_col="policy")
    assert list(table.index) == list(BASELINES)
    assert {"sharpe", "max_drawdown", "turnover", "fees", "time_invested"} <= set(table.columns)
    assert set(json.loads((tmp_path / "metrics.json").read_text())) == set(BASELINES)
    assert (tmp_path / "results" / "moderate.csv").is_file() and (
        tmp_path / "results" / "moderate.json"
    ).is_file()
    assert "moderate" in out and "synthetic(seed=0), test split" in out


def test_backtest_with_options_writes_parquet(tmp_path):
    args = [
        "backtest",
        "--policies",
        "moderate:calendar=monthly,cash",
        "--format",
        "parquet",
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    assert (tmp_path / "results" / "moderate_calendar_monthly.parquet").is_file()


TRAIN_VAL = ["--train", "2019-01-01:2020-12-31", "--val", "2021-01-01:2021-06-30"]
REAL_SPLITS = [
    "--train",
    "2020-10-15:2022-12-31",
    "--val",
    "2023-01-01:2023-12-31",
    "--test",
    "2024-01-01:2024-06-30",
]
MODERATE_ASSETS = "BTC,ETH,SOL,AVAX,ATOM,LINK,AAVE,ARB,GRT"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--policies", "moderate,yolo"], "unknown baseline 'yolo'"),
        (["--assets", "BTC,FOO"], "no synthetic parameters for FOO"),
        ([*TRAIN_VAL, "--test", "2030-01-01:2030-02-01"], "split 'test' from 2030-01-01 to 2030-02-01 ends"),
        (["--train", "2019-01-01:2020-12-31"], "give --train and --val together"),
        (["--market", "/no/such/place"], "no such folder or file"),
        (["--columns", "close=Adj Close"], "the synthetic market has none"),
    ],
)  # fmt: skip
def test_bad_arguments_give_a_clear_error(args, message, tmp_path, capsys):
    assert main(["backtest", *args, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_backtest_on_real_daily_data(shared_data, tmp_path):
    market = ["--market", str(shared_data / "binance-daily"), "--assets", MODERATE_ASSETS]
    args = ["backtest", *market, *REAL_SPLITS, "--policies", "all", "--out", str(tmp_path)]
    assert main(args) == 0
    table = pd.read_csv(tmp_path / "metrics.csv", index_col="policy")
    assert table.loc["cash", "total_return"] == 0.0
    assert table["max_drawdown"].between(0, 1).all()
    # BTC bought at the 2023-12-31 close (the last price before the test split), held to 2024-06-30;
    # buying from cash at fee c leaves mu = 1 / (1 + c) of the value
    assert table.loc["btc_only", "total_return"] == pytest.approx(
        62772.01 / 42283.58 / (1 + 0.001) - 1, abs=1e-12
    )


def test_backtest_with_usdc_as_cash_from_its_own_prices(shared_data, tmp_path):
    cash = ["--cash", "USDC", "--cash-prices", str(shared_data / "stablecoins-usd-daily" / "USDC.csv")]
    market = [
        "--market",
        str(shared_data / "binance-daily"),
        "--assets",
        "BTC,ETH",
        *cash,
        "--start",
        "2019-01-01",
    ]
    assert main(["backtest", *market, *REAL_SPLITS, "--policies", "cash", "--out", str(tmp_path)]) == 0
    table = pd.read_csv(tmp_path / "metrics.csv", index_col="policy")
    assert table.loc["cash", "volatility"] > 0  # USDC's own small moves


def test_backtest_on_hourly_data_with_gaps_filled(shared_data, tmp_path):
    market = [
        "--market",
        str(shared_data / "binance-hourly"),
        "--assets",
        "BTC,ETH,ARB",
        "--ffill-limit",
        "4",
    ]
    splits = [
        "--train",
        "2020-06-01:2022-12-31",
        "--val",
        "2023-01-01:2023-12-31",
        "--test",
        "2024-01-01:2024-04-26",
    ]
    assert (
        main(["backtest", *market, *splits, "--policies", "moderate,btc_only", "--out", str(tmp_path)]) == 0
    )
    result = pd.read_csv(tmp_path / "results" / "moderate.csv")
    assert len(result) == 24 * 117 + 1  # hourly bars from the 2023-12-31 23:00 close to 2024-04-26 23:00


def test_backtest_reads_another_layout_through_columns(tmp_path, capsys):
    days = pd.date_range("2024-01-01", periods=40, freq="1D")
    for symbol, start in (("BTC", 100.0), ("ETH", 10.0)):
        closes = [start * 1.01**i for i in range(len(days))]
        frame = pd.DataFrame({"Date": days.strftime("%Y-%m-%d"), "Close": 1.0, "Adj Close": closes})
        frame.to_csv(tmp_path / f"{symbol}.csv", index=False)
    args = [
        "backtest",
        "--market",
        str(tmp_path),
        "--columns",
        "close=Adj Close",
        "--policies",
        "equal_weight",
    ]
    assert main([*args, "--out", str(tmp_path / "out")]) == 0
    table = pd.read_csv(tmp_path / "out" / "metrics.csv", index_col="policy")
    assert table.loc["equal_weight", "total_return"] > 0.05  # the adjusted closes, not the flat Close
