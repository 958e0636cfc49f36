"""`cryptofolio data fetch` against a stand-in exchange: pages, retries, and files that load."""

import numpy as np
import pandas as pd
import pytest

from cryptofolio.commands.data import main
from cryptofolio.envs import load_csv_dir
from cryptofolio.envs.fetch import fetch_candles, timeframe_seconds

DAY_MS = 86_400_000


class RecordedExchange:
    """Serves recorded candles like ccxt's fetch_ohlcv, in pages; can fail a few times first."""

    def __init__(self, candles: dict[str, list[list[float]]], failures: int = 0, page: int = 100) -> None:
        self.candles, self.failures, self.page, self.calls = candles, failures, page, []

    def fetch_ohlcv(self, symbol, timeframe, since, limit):
        self.calls.append((symbol, since))
        if self.failures:
            self.failures -= 1
            raise ConnectionError("connection reset by peer")
        if symbol not in self.candles:
            raise KeyError(f"unknown market {symbol}")
        rows = [c for c in self.candles[symbol] if c[0] >= since]
        return rows[: min(limit, self.page)]


def recorded(start: str, n: int, step_ms: int = DAY_MS, price: float = 100.0) -> list[list[float]]:
    first = int(pd.Timestamp(start, tz="UTC").timestamp() * 1000)
    closes = price * np.cumprod(1 + 0.01 * np.sin(np.arange(n)))
    return [[first + i * step_ms, c, c * 1.01, c * 0.99, c, 10.0 + i] for i, c in enumerate(closes)]


def test_pages_are_joined_and_unfinished_candles_dropped():
    exchange = RecordedExchange({"BTC/USDT": recorded("2024-01-01", 250)}, page=100)
    until = pd.Timestamp("2024-08-01", tz="UTC")  # candle of 2024-07-31 closes exactly then
    candles = fetch_candles(
        exchange, "BTC/USDT", "1d", pd.Timestamp("2024-01-01", tz="UTC"), until, retryable=()
    )
    assert len(candles) == 213 and candles["time"].iloc[-1] == pd.Timestamp("2024-07-31", tz="UTC")
    assert candles["time"].diff().dropna().eq(pd.Timedelta(days=1)).all()
    assert len(exchange.calls) == 3  # 100 + 100 + 13


def test_network_errors_are_retried_with_backoff():
    waits = []
    exchange = RecordedExchange({"BTC/USDT": recorded("2024-01-01", 10)}, failures=2)
    start, end = pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-01-11", tz="UTC")
    candles = fetch_candles(
        exchange, "BTC/USDT", "1d", start, end, retryable=(ConnectionError,), backoff=0.5, sleep=waits.append,
    )  # fmt: skip
    assert len(candles) == 10 and waits == [0.5, 1.0]


def test_retries_give_up_and_other_errors_stop_at_once():
    start, end = pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-01-11", tz="UTC")
    failing = RecordedExchange({"BTC/USDT": recorded("2024-01-01", 10)}, failures=9)
    with pytest.raises(ConnectionError):
        fetch_candles(
            failing,
            "BTC/USDT",
            "1d",
            start,
            end,
            retryable=(ConnectionError,),
            retries=2,
            sleep=lambda s: None,
        )
    with pytest.raises(KeyError, match="unknown market"):
        fetch_candles(RecordedExchange({}), "XYZ/USDT", "1d", start, end, retryable=(ConnectionError,))


def test_the_command_writes_daily_files_that_load(tmp_path, capsys):
    exchange = RecordedExchange(
        {"BTC/USDT": recorded("2024-01-01", 60), "ETH/USDT": recorded("2024-01-05", 56, price=10)}
    )
    dates = ["--since", "2024-01-01", "--until", "2024-03-01"]
    args = ["fetch", "--exchange", "stand-in", "--symbols", "BTC,ETH", *dates, "--out", str(tmp_path)]
    assert main(args, exchange=exchange) == 0
    assert (tmp_path / "BTC.csv").read_text().startswith("date,open,high,low,close,volume\n2024-01-01,")
    market = load_csv_dir(tmp_path)
    assert market.symbols == ("USDT", "BTC", "ETH") and market.n_bars == 60
    assert market.timestamps[market.listing_bar("ETH")] == pd.Timestamp("2024-01-05", tz="UTC")
    assert "BTC/USDT: 60 candles" in capsys.readouterr().out


def test_the_command_writes_hourly_files_that_load(tmp_path):
    exchange = RecordedExchange({"BTC/USDT": recorded("2024-01-01", 48, step_ms=3_600_000)})
    args = ["fetch", "--exchange", "x", "--symbols", "BTC", "--timeframe", "1h", "--since", "2024-01-01",
            "--until", "2024-01-03", "--out", str(tmp_path)]  # fmt: skip
    assert main(args, exchange=exchange) == 0
    market = load_csv_dir(tmp_path)
    assert market.periods_per_year == 8760 and market.n_bars == 48


@pytest.mark.parametrize(
    ("timeframe", "seconds"), [("1m", 60), ("4h", 14_400), ("1d", 86_400), ("1w", 604_800)]
)
def test_timeframes(timeframe, seconds):
    assert timeframe_seconds(timeframe) == seconds


def test_a_bad_timeframe_is_named():
    with pytest.raises(ValueError, match="timeframe '1x'"):
        timeframe_seconds("1x")
