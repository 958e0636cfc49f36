"""Loaders of real market data into :class:`MarketData`.

Two layouts are read:

- a folder with one file per asset (``BTC.csv`` or ``BTC.csv.gz``; ``btc.csv`` and ``BTC.CSV`` too), a time
  column and ``close``; ``open``, ``high``, ``low`` and ``volume`` are kept where every file has
  them (nothing here needs more than the close);
- one wide table of closes (CSV or Parquet): a time column, then one column per asset,
  empty before an asset's listing.

What exchanges and data sites export reads as it is:

- the time column is one of :data:`TIME_COLUMNS` (any case); its cells are ISO 8601 times
  (``2017-08-17``, ``2017-08-17T00:00:00Z``, ``2017-08-17 00:00:00+00:00``), the same with a
  trailing ``UTC`` or ``GMT`` (``2017-08-17 00:00:00 UTC``), or epoch numbers in seconds,
  milliseconds, microseconds or nanoseconds, told apart by magnitude (below 1e11 seconds, 1e14
  milliseconds, 1e17 microseconds) that fall from 2000 to about now; times without a zone are UTC;
- column names are read in any case (``Close``), and symbols in upper case: ``btc.csv`` and a
  column ``btc`` are ``BTC``, as are ``symbols=["btc"]`` and ``cash="usdt"``; two files or columns
  for one symbol are refused.

Other layouts read through a column mapping (``columns``, ``--columns`` on the command line):
entries ``NAME=COLUMN`` name the column of the files that holds each of ``time``, ``open``,
``high``, ``low``, ``close``, ``volume`` (or, in a table of closes, an asset's symbol), e.g.
``time=Date,close=Adj Close`` for a Yahoo export. A mapped column takes the name; a column
already carrying it (Yahoo's unadjusted ``Close``, another time column) is set aside; every
file must hold every mapped column.

Refused, never absorbed: a table whose columns are one asset's candles (``open``, ``close``,
...) given as a table of closes, or that has a column so named; a cash asset that is a known risky
asset (``BTC``); a ``.csv`` entry that is not a regular file (a FIFO, a folder), before it is opened.

Assets are aligned on one regular UTC grid from the first listing to the latest last bar
(cut where given cash prices end). An asset whose prices end before that is delisted after its
last bar (:attr:`MarketData.delisted`): the market is not cut to survivors. A missing bar
inside an asset's life is a gap: by default an error; with ``ffill_limit=k``, gaps of up to k
bars carry the last close forward and are counted in :attr:`MarketData.filled`. Nothing is
ever filled before an asset's first price or after its last. Every problem raises
:class:`DataError` naming the file, the line (or Parquet row) and what is wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cryptofolio.envs.errors import ConfigError, DataError
from cryptofolio.envs.files import check_regular
from cryptofolio.envs.market import MAX_MOVE, OHLCV_FIELDS, MarketData, time_bounds
from cryptofolio.envs.profiles import OTHER, STABLECOIN, asset_category
from cryptofolio.envs.synthetic import calibrated_model

log = logging.getLogger(__name__)

TIME_COLUMNS = ("date", "datetime_utc", "datetime", "timestamp", "time", "open_time")
"""Names of the time column (any case), in per-asset files and tables alike; exactly one per file."""
FILE_COLUMNS = ("open", "high", "low", "close", "volume")
CANDLE_COLUMNS = {*FILE_COLUMNS, "quote_volume", "trades", "close_time"}
"""Columns of one asset's candles: a 'table of closes' made only of these is one asset's file."""
EPOCH_UNITS = ((1e11, "s"), (1e14, "ms"), (1e17, "us"), (float("inf"), "ns"))
"""Epoch numbers below each bound are in that unit."""
EPOCH_FIRST = pd.Timestamp("2000-01-01", tz="UTC")
EPOCH_MARGIN = pd.Timedelta(days=366)
"""Epoch numbers must be times from :data:`EPOCH_FIRST` to now plus this margin: others (row numbers, ids) are
not times."""
UNIT_NAMES = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
UNIT_NANOSECONDS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
MISSING_CELLS = ("", "nan", "NaN", "NA", "null")


def column_mapping(entries: Sequence[str] | None) -> dict[str, str]:
    """``["time=Date", "close=Adj Close"]`` as ``{"time": "Date", "close": "Adj Close"}``.

    :raises ConfigError: for an entry that is not ``NAME=COLUMN``, or a name or column given twice.
    """
    mapping: dict[str, str] = {}
    for entry in entries or ():
        name, equals, column = (part.strip() for part in entry.partition("="))
        if not (equals and name and column):
            raise ConfigError(f"columns: {entry!r} is not NAME=COLUMN, e.g. close=Adj Close or time=Date")
        name = name.lower() if name.lower() in (*FILE_COLUMNS, "time") else name.upper()
        if name in mapping or column.lower() in (c.lower() for c in mapping.values()):
            raise ConfigError(f"columns: {entry!r} maps a name or a column a second time")
        mapping[name] = column
    return mapping


@dataclass
class _Asset:
    """One asset's rows as read, before alignment on the market grid."""

    symbol: str
    path: Path
    timestamps: pd.DatetimeIndex  # (n,) UTC, strictly increasing, unit ns
    values: dict[str, np.ndarray]  # field -> (n,) float64; NaN marks a missing cell (wide tables)
    rows: np.ndarray  # (n,) line (CSV, header is line 1) or row (Parquet) of each entry
    row_word: str  # "line" or "row"

    def where(self, i: int) -> str:
        return f"{self.path}:{self.row_word} {self.rows[i]}"


def load_csv_dir(
    path: str | Path,
    *,
    symbols: Sequence[str] | None = None,
    cash: str = "USDT",
    cash_prices: str | Path | None = None,
    ffill_limit: int = 0,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    columns: Sequence[str] | None = None,
) -> MarketData:
    """Load a folder of per-asset OHLCV files.

    :param path: folder holding ``<SYMBOL>.csv`` or ``<SYMBOL>.csv.gz`` files.
    :param symbols: assets to load, in this order (default: every file, sorted by symbol).
    :param cash: symbol of the cash asset, priced 1.0 unless ``cash_prices`` is given.
    :param cash_prices: a per-asset file of the cash asset's own prices (e.g. ``USDC.csv``,
        to keep its depegs); it must cover every bar of the market.
    :param ffill_limit: longest gap, in bars, filled with the last close (0: gaps are errors).
    :param start: first bar kept (inclusive).
    :param end: last bar kept (inclusive; a date alone keeps that whole day).
    :param columns: the column mapping of other layouts (:func:`column_mapping`).
    """
    folder = Path(path)
    mapping = column_mapping(columns)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder (expected one CSV file per asset)")
    cash, symbols = _normalized(cash, symbols, str(folder))
    files = asset_files(folder)
    if symbols is None:
        symbols = sorted(files)
        if cash in files:
            raise DataError(
                f"{files[cash]}: {cash} is the cash asset; pass cash_prices={str(files[cash])!r} "
                f"to use its prices, or choose the assets with symbols="
            )
    missing = [s for s in symbols if s not in files]
    if missing:
        raise DataError(
            f"{folder}: no file for {', '.join(missing)} (looked for <SYMBOL>.csv or <SYMBOL>.csv.gz); "
            f"found {', '.join(sorted(files)) or 'none'}"
        )
    assets = [_read_asset_file(files[s], s, mapping) for s in symbols]
    cash_asset = None
    if cash_prices is not None:
        cash_path = Path(cash_prices)
        if _symbol_of(cash_path) != cash:
            raise DataError(
                f"{cash_path}: cash prices file is for {_symbol_of(cash_path)}, but cash={cash!r}"
            )
        cash_asset = _read_asset_file(cash_path, cash, mapping)
    return _assemble(assets, cash, cash_asset, ffill_limit, start, end, source=str(folder))


def load_wide_table(
    path: str | Path,
    *,
    symbols: Sequence[str] | None = None,
    cash: str = "USDT",
    cash_column: str | None = None,
    ffill_limit: int = 0,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    columns: Sequence[str] | None = None,
) -> MarketData:
    """Load one table of closes: a time column, then one column per asset.

    :param path: ``.csv``, ``.csv.gz`` or ``.parquet`` file. The time column is named
        ``date``, ``datetime_utc``, ``timestamp`` or ``time`` (or is a Parquet datetime index).
        Cells before an asset's listing are empty (or NaN).
    :param symbols: columns to load, in this order (default: all but ``cash_column``).
    :param cash: symbol of the cash asset, priced 1.0 unless the table has a column of that name
        (or ``cash_column`` is given), which then holds its prices.
    :param cash_column: a column holding the cash asset's own prices; it becomes the cash asset.
    :param ffill_limit: longest gap, in bars, filled with the last close (0: gaps are errors).
    :param start: first bar kept (inclusive).
    :param end: last bar kept (inclusive; a date alone keeps that whole day).
    :param columns: the column mapping of other layouts (:func:`column_mapping`).
    """
    table_path = Path(path)
    cash, symbols = _normalized(cash, symbols, str(table_path))
    cash_column = None if cash_column is None else cash_column.strip().upper()
    held = _read_wide_table(table_path, column_mapping(columns))
    if cash_column is None and cash in held:  # a column named like the cash asset holds its prices
        cash_column = cash
    if symbols is None:
        symbols = [c for c in held if c != cash_column]
    missing = [s for s in [*symbols, *([cash_column] if cash_column else [])] if s not in held]
    if missing:
        raise DataError(f"{table_path}: no column {', '.join(missing)}; columns are {', '.join(held)}")
    assets = [held[s] for s in symbols]
    cash_asset = held[cash_column] if cash_column else None
    cash_symbol = cash_column or cash
    return _assemble(assets, cash_symbol, cash_asset, ffill_limit, start, end, source=str(table_path))


def market_symbols(source: str | Path = "synthetic", columns: Sequence[str] | None = None) -> tuple[str, ...]:
    """The risky assets a market source offers (files, table columns, or the synthetic model's).

    :param columns: the column mapping of other layouts (:func:`column_mapping`)."""
    if str(source) == "synthetic":
        return calibrated_model().assets
    path = Path(source)
    if path.is_dir():
        return tuple(sorted(asset_files(path)))
    if path.is_file():
        return tuple(_read_wide_table(path, column_mapping(columns)))
    raise DataError(f"{path}: no such folder or file (a market is 'synthetic', a folder of CSVs or a table)")


# --- reading -------------------------------------------------------------------------------------


def _normalized(cash: str, symbols: Sequence[str] | None, source: str) -> tuple[str, list[str] | None]:
    """``cash`` and ``symbols`` in upper case; a cash asset that is a known risky asset is refused."""
    cash = cash.strip().upper()
    category = asset_category(cash)
    if category not in (STABLECOIN, OTHER):
        raise ConfigError(
            f"{source}: the cash asset {cash} is a risky asset ({category} in configs/profiles.yaml), not "
            "a stablecoin; it would be priced 1.0 at every bar. Give a stablecoin (USDT, USDC) or a fiat "
            "currency"
        )
    return cash, None if symbols is None else [s.strip().upper() for s in symbols]


def _csv_suffix(name: str) -> str:
    """``name``'s ``.csv`` or ``.csv.gz`` suffix in any case (``BTC.CSV``), or ``""``."""
    return next((name[-len(s) :] for s in (".csv", ".csv.gz") if name.lower().endswith(s)), "")


def _symbol_of(path: Path) -> str:
    return path.name.removesuffix(_csv_suffix(path.name)).upper()


def asset_files(folder: Path) -> dict[str, Path]:
    """Each symbol's file in a folder of per-asset files (``btc.csv`` and ``BTC.CSV`` are ``BTC``); two files
    for one symbol, or an entry that is not a regular file, refused."""
    files: dict[str, Path] = {}
    for file in sorted(folder.iterdir()):
        if not _csv_suffix(file.name):
            continue
        check_regular(file, DataError)
        symbol = _symbol_of(file)
        if symbol in files:
            raise DataError(f"{folder}: both {files[symbol].name} and {file.name} hold {symbol}; keep one")
        files[symbol] = file
    if not files:
        raise DataError(f"{folder}: no .csv or .csv.gz files")
    return files


def read_csv_strings(path: Path) -> pd.DataFrame:
    """A CSV file's cells as strings, column names stripped; one line naming the file if it cannot be read
    or has no data rows."""
    check_regular(path, DataError)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot be read as CSV: {exc}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise DataError(f"{path}: no data rows")
    return frame


def _time_column(columns: Sequence[str], allowed: Sequence[str], path: Path) -> str:
    found = [c for c in allowed if c in columns]
    if len(found) != 1:
        what = "no" if not found else "more than one"
        raise DataError(f"{path}: {what} time column; expected exactly one of {', '.join(allowed)}")
    return found[0]


def _mapped(frame: pd.DataFrame, mapping: dict[str, str], path: Path) -> pd.DataFrame:
    """``frame`` with each mapped column under its name, and the columns it replaces set aside."""
    if not mapping:
        return frame
    renames: dict[str, str] = {}
    for name, column in mapping.items():
        found = [c for c in frame.columns if c == column] or [
            c for c in frame.columns if c.lower() == column.lower()
        ]
        if len(found) != 1:
            raise DataError(
                f"{path}: no column {column!r} (columns: {name}={column}); "
                f"columns are {', '.join(frame.columns)}"
            )
        renames[found[0]] = name
    names = {name.lower() for name in mapping}
    replaced = names | (set(TIME_COLUMNS) if "time" in mapping else set())
    aside = [c for c in frame.columns if c not in renames and c.lower() in replaced]
    return frame.drop(columns=aside).rename(columns=renames)


SYMBOL_COLUMNS = {"symbol", "ticker", "pair", "asset"}
"""Columns by which an exchange export names the asset of its rows."""
QUOTES = ("FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USD", "DAI", "EUR")
"""Quote currencies a pair's name may end with (``BTCUSDT``), longest first."""


def _base_asset(name: str) -> str:
    """The asset a symbol or pair names: ``BTC`` for ``btc``, ``BTC/USDT``, ``BTC-USD``, ``BTCUSDT`` or
    ``BINANCE:BTCUSDT``."""
    name = name.strip().upper().split(":")[-1]  # BINANCE:BTCUSDT
    for separator in "/-_":
        if separator in name:
            return name.split(separator)[0]
    quote = next((q for q in QUOTES if name.endswith(q) and len(name) > len(q)), "")
    return name[: len(name) - len(quote)]


def _read_asset_file(path: Path, symbol: str, mapping: dict[str, str]) -> _Asset:
    frame = _mapped(read_csv_strings(path), mapping, path)
    frame.columns = [c.lower() for c in frame.columns]
    time_col = _time_column(list(frame.columns), TIME_COLUMNS, path)
    if "close" not in frame.columns:
        raise DataError(
            f"{path}: no close column; expected {time_col},close (open, high, low and volume are optional); "
            f"columns are {', '.join(frame.columns)}"
        )
    asset = _Asset(symbol, path, pd.DatetimeIndex([]), {}, np.arange(2, len(frame) + 2), "line")
    for column in sorted(SYMBOL_COLUMNS & set(frame.columns)):  # the file says whose prices it holds
        bases = frame[column].astype(str).map(_base_asset)
        other = (bases != symbol.upper()).to_numpy()
        if other.any():
            i = int(np.argmax(other))
            raise DataError(
                f"{asset.where(i)}: {column} is {frame[column].iloc[i]!r}, but the file is named for "
                f"{symbol}: a file holds the prices of the asset it is named after"
            )
    asset.timestamps = _parse_timestamps(frame[time_col], asset)
    for column in [c for c in FILE_COLUMNS if c in frame.columns]:
        raw = frame[column]
        values = pd.to_numeric(raw, errors="coerce").to_numpy(np.float64)
        valid = np.isfinite(values) & ((values >= 0) if column == "volume" else (values > 0))
        if not valid.all():
            i = int(np.argmin(valid))
            rule = (
                "volume must be finite and non-negative"
                if column == "volume"
                else "prices must be finite and positive"
            )
            raise DataError(f"{asset.where(i)}: {column} is {raw.iloc[i]!r}; {rule}")
        asset.values[column] = values
    _check_order(asset)
    _check_moves(asset, asset.values["close"])
    return asset


def _check_moves(asset: _Asset, closes: np.ndarray) -> None:
    """Refuse a close more than :data:`~cryptofolio.envs.market.MAX_MOVE` times its last known one (or less
    than its inverse): a data error, whose returns would overflow the metrics."""
    present = np.flatnonzero(np.isfinite(closes))
    if len(present) < 2:
        return
    ratios = closes[present[1:]] / closes[present[:-1]]
    bad = ~((ratios < MAX_MOVE) & (ratios > 1.0 / MAX_MOVE))
    if bad.any():
        i = int(present[1:][np.argmax(bad)])
        raise DataError(
            f"{asset.where(i)}: close {float(closes[i])!r} is {ratios[np.argmax(bad)]:.3g} times the one "
            "before; "
            f"a price cannot move by a factor of {MAX_MOVE:,.0f} in one bar"
        )


def _read_wide_table(path: Path, mapping: dict[str, str]) -> dict[str, _Asset]:
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        check_regular(path, DataError)
        try:
            frame = pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: cannot be read as Parquet: {exc}") from None
        if isinstance(frame.index, pd.DatetimeIndex):
            frame = frame.reset_index()
        frame.columns = [str(c).strip() for c in frame.columns]
        rows, row_word = np.arange(len(frame)), "row"
    elif name.endswith((".csv", ".csv.gz")):
        frame = read_csv_strings(path)
        rows, row_word = np.arange(2, len(frame) + 2), "line"
    else:
        raise DataError(f"{path}: unknown table format; use .csv, .csv.gz or .parquet")
    frame = _mapped(frame, mapping, path)
    lower = [c.lower() for c in frame.columns]
    time_col = frame.columns[lower.index(_time_column(lower, TIME_COLUMNS, path))]
    others = {c for c in lower if c != time_col.lower()}
    if "close" in others and others <= CANDLE_COLUMNS:
        raise DataError(
            f"{path}: its columns ({', '.join(c for c in lower if c != time_col.lower())}) are one asset's "
            "candles, not a table of closes per asset; put it in a folder as <SYMBOL>.csv and pass the folder"
        )
    candle = [c for c in frame.columns if c != time_col and c.lower() in CANDLE_COLUMNS]
    if candle:
        raise DataError(
            f"{path}: column {candle[0]!r} is named like a candle field, not an asset; a table of closes has "
            f"one column per asset, named by its symbol (rename it, or map it: --columns SYMBOL={candle[0]})"
        )
    clock = _Asset("", path, pd.DatetimeIndex([]), {}, rows, row_word)
    clock.timestamps = _parse_timestamps(frame[time_col], clock)
    _check_order(clock)
    assets = {}
    for column in frame.columns:
        if column == time_col:
            continue
        symbol = str(column).strip().upper()
        if symbol in assets:
            raise DataError(f"{path}: two columns hold {symbol} (symbols are read in upper case); keep one")
        raw = frame[column]
        if pd.api.types.is_numeric_dtype(raw):
            values = raw.to_numpy(np.float64)
            blank = np.isnan(values)
        else:
            blank = raw.isna().to_numpy() | raw.isin(MISSING_CELLS).to_numpy()
            values = pd.to_numeric(raw.where(~blank), errors="coerce").to_numpy(np.float64)
        asset = _Asset(symbol, path, clock.timestamps, {"close": values}, rows, row_word)
        bad = ~blank & ~(np.isfinite(values) & (values > 0))
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(
                f"{asset.where(i)}: {column} is {raw.iloc[i]!r}; prices must be finite and positive"
            )
        if blank.all():
            raise DataError(f"{path}: column {column} has no prices")
        _check_moves(asset, values)
        assets[symbol] = asset
    if not assets:
        raise DataError(f"{path}: no asset columns next to the time column")
    return assets


def _parse_timestamps(raw: pd.Series, asset: _Asset) -> pd.DatetimeIndex:
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = pd.to_datetime(raw, utc=True)
    else:
        text = raw.astype(str).str.strip()
        if text.str.fullmatch(r"\d+(\.0*)?").all():
            return _epoch_timestamps(text, asset)
        text = text.str.replace(r"\s*(UTC|GMT)$", "", regex=True, case=False)
        parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    bad = parsed.isna().to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(f"{asset.where(i)}: cannot parse timestamp {raw.iloc[i]!r}")
    lo, hi = pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC")
    outside = ((parsed < lo) | (parsed > hi)).to_numpy()
    if outside.any():
        i = int(np.argmax(outside))
        raise DataError(
            f"{asset.where(i)}: timestamp {raw.iloc[i]!r} is outside the times a market can hold "
            f"({lo:%Y-%m-%d} .. {hi:%Y-%m-%d})"
        )
    return pd.DatetimeIndex(parsed).as_unit("ns")


def _epoch_timestamps(text: pd.Series, asset: _Asset) -> pd.DatetimeIndex:
    """Epoch numbers as UTC times, in the unit their magnitude says (:data:`EPOCH_UNITS`); one unit a file,
    and times from :data:`EPOCH_FIRST` to now plus :data:`EPOCH_MARGIN` (row numbers are not times)."""
    numbers = text.astype(float).to_numpy()
    units = [next(unit for bound, unit in EPOCH_UNITS if value < bound) for value in numbers]
    odd = [i for i, unit in enumerate(units) if unit != units[0]]
    if odd:
        i = odd[0]
        raise DataError(
            f"{asset.where(i)}: epoch time {text.iloc[i]} is in {units[i]} but the first row's is in "
            f"{units[0]}; one unit a file"
        )
    unit = units[0]
    per_unit = UNIT_NANOSECONDS[unit]
    last = pd.Timestamp.now(tz="UTC") + EPOCH_MARGIN
    outside = (numbers < EPOCH_FIRST.value / per_unit) | (numbers > last.value / per_unit)
    if outside.any():
        i = int(np.argmax(outside))
        # numpy's datetime64 holds any year (pandas stops at 2262); its stubs type the unit as a Literal
        day = np.datetime64(int(numbers[i]), unit) if numbers[i] < 2**63 else None  # type: ignore[call-overload]
        when = "after 2262" if day is None else day
        raise DataError(
            f"{asset.where(i)}: time {text.iloc[i]} read as epoch {UNIT_NAMES[unit]} (the column holds whole "
            f"numbers) is {when}, outside {EPOCH_FIRST:%Y-%m-%d} .. {last:%Y-%m-%d}: not a price's time "
            "(row numbers, ids?); give ISO times (2024-01-31) or epoch seconds or milliseconds"
        )
    stamps = numbers.astype(np.int64).astype(f"datetime64[{unit}]")
    return pd.DatetimeIndex(stamps).tz_localize("UTC").as_unit("ns")


def _check_order(asset: _Asset) -> None:
    stamps = asset.timestamps
    steps = np.diff(stamps.asi8)
    if np.any(steps <= 0):
        i = int(np.argmax(steps <= 0)) + 1
        if steps[i - 1] == 0:
            raise DataError(f"{asset.where(i)}: duplicated timestamp {stamps[i]} (also on the previous row)")
        raise DataError(
            f"{asset.where(i)}: timestamp {stamps[i]} is earlier than the previous row's {stamps[i - 1]}; "
            "rows must be sorted by time"
        )


def _frequency(asset: _Asset) -> pd.Timedelta:
    """Bar length of one file: its most common step; every step must be a whole number of bars."""
    if len(asset.timestamps) < 2:
        raise DataError(f"{asset.path}: a single row; the bar length cannot be told")
    steps = np.diff(asset.timestamps.asi8)
    values, counts = np.unique(steps, return_counts=True)
    bar = int(values[np.argmax(counts)])
    odd = steps % bar != 0
    if odd.any():
        i = int(np.argmax(odd)) + 1
        raise DataError(
            f"{asset.where(i)}: {pd.Timedelta(int(steps[i - 1]))} after the previous row is not a whole "
            f"number of the file's {pd.Timedelta(bar)} bars: mixed frequencies"
        )
    return pd.Timedelta(bar)


# --- alignment -----------------------------------------------------------------------------------


def _assemble(
    assets: list[_Asset],
    cash: str,
    cash_asset: _Asset | None,
    ffill_limit: int,
    start: str | pd.Timestamp | None,
    end: str | pd.Timestamp | None,
    source: str,
) -> MarketData:
    if ffill_limit < 0:
        raise ConfigError(f"ffill_limit must be >= 0, got {ffill_limit}")
    if cash in {a.symbol for a in assets}:
        raise DataError(f"{source}: {cash} is the cash asset and cannot also be a risky asset")
    if not assets:
        raise DataError(f"{source}: no risky asset to load")
    everyone = [*assets, *([cash_asset] if cash_asset else [])]
    freq = _common_frequency(everyone)
    lo, hi = time_bounds(start, end)
    for asset in everyone:
        _restrict(asset, lo, hi)
    first = min(a.timestamps[_first_present(a)] for a in assets)
    last = max(a.timestamps[_last_present(a)] for a in assets)  # an asset that ends earlier is delisted
    if cash_asset is not None:
        last = min(last, cash_asset.timestamps[_last_present(cash_asset)])
    if last <= first:
        raise DataError(f"{source}: the assets share no period of at least two bars (from {first} to {last})")
    grid = pd.date_range(first, last, freq=freq).as_unit("ns")
    trimmed = {a.symbol: int((a.timestamps > last).sum()) for a in everyone}
    if any(trimmed.values()):
        log.info("%s: market ends at %s, where the cash prices end; bars dropped: %s", source, last, trimmed)

    n_bars, n_cols = len(grid), len(assets) + 1
    fields = {
        "close": np.full((n_bars, n_cols), np.nan),
        **{f: np.full((n_bars, n_cols), np.nan) for f in OHLCV_FIELDS},
    }
    if cash_asset is None:  # the quote currency's stablecoin, priced 1.0
        for name in ("open", "high", "low", "close"):
            fields[name][:, 0] = 1.0
        fields["volume"][:, 0] = 0.0
    filled = {}
    priced_cash = [(0, cash_asset)] if cash_asset is not None else []
    for column, asset in [*priced_cash, *enumerate(assets, start=1)]:
        on_grid = _on_grid(asset, grid, freq)
        if column == 0 and np.isnan(on_grid["close"][0]):
            raise DataError(
                f"{asset.path}: the cash prices start at {asset.timestamps[_first_present(asset)]}, "
                f"after the market's first bar {grid[0]}; choose a later start (start= or --start)"
            )
        filled[asset.symbol] = _fill_gaps(on_grid, asset, grid, ffill_limit)
        for name, values in on_grid.items():
            fields[name][:, column] = values
    if any(filled.values()):
        log.info("%s: forward-filled bars (ffill_limit=%d): %s", source, ffill_limit, filled)
    has = {name for name in OHLCV_FIELDS if all(name in a.values for a in assets)}
    symbols = (cash, *(a.symbol for a in assets))
    available = ~np.isnan(fields["close"])
    return MarketData(
        timestamps=grid,
        symbols=symbols,
        close=fields["close"],
        available=available,
        categories=tuple(asset_category(s) for s in symbols),
        freq=freq,
        ohlcv={name: fields[name] for name in OHLCV_FIELDS if name in has},
        source=source,
        filled={s: n for s, n in filled.items() if n},
    )


def _common_frequency(assets: list[_Asset]) -> pd.Timedelta:
    freqs = [(_frequency(a), a) for a in assets]
    freq, reference = freqs[0]
    for other_freq, other in freqs[1:]:
        if other_freq != freq:
            raise DataError(
                f"{other.path} has {other_freq} bars but {reference.path} has {freq} bars: mixed frequencies"
            )
    origin = reference.timestamps[0]
    for _, other in freqs:
        if (other.timestamps[0] - origin) % freq != pd.Timedelta(0):
            raise DataError(
                f"{other.path}: its rows (first at {other.timestamps[0]}) are offset from the {freq} grid of "
                f"{reference.path} (first at {origin}); all files must share bar boundaries"
            )
    return freq


def _restrict(asset: _Asset, lo: pd.Timestamp | None, hi: pd.Timestamp | None) -> None:
    keep = np.ones(len(asset.timestamps), dtype=bool)
    if lo is not None:
        keep &= asset.timestamps >= lo
    if hi is not None:
        keep &= asset.timestamps < hi
    if not (keep & ~np.isnan(asset.values["close"])).any():
        raise DataError(f"{asset.path}: {asset.symbol} has no prices between start={lo} and end={hi}")
    asset.timestamps = asset.timestamps[keep]
    asset.values = {k: v[keep] for k, v in asset.values.items()}
    asset.rows = asset.rows[keep]


def _first_present(asset: _Asset) -> int:
    return int(np.argmax(~np.isnan(asset.values["close"])))


def _last_present(asset: _Asset) -> int:
    present = ~np.isnan(asset.values["close"])
    return len(present) - 1 - int(np.argmax(present[::-1]))


def _on_grid(asset: _Asset, grid: pd.DatetimeIndex, freq: pd.Timedelta) -> dict[str, np.ndarray]:
    """The asset's fields on the market grid, NaN where it has no row (or an empty cell)."""
    inside = (asset.timestamps >= grid[0]) & (asset.timestamps <= grid[-1])
    positions = ((asset.timestamps[inside] - grid[0]) // freq).to_numpy()
    out = {}
    for name, values in asset.values.items():
        column = np.full(len(grid), np.nan)
        column[positions] = values[inside]
        out[name] = column
    return out


def _fill_gaps(on_grid: dict[str, np.ndarray], asset: _Asset, grid: pd.DatetimeIndex, limit: int) -> int:
    """Apply the gap policy in place; return the number of bars filled."""
    close = on_grid["close"]
    present = ~np.isnan(close)
    listed = np.cumsum(present) > 0  # never fill before the first price, nor after the last (delisted)
    listed &= np.cumsum(present[::-1])[::-1] > 0
    gap = listed & ~present
    if not gap.any():
        return 0
    edges = np.diff(np.concatenate(([0], gap.astype(np.int8), [0])))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    too_long = (stops - starts) > limit
    if too_long.any():
        first, stop = int(starts[np.argmax(too_long)]), int(stops[np.argmax(too_long)])
        row = min(int(asset.timestamps.searchsorted(grid[first])), len(asset.rows) - 1)
        rule = "gaps are errors by default" if limit == 0 else f"longer than the fill limit {limit}"
        raise DataError(
            f"{asset.where(row)}: {asset.symbol} has {stop - first} missing bar(s) from {grid[first]} to "
            f"{grid[stop - 1]} ({rule}; --ffill-limit {stop - first}, or ffill_limit={stop - first}, "
            "carries the last close forward)"
        )
    last_seen = np.maximum.accumulate(np.where(present, np.arange(len(close)), 0))
    for name, values in on_grid.items():
        source = close if name in ("open", "high", "low") else values
        values[gap] = 0.0 if name == "volume" else source[last_seen[gap]]
    return int(gap.sum())
