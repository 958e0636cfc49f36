"""Market files a hostile-input run planted: each is refused in one line naming it, or read as named."""

import gzip
import os
import re
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from cryptofolio.envs import DataError, load_csv_dir, load_wide_table
from cryptofolio.envs.loaders import asset_files

DAYS = pd.date_range("2024-01-01", periods=5, freq="1D", tz="UTC")


def candles(stamps: list[str], name: str, folder: Path) -> Path:
    """A per-asset file ``name`` in ``folder`` with ``stamps`` as its time column and rising closes."""
    text = "date,close\n" + "".join(f"{t},{100 + i}\n" for i, t in enumerate(stamps))
    path = folder / name
    path.write_bytes(gzip.compress(text.encode()) if name.lower().endswith(".gz") else text.encode())
    return path


def days() -> list[str]:
    return [f"{t:%Y-%m-%d}" for t in DAYS]


@contextmanager
def no_hang(seconds: int = 5) -> Iterator[None]:
    """Fail, instead of blocking forever, if the body is still running after ``seconds``."""

    def stop(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s: a blocking read")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --- times a market cannot hold --------------------------------------------------------------------


def test_dates_in_the_2920s_are_refused_naming_file_and_line(tmp_path):
    candles([f"29{d[2:]}" for d in days()], "BTC.csv", tmp_path)
    with pytest.raises(DataError, match=r"BTC\.csv:line 2: timestamp '2924-01-01' is outside the times"):
        load_csv_dir(tmp_path)


def test_a_table_with_a_date_in_the_2920s_is_refused_naming_its_line(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("date,BTC\n2024-01-01,1\n2924-01-02,2\n")
    with pytest.raises(DataError, match=r"t\.csv:line 3: timestamp '2924-01-02' is outside"):
        load_wide_table(table)


def test_a_parquet_datetime_column_in_the_2920s_is_refused_naming_its_row(tmp_path):
    table = tmp_path / "t.parquet"
    stamps = pd.Series(pd.to_datetime(["2024-01-01", "2924-01-02"]).as_unit("s"))
    pd.DataFrame({"date": stamps, "BTC": [1.0, 2.0]}).to_parquet(table)
    with pytest.raises(DataError, match=r"t\.parquet:row 1: timestamp .*2924-01-02.* is outside"):
        load_wide_table(table)


@pytest.mark.parametrize(
    ("stamps", "message"),
    [
        (
            ["1", "2", "3", "4", "5"],
            r"line 2: time 1 read as epoch seconds .* is 1970-01-01T00:00:01, outside 2000",
        ),
        (["0", "86400", "172800"], r"line 2: time 0 read as epoch seconds"),
        (
            [str(5 * 10**11 + i * 86_400_000) for i in range(3)],
            r"line 2: time 500000000000 read as epoch millis",
        ),
        (
            [str(9 * 10**10 + i * 86_400) for i in range(3)],
            r"line 2: time 90000000000 read as epoch seconds .* is 4821-12-26T16:00:00",
        ),
        (["1" + "0" * 24, "2" + "0" * 24], r"line 2: time 10{24} read as epoch nanoseconds .* is after 2262"),
    ],
    ids=["row-numbers", "from-zero", "milliseconds-in-1985", "seconds-in-4822", "beyond-int64"],
)
def test_whole_numbers_that_are_not_plausible_epoch_times_are_refused(tmp_path, stamps, message):
    candles(stamps, "BTC.csv", tmp_path)
    with pytest.raises(DataError, match=r"BTC\.csv:" + message):
        load_csv_dir(tmp_path)


def test_row_numbers_as_a_tables_times_are_refused(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("time,BTC,ETH\n1,1,2\n2,1,2\n3,1,2\n")
    with pytest.raises(DataError, match=r"t\.csv:line 2: time 1 read as epoch seconds"):
        load_wide_table(table)


@pytest.mark.parametrize("scale", [10**6, 10**9], ids=["microseconds", "nanoseconds"])
def test_epoch_times_in_every_unit_still_load(tmp_path, scale):
    candles([str(int(t.timestamp()) * scale) for t in DAYS], "BTC.csv", tmp_path)
    assert list(load_csv_dir(tmp_path).timestamps) == list(DAYS)


# --- file names in any case ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["BTC.CSV", "BTC.CSV.GZ", "btc.Csv.Gz"])
def test_a_csv_suffix_in_upper_case_is_read_like_a_lower_case_one(tmp_path, name):
    candles(days(), name, tmp_path)
    candles(days(), "ETH.csv", tmp_path)
    market = load_csv_dir(tmp_path)
    assert market.symbols == ("USDT", "BTC", "ETH") and list(market.timestamps) == list(DAYS)


def test_btc_csv_in_upper_case_beside_btc_csv_is_two_files_for_one_asset(tmp_path):
    candles(days(), "BTC.CSV", tmp_path)
    candles(days(), "BTC.csv", tmp_path)
    with pytest.raises(DataError, match=r"both BTC\.CSV and BTC\.csv hold BTC; keep one"):
        load_csv_dir(tmp_path)


def test_cash_prices_named_in_upper_case_are_the_cash_assets(tmp_path):
    (tmp_path / "market").mkdir()
    candles(days(), "BTC.csv", tmp_path / "market")
    cash = candles(days(), "USDC.CSV", tmp_path)
    market = load_csv_dir(tmp_path / "market", cash="USDC", cash_prices=cash)
    assert market.symbols == ("USDC", "BTC")


# --- entries that are not regular files ------------------------------------------------------------


@pytest.fixture
def market(tmp_path: Path) -> Path:
    candles(days(), "BTC.csv", tmp_path)
    return tmp_path


def _socket(path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    cwd = Path.cwd()
    os.chdir(path.parent)  # a socket's path is short; tmp_path may not be
    try:
        server.bind(path.name)
    finally:
        os.chdir(cwd)
        server.close()


@pytest.mark.parametrize(
    ("name", "make", "kind"),
    [
        ("XRP.csv", os.mkfifo, "a FIFO"),
        ("XRP.csv.gz", os.mkfifo, "a FIFO"),
        ("SOCK.csv", _socket, "a socket"),
        ("DEV.csv", lambda p: p.symlink_to("/dev/null"), "a device"),
        ("ETC.csv", Path.mkdir, "a folder"),
    ],
    ids=["fifo", "fifo-gz", "socket", "device", "folder"],
)
def test_an_entry_that_is_not_a_regular_file_is_refused_before_it_is_opened(market, name, make, kind):
    make(market / name)
    with no_hang(), pytest.raises(DataError, match=rf"{re.escape(name)}: {kind}, not a regular file"):
        asset_files(market)
    with no_hang(), pytest.raises(DataError, match=r"not a regular file"):
        load_csv_dir(market, symbols=["BTC"])


def test_a_symlink_loop_and_a_broken_link_are_named(market):
    (market / "LOOP.csv").symlink_to("LOOP.csv")
    with pytest.raises(DataError, match=r"LOOP\.csv: cannot be read: Too many levels of symbolic links"):
        asset_files(market)
    (market / "LOOP.csv").unlink()
    (market / "GONE.csv").symlink_to("nowhere.csv")
    with pytest.raises(DataError, match=r"GONE\.csv: a link to a missing file"):
        asset_files(market)


def test_a_fifo_given_as_cash_prices_or_as_a_table_is_refused_without_blocking(market, tmp_path):
    os.mkfifo(tmp_path / "USDC.csv")
    os.mkfifo(tmp_path / "t.parquet")
    with no_hang(), pytest.raises(DataError, match=r"USDC\.csv: a FIFO"):
        load_csv_dir(market, symbols=["BTC"], cash="USDC", cash_prices=tmp_path / "USDC.csv")
    with no_hang(), pytest.raises(DataError, match=r"t\.parquet: a FIFO"):
        load_wide_table(tmp_path / "t.parquet")


# --- a table's columns ---------------------------------------------------------------------------


@pytest.mark.parametrize("column", ["close", "CLOSE", "Volume", "open", "quote_volume"])
def test_a_table_column_named_like_a_candle_field_is_refused_naming_it(tmp_path, column):
    table = tmp_path / "t.csv"
    table.write_text(f"date,BTC,{column}\n2024-01-01,100,10\n2024-01-02,101,11\n")
    with pytest.raises(
        DataError, match=rf"t\.csv: column '{column}' is named like a candle field, not an asset"
    ):
        load_wide_table(table)


def test_a_column_named_close_loads_when_mapped_to_its_symbol(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("date,BTC,close\n2024-01-01,100,10\n2024-01-02,101,11\n")
    assert load_wide_table(table, columns=["ETH=close"]).symbols == ("USDT", "BTC", "ETH")
