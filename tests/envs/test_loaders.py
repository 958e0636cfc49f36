"""Loaders: good files load, bad files are refused naming the file, the line and the problem."""

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cryptofolio.envs import DataError, load_csv_dir, load_wide_table

HEADER = "date,open,high,low,close,volume"


def rows(closes: list[float], start: str = "2024-01-01", freq: str = "1D") -> list[str]:
    stamps = pd.date_range(start, periods=len(closes), freq=freq)
    fmt = "%Y-%m-%d" if freq == "1D" else "%Y-%m-%d %H:%M:%S"
    return [f"{t.strftime(fmt)},{c},{c},{c},{c},10" for t, c in zip(stamps, closes, strict=True)]


def write(folder: Path, name: str, lines: list[str], header: str = HEADER) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    text = "\n".join([header, *lines]) + "\n"
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write(tmp_path, "BTC.csv", rows([100, 101, 102, 103, 104]))
    write(tmp_path, "ETH.csv.gz", rows([10, 11, 12, 13, 14]))
    return tmp_path


# --- good files ---------------------------------------------------------------------------------


def test_a_folder_of_daily_files_loads_with_cash_first(folder):
    market = load_csv_dir(folder)
    assert market.symbols == ("USDT", "BTC", "ETH")
    assert market.freq == pd.Timedelta(days=1) and market.periods_per_year == 365
    np.testing.assert_array_equal(market.close[:, 0], 1.0)
    np.testing.assert_array_equal(market.close[:, 2], [10, 11, 12, 13, 14])
    assert str(market.timestamps.tz) == "UTC" and market.timestamps[0] == pd.Timestamp("2024-01-01", tz="UTC")
    np.testing.assert_array_equal(market.ohlcv["volume"][:, 1], 10)
    assert market.categories == ("stablecoin", "store_of_value", "smart_contract_l1")


def test_hourly_files_load_with_8760_periods_a_year(tmp_path):
    header = "datetime_utc,open,high,low,close,volume"
    write(tmp_path, "BTC.csv.gz", rows([1, 2, 3], "2024-01-01 00:00", "1h"), header)
    market = load_csv_dir(tmp_path)
    assert market.freq == pd.Timedelta(hours=1) and market.periods_per_year == 8760


def test_symbols_choose_and_order_the_assets(folder):
    assert load_csv_dir(folder, symbols=["ETH", "BTC"]).symbols == ("USDT", "ETH", "BTC")


def test_an_asset_listed_later_is_unavailable_before_its_first_row(folder):
    write(folder, "ARB.csv", rows([5, 6], start="2024-01-04"))
    market = load_csv_dir(folder)
    column = market.column("ARB")
    np.testing.assert_array_equal(market.available[:, column], [False, False, False, True, True])
    assert np.isnan(market.close[:3, column]).all()
    assert market.listing_bar("ARB") == 3
    assert "ARB" not in market.filled


def test_an_asset_whose_prices_end_early_is_delisted_and_the_market_is_not_cut(folder):
    write(folder, "SOL.csv", rows([1, 2, 3]))
    market = load_csv_dir(folder)
    assert market.n_bars == 5 and market.timestamps[-1] == pd.Timestamp("2024-01-05", tz="UTC")
    assert market.delisted == {"SOL": 2}
    sol = market.column("SOL")
    assert market.available[:, sol].tolist() == [True, True, True, False, False]
    assert np.isnan(market.close[3:, sol]).all()


def test_start_and_end_are_inclusive(folder):
    market = load_csv_dir(folder, start="2024-01-02", end="2024-01-04")
    assert list(market.timestamps.strftime("%d")) == ["02", "03", "04"]


def test_a_stablecoin_price_series_can_be_the_cash(folder, tmp_path):
    usdc = write(tmp_path / "stable", "USDC.csv", rows([1.0, 0.99, 0.88, 0.97, 1.0]))
    market = load_csv_dir(folder, cash="USDC", cash_prices=usdc)
    assert market.cash == "USDC"
    np.testing.assert_array_equal(market.close[:, 0], [1.0, 0.99, 0.88, 0.97, 1.0])


def test_a_wide_csv_table_loads_with_blank_cells_before_listing(tmp_path):
    path = tmp_path / "closes.csv"
    path.write_text("date,BTC,ARB\n2024-01-01,100,\n2024-01-02,101,\n2024-01-03,102,2\n2024-01-04,103,3\n")
    market = load_wide_table(path)
    assert market.symbols == ("USDT", "BTC", "ARB")
    np.testing.assert_array_equal(market.available[:, 2], [False, False, True, True])


def test_a_wide_parquet_table_loads(tmp_path):
    frame = pd.DataFrame(
        {"BTC": [100.0, 101.0, 102.0], "USDC": [1.0, 0.9, 1.0]},
        index=pd.date_range("2024-01-01", periods=3, freq="1D", name="date"),
    )
    frame.to_parquet(tmp_path / "closes.parquet")
    market = load_wide_table(tmp_path / "closes.parquet", cash_column="USDC")
    assert market.symbols == ("USDC", "BTC")
    np.testing.assert_array_equal(market.close[:, 0], [1.0, 0.9, 1.0])


# --- gaps ---------------------------------------------------------------------------------------


@pytest.fixture
def gappy(tmp_path: Path) -> Path:
    header = "datetime_utc,open,high,low,close,volume"
    lines = rows([1, 2, 3, 4, 5, 6], "2024-01-01 00:00", "1h")
    write(tmp_path, "BTC.csv.gz", lines, header)
    write(tmp_path, "ETH.csv.gz", lines[:2] + lines[4:], header)  # 02:00 and 03:00 missing
    return tmp_path


def test_a_gap_is_an_error_by_default_naming_file_line_and_size(gappy):
    with pytest.raises(
        DataError, match=r"ETH\.csv\.gz:line 4: ETH has 2 missing bar\(s\) from 2024-01-01 02:00"
    ):
        load_csv_dir(gappy)


def test_a_gap_within_the_limit_is_forward_filled_and_counted(gappy):
    market = load_csv_dir(gappy, ffill_limit=2)
    np.testing.assert_array_equal(market.close[:, 2], [1, 2, 2, 2, 5, 6])
    np.testing.assert_array_equal(market.ohlcv["volume"][:, 2], [10, 10, 0, 0, 10, 10])
    assert market.available[:, 2].all()
    assert dict(market.filled) == {"ETH": 2}


def test_a_gap_longer_than_the_limit_is_an_error(gappy):
    with pytest.raises(DataError, match=r"longer than the fill limit 1; --ffill-limit 2, or ffill_limit=2"):
        load_csv_dir(gappy, ffill_limit=1)


def test_a_blank_cell_inside_a_wide_table_is_a_gap(tmp_path):
    path = tmp_path / "closes.csv"
    path.write_text("date,BTC\n2024-01-01,100\n2024-01-02,\n2024-01-03,102\n")
    with pytest.raises(DataError, match=r"closes\.csv:line 3: BTC has 1 missing bar"):
        load_wide_table(path)
    np.testing.assert_array_equal(load_wide_table(path, ffill_limit=1).close[:, 1], [100, 100, 102])


# --- bad files ----------------------------------------------------------------------------------


def test_a_file_without_closes_is_named(tmp_path):
    write(tmp_path, "BTC.csv", ["2024-01-01,1,1,1", "2024-01-02,1,1,1"], header="date,open,high,low")
    with pytest.raises(DataError, match=r"BTC\.csv: no close column; expected date,close \(open, high"):
        load_csv_dir(tmp_path)


def test_a_missing_time_column_is_named(tmp_path):
    write(tmp_path, "BTC.csv", ["1,1,1,1,1"], header="day,open,high,low,close,volume".replace("day,", "x,"))
    with pytest.raises(
        DataError, match=r"BTC\.csv: no time column; expected exactly one of date, datetime_utc"
    ):
        load_csv_dir(tmp_path)


def test_an_unparsable_timestamp_is_named_with_its_line(tmp_path):
    lines = rows([1, 2, 3])
    lines[1] = "2024-13-45" + lines[1][10:]
    write(tmp_path, "BTC.csv", lines)
    with pytest.raises(DataError, match=r"BTC\.csv:line 3: cannot parse timestamp '2024-13-45'"):
        load_csv_dir(tmp_path)


def test_a_duplicated_timestamp_is_named_with_its_line(tmp_path):
    lines = rows([1, 2, 3])
    write(tmp_path, "BTC.csv", [lines[0], lines[1], lines[1], lines[2]])
    with pytest.raises(DataError, match=r"BTC\.csv:line 4: duplicated timestamp 2024-01-02"):
        load_csv_dir(tmp_path)


def test_unsorted_timestamps_are_named_with_their_line(tmp_path):
    lines = rows([1, 2, 3])
    write(tmp_path, "BTC.csv", [lines[0], lines[2], lines[1]])
    with pytest.raises(
        DataError, match=r"BTC\.csv:line 4: timestamp 2024-01-02 .* is earlier than the previous"
    ):
        load_csv_dir(tmp_path)


@pytest.mark.parametrize("close", ["1e308", "1e-300"])
def test_a_price_that_moves_a_millionfold_in_a_bar_is_named(tmp_path, close):
    lines = rows([1, 2, 3])
    lines[1] = f"2024-01-02,2,2,2,{close},10"
    write(tmp_path, "BTC.csv", lines)
    with pytest.raises(
        DataError, match=rf"BTC\.csv:line 3: close {re.escape(repr(float(close)))} is .* times the one before"
    ):
        load_csv_dir(tmp_path)
    table = tmp_path / "wide.csv"
    table.write_text(f"date,BTC\n2024-01-01,1\n2024-01-02,{close}\n2024-01-03,3\n")
    with pytest.raises(DataError, match=r"wide\.csv:line 3: close .* times the one before"):
        load_wide_table(table)


@pytest.mark.parametrize("bad", ["0", "-5", "nan", "inf", "", "abc"])
def test_a_bad_price_is_named_with_its_line(tmp_path, bad):
    lines = rows([1, 2, 3])
    lines[2] = f"2024-01-03,3,3,3,{bad},10"
    write(tmp_path, "BTC.csv", lines)
    with pytest.raises(
        DataError, match=rf"BTC\.csv:line 4: close is '{bad}'; prices must be finite and positive"
    ):
        load_csv_dir(tmp_path)


def test_a_negative_volume_is_named_with_its_line(tmp_path):
    lines = rows([1, 2, 3])
    lines[0] = "2024-01-01,1,1,1,1,-3"
    write(tmp_path, "BTC.csv", lines)
    with pytest.raises(
        DataError, match=r"BTC\.csv:line 2: volume is '-3'; volume must be finite and non-negative"
    ):
        load_csv_dir(tmp_path)


def test_mixed_frequencies_inside_a_file_are_refused(tmp_path):
    header = "datetime_utc,open,high,low,close,volume"
    lines = rows([1, 2, 3, 4], "2024-01-01 00:00", "1h")
    lines[3] = "2024-01-01 03:30:00,4,4,4,4,10"
    write(tmp_path, "BTC.csv", lines, header)
    with pytest.raises(DataError, match=r"BTC\.csv:line 5: 0 days 01:30:00 .* mixed frequencies"):
        load_csv_dir(tmp_path)


def test_mixed_frequencies_across_files_are_refused(tmp_path):
    write(tmp_path, "BTC.csv", rows([1, 2, 3]))
    write(
        tmp_path,
        "ETH.csv",
        rows([1, 2, 3], "2024-01-01 00:00", "1h"),
        "datetime_utc,open,high,low,close,volume",
    )
    with pytest.raises(
        DataError, match=r"ETH\.csv has 0 days 01:00:00 bars but .*BTC\.csv has 1 days .* mixed"
    ):
        load_csv_dir(tmp_path)


def test_files_offset_from_each_other_are_refused(tmp_path):
    header = "datetime_utc,open,high,low,close,volume"
    write(tmp_path, "BTC.csv", rows([1, 2, 3], "2024-01-01 00:00", "1h"), header)
    write(tmp_path, "ETH.csv", rows([1, 2, 3], "2024-01-01 00:30", "1h"), header)
    with pytest.raises(DataError, match=r"ETH\.csv: its rows .* are offset from the 0 days 01:00:00 grid"):
        load_csv_dir(tmp_path)


def test_a_single_row_file_is_refused(tmp_path):
    write(tmp_path, "BTC.csv", rows([1]))
    with pytest.raises(DataError, match=r"BTC\.csv: a single row"):
        load_csv_dir(tmp_path)


def test_an_empty_file_is_refused(tmp_path):
    write(tmp_path, "BTC.csv", [])
    with pytest.raises(DataError, match=r"BTC\.csv: no data rows"):
        load_csv_dir(tmp_path)


def test_a_missing_symbol_is_named(folder):
    with pytest.raises(DataError, match=r"no file for SOL .* found BTC, ETH"):
        load_csv_dir(folder, symbols=["BTC", "SOL"])


def test_a_folder_without_csv_files_is_refused(tmp_path):
    with pytest.raises(DataError, match=r"no \.csv or \.csv\.gz files"):
        load_csv_dir(tmp_path)


def test_the_same_asset_twice_is_refused(folder):
    write(folder, "BTC.csv.gz", rows([1, 2]))
    with pytest.raises(DataError, match=r"both BTC\.csv and BTC\.csv\.gz hold BTC"):
        load_csv_dir(folder)


def test_the_cash_asset_among_the_files_needs_a_decision(folder):
    write(folder, "USDT.csv", rows([1, 1, 1, 1, 1]))
    with pytest.raises(DataError, match=r"USDT is the cash asset; pass cash_prices="):
        load_csv_dir(folder)


def test_cash_prices_must_cover_the_market(folder, tmp_path):
    usdc = write(tmp_path / "stable", "USDC.csv", rows([1.0, 1.0], start="2024-01-03"))
    with pytest.raises(
        DataError, match=r"USDC\.csv: the cash prices start at 2024-01-03 .* choose a later start"
    ):
        load_csv_dir(folder, cash="USDC", cash_prices=usdc)


def test_an_asset_without_prices_in_the_period_is_named(folder):
    write(folder, "ARB.csv", rows([5, 6], start="2024-01-04"))
    with pytest.raises(DataError, match=r"ARB\.csv: ARB has no prices between"):
        load_csv_dir(folder, end="2024-01-02")


def test_a_bad_cell_in_a_wide_table_is_named(tmp_path):
    path = tmp_path / "closes.csv"
    path.write_text("date,BTC\n2024-01-01,100\n2024-01-02,oops\n")
    with pytest.raises(
        DataError, match=r"closes\.csv:line 3: BTC is 'oops'; prices must be finite and positive"
    ):
        load_wide_table(path)


def test_a_wide_table_of_unknown_format_is_refused(tmp_path):
    (tmp_path / "closes.xlsx").write_text("")
    with pytest.raises(DataError, match="unknown table format"):
        load_wide_table(tmp_path / "closes.xlsx")


# --- what exchanges and data sites export -------------------------------------------------------

DAYS = pd.date_range("2024-01-01", periods=4, freq="1D", tz="UTC")


@pytest.mark.parametrize(
    ("header", "stamps"),
    [
        ("timestamp", [str(int(t.timestamp())) for t in DAYS]),  # epoch seconds
        ("open_time", [str(int(t.timestamp() * 1000)) for t in DAYS]),  # Binance klines: milliseconds
        ("Date", [f"{t:%Y-%m-%d %H:%M:%S} UTC" for t in DAYS]),  # a trailing UTC
        ("datetime", [f"{t:%Y-%m-%dT%H:%M:%SZ}" for t in DAYS]),  # a trailing Z
    ],
    ids=["epoch-seconds", "epoch-milliseconds", "trailing-utc", "trailing-z"],
)
def test_exchange_time_columns_load_to_the_same_bars(tmp_path, header, stamps):
    write(
        tmp_path,
        "BTC.csv",
        [f"{s},{c}" for s, c in zip(stamps, [100, 101, 102, 103], strict=True)],
        f"{header},close",
    )
    market = load_csv_dir(tmp_path)
    assert list(market.timestamps) == list(DAYS)
    np.testing.assert_array_equal(market.close[:, 1], [100, 101, 102, 103])


def test_a_close_only_file_loads_and_keeps_no_other_field(tmp_path):
    write(tmp_path, "BTC.csv", ["2024-01-01,100", "2024-01-02,101"], "date,Close")
    write(tmp_path, "ETH.csv", rows([10, 11]))
    market = load_csv_dir(tmp_path)
    assert market.symbols == ("USDT", "BTC", "ETH") and dict(market.ohlcv) == {}


def test_symbols_are_read_in_upper_case(tmp_path):
    write(tmp_path, "btc.csv", rows([100, 101, 102]))
    write(tmp_path, "Eth.csv", rows([10, 11, 12]))
    market = load_csv_dir(tmp_path, symbols=["eth", "btc"], cash="usdt")
    assert market.symbols == ("USDT", "ETH", "BTC")
    table = tmp_path / "closes.csv"
    table.write_text("date,btc,eth\n2024-01-01,1,2\n2024-01-02,1,2\n")
    assert load_wide_table(table).symbols == ("USDT", "BTC", "ETH")


def test_two_files_or_columns_for_one_symbol_are_refused(tmp_path):
    write(tmp_path, "BTC.csv", rows([100, 101]))
    write(tmp_path / "x", "btc.csv", rows([100, 101]))
    write(tmp_path / "x", "BTC.csv.gz", rows([100, 101]))
    with pytest.raises(DataError, match=r"both BTC\.csv\.gz and btc\.csv hold BTC"):
        load_csv_dir(tmp_path / "x")
    table = tmp_path / "closes.csv"
    table.write_text("date,btc,BTC\n2024-01-01,1,2\n2024-01-02,1,2\n")
    with pytest.raises(DataError, match="two columns hold BTC"):
        load_wide_table(table)


def test_epoch_times_in_two_units_are_refused_naming_the_line(tmp_path):
    seconds, millis = str(int(DAYS[0].timestamp())), str(int(DAYS[1].timestamp() * 1000))
    write(tmp_path, "BTC.csv", [f"{seconds},1", f"{millis},1"], "timestamp,close")
    with pytest.raises(
        DataError, match=r"BTC\.csv:line 3: epoch time \d+ is in ms but the first row's is in s"
    ):
        load_csv_dir(tmp_path)


def test_one_assets_candles_given_as_a_table_of_closes_are_refused(tmp_path):
    path = write(tmp_path, "BTC.csv", rows([100, 101]))
    with pytest.raises(
        DataError, match=r"BTC\.csv: its columns \(open, high, low, close, volume\) are one asset's"
    ):
        load_wide_table(path)


def test_a_risky_cash_asset_is_refused_and_a_fiat_one_is_not(folder):
    with pytest.raises(ValueError, match="the cash asset BTC is a risky asset"):
        load_csv_dir(folder, symbols=["ETH"], cash="btc")
    assert load_csv_dir(folder, cash="USD").cash == "USD"


def test_a_binance_kline_export_with_its_header_loads(tmp_path):
    header = (
        "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
        "taker_buy_quote_volume,ignore"
    )
    lines = [
        f"{int(t.timestamp() * 1000)},{c},{c},{c},{c},5,{int(t.timestamp() * 1000) + 86_399_999},1,1,1,1,0"
        for t, c in zip(DAYS, [100, 101, 102, 103], strict=True)
    ]
    write(tmp_path, "btcusdt.csv", lines, header)
    market = load_csv_dir(tmp_path)
    assert market.symbols == ("USDT", "BTCUSDT") and list(market.timestamps) == list(DAYS)
    assert set(market.ohlcv) == {"open", "high", "low", "volume"}


def test_a_column_mapping_reads_a_yahoo_export_with_its_adjusted_close(tmp_path):
    header = "Date,Open,High,Low,Close,Adj Close,Volume"
    write(tmp_path, "BTC-USD.csv", ["2024-01-01,1,1,1,100,90,5", "2024-01-02,1,1,1,110,99,5"], header)
    market = load_csv_dir(tmp_path, columns=["close=Adj Close"])
    np.testing.assert_array_equal(market.close[:, 1], [90.0, 99.0])  # Yahoo's unadjusted Close set aside
    assert market.symbols == ("USDT", "BTC-USD")


def test_a_column_mapping_names_a_tables_time_and_asset_columns(tmp_path):
    table = tmp_path / "closes.csv"
    table.write_text("Day (UTC),Bitcoin,eth\n2024-01-01,100,10\n2024-01-02,101,11\n")
    market = load_wide_table(table, columns=["time=Day (UTC)", "BTC=Bitcoin"])
    assert market.symbols == ("USDT", "BTC", "ETH") and list(market.timestamps) == list(DAYS[:2])
    with pytest.raises(DataError, match="no time column"):
        load_wide_table(table)  # without the mapping the file is refused, not guessed


def test_a_mapped_column_a_file_lacks_is_named_with_the_file_and_entry(folder):
    with pytest.raises(DataError, match=r"BTC\.csv: no column 'Adj Close' \(columns: close=Adj Close\)"):
        load_csv_dir(folder, columns=["close=Adj Close"])


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (["close"], "'close' is not NAME=COLUMN"),
        (["close=", "time=Date"], "'close=' is not NAME=COLUMN"),
        (["close=Adj Close", "Close=Price"], "maps a name or a column a second time"),
        (["close=Price", "open=price"], "maps a name or a column a second time"),
    ],
)
def test_a_malformed_column_mapping_is_one_line(folder, entries, message):
    with pytest.raises(ValueError, match=message):
        load_csv_dir(folder, columns=entries)
