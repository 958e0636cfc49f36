"""`cryptofolio data fetch` against a stand-in exchange: pages, retries, and files that load."""

import json

import numpy as np
import pandas as pd
import pytest

from cryptofolio.commands.data import main
from cryptofolio.envs import fetch, load_csv_dir
from cryptofolio.envs.fetch import Exchange, fetch_candles, timeframe_seconds

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


def fetched_folder(tmp_path, days: int = 30):
    """A folder as `data fetch` wrote it on 2024-01-01 + ``days``: BTC and ETH, daily."""
    exchange = RecordedExchange(
        {"BTC/USDT": recorded("2024-01-01", 90), "ETH/USDT": recorded("2024-01-01", 90)}
    )
    until = (pd.Timestamp("2024-01-01") + pd.Timedelta(days=days)).strftime("%Y-%m-%d")
    args = ["fetch", "--exchange", "x", "--symbols", "BTC,ETH", "--since", "2024-01-01", "--until", until]
    assert main([*args, "--out", str(tmp_path)], exchange=exchange) == 0
    return exchange


def test_update_appends_the_closed_candles_after_each_files_last_row_and_keeps_its_rows(tmp_path, capsys):
    exchange = fetched_folder(tmp_path)
    before = (tmp_path / "BTC.csv").read_text()
    args = ["update", "--exchange", "x", "--until", "2024-02-15", "--out", str(tmp_path)]
    assert main(args, exchange=exchange) == 0
    assert (tmp_path / "BTC.csv").read_text().startswith(before)  # the rows it held, byte for byte
    market = load_csv_dir(tmp_path)
    assert market.n_bars == 45 and market.timestamps[-1] == pd.Timestamp("2024-02-14", tz="UTC")
    np.testing.assert_allclose(market.close[:, 1], [c[4] for c in recorded("2024-01-01", 45)], rtol=1e-15)
    assert "BTC/USDT: 15 new candle(s)" in capsys.readouterr().err
    assert main(args, exchange=exchange) == 0  # up to date: nothing added
    assert load_csv_dir(tmp_path).n_bars == 45


def test_update_refuses_a_file_in_another_layout_and_changes_nothing(tmp_path, capsys):
    (tmp_path / "BTC.csv").write_text("Date,Close\n2024-01-01,1\n2024-01-02,2\n")
    args = ["update", "--exchange", "x", "--out", str(tmp_path)]
    assert main(args, exchange=RecordedExchange({})) == 2
    assert "BTC.csv: not a file `data fetch` wrote" in capsys.readouterr().err
    assert (tmp_path / "BTC.csv").read_text() == "Date,Close\n2024-01-01,1\n2024-01-02,2\n"


def test_an_exchange_failure_stops_update_in_one_line(tmp_path, capsys):
    fetched_folder(tmp_path)
    failing = RecordedExchange({"BTC/USDT": recorded("2024-01-01", 90)}, failures=99)
    args = ["update", "--exchange", "x", "--symbols", "BTC", "--retries", "0", "--out", str(tmp_path)]
    assert main(args, exchange=failing) == 2
    assert "BTC/USDT: the exchange failed: connection reset by peer" in capsys.readouterr().err


def test_recommend_fetch_prices_the_orders_at_the_fresh_close_and_a_failure_is_a_warning(
    tmp_path, monkeypatch, capsys
):
    from cryptofolio.cli import main as cli
    from cryptofolio.commands import data

    exchange = fetched_folder(tmp_path / "market", days=60)
    capsys.readouterr()
    holdings = tmp_path / "h.json"
    holdings.write_text('{"USDT": 1000}')
    args = ["recommend", "--policy", "equal_weight", "--holdings", str(holdings), "--format", "json",
            "--market", str(tmp_path / "market"), "--assets", "BTC,ETH", "--fetch", "x",
            "--window", "10"]  # fmt: skip
    failing = RecordedExchange({})  # knows no market: fails at once
    monkeypatch.setattr(data, "open_exchange", lambda name: Exchange(failing))
    monkeypatch.setattr(fetch, "PAGE", 10)
    assert cli(args) == 0  # no network: the files stay, the prices on disk are used and said to be old
    out, err = capsys.readouterr()
    assert json.loads(out)["date"] == "2024-02-29T00:00:00Z"
    assert "BTC/USDT: cannot fetch ('unknown market BTC/USDT')" in err
    monkeypatch.setattr(data, "open_exchange", lambda name: Exchange(exchange))
    assert cli(args) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["date"] == "2024-03-30T00:00:00Z" and "ETH/USDT: 30 new candle(s)" in err


def test_an_exchange_failure_stops_fetch_in_one_line(tmp_path, capsys):
    failing = RecordedExchange({}, failures=99)
    args = ["fetch", "--exchange", "x", "--symbols", "BTC", "--since", "2024-01-01", "--until", "2024-01-05",
            "--retries", "0", "--out", str(tmp_path)]  # fmt: skip
    assert main(args, exchange=failing) == 2
    error = capsys.readouterr().err.strip()
    assert error.endswith("BTC/USDT: the exchange failed: connection reset by peer")
    assert len(error.splitlines()) == 1 and not list(tmp_path.iterdir())
