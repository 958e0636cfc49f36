"""Download OHLCV candles with ccxt into the per-asset CSV layout (``cryptofolio data fetch``).

ccxt is an optional extra (``pip install -e '.[fetch]'``). Files match ``../shared/data``:
``<SYMBOL>.csv`` with ``date,open,high,low,close,volume`` for daily candles, or
``<SYMBOL>.csv.gz`` with ``datetime_utc,...`` otherwise, ready for :func:`cryptofolio.envs.load_csv_dir`.

Rate limits and retries: the exchange object is created with ccxt's ``enableRateLimit``, so
ccxt spaces requests by the exchange's ``rateLimit`` (milliseconds between calls). A request
that fails with a network-level error (ccxt's ``NetworkError``: timeouts, unavailable
exchange, DDoS protection, rate limit exceeded) is retried up to ``retries`` times, waiting
``backoff * 2**k`` seconds; any other error (an unknown symbol, say) stops the fetch at once.
Candles that have not closed yet are dropped, so every row is final.

A folder written this way is brought up to date by :func:`update_asset_file` (``cryptofolio data
update``, ``recommend --fetch``, ``paper advance --fetch``): each file gains the closed candles after
its last row, at the timeframe its rows are spaced by; the rows it holds are never rewritten. A file
in another layout is refused (fetch into a new folder instead).
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cryptofolio.envs.errors import ConfigError, DataError, UserError
from cryptofolio.envs.loaders import read_csv_strings

UNITS = {"m": 60, "h": 3_600, "d": 86_400, "w": 604_800}
PAGE = 1_000
COLUMNS = ("open", "high", "low", "close", "volume")
"""The columns after the time column in the files written here."""
DAILY, INTRADAY = "date", "datetime_utc"
"""The time column of daily files (``%Y-%m-%d``) and of intraday ones (``%Y-%m-%d %H:%M:%S``)."""


@dataclass(frozen=True)
class Exchange:
    """An exchange to fetch from, and the errors it raises."""

    client: Any
    """A ccxt exchange, or any object with ``fetch_ohlcv(symbol, timeframe, since, limit)``."""
    retryable: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)
    """Errors worth retrying (network-level)."""
    failures: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError, KeyError)
    """Every error a fetch may end in that is the exchange's or the network's, not a bug."""


def open_exchange(name: str) -> Exchange:
    """The ccxt exchange ``name`` (``binance``), spacing its requests by its rate limit.

    :raises UserError: if ccxt is not installed; ConfigError: if it has no such exchange.
    """
    try:
        import ccxt
    except ImportError:
        raise UserError("fetching needs ccxt: pip install -e '.[fetch]' (or pip install ccxt)") from None
    if not hasattr(ccxt, name):
        raise ConfigError(f"--exchange: ccxt has no exchange {name!r}")
    client = getattr(ccxt, name)({"enableRateLimit": True})
    return Exchange(client, (ccxt.NetworkError, ConnectionError, TimeoutError), (ccxt.BaseError, OSError))


def timeframe_seconds(timeframe: str) -> int:
    """Seconds in a ccxt timeframe such as ``1m``, ``4h``, ``1d``."""
    amount, unit = timeframe[:-1], timeframe[-1]
    if unit not in UNITS or not amount.isdigit() or int(amount) < 1:
        raise ConfigError(f"timeframe {timeframe!r} is not <number><m|h|d|w>, e.g. 1d or 1h")
    return int(amount) * UNITS[unit]


def fetch_candles(
    exchange: Any,
    symbol: str,
    timeframe: str,
    since: pd.Timestamp,
    until: pd.Timestamp,
    *,
    retryable: tuple[type[BaseException], ...],
    retries: int = 5,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> pd.DataFrame:
    """All closed candles of ``symbol`` from ``since`` to ``until``, one page of at most 1,000 at a time.

    :param exchange: a ccxt exchange, or any object with ``fetch_ohlcv(symbol, timeframe, since, limit)``.
    :param retryable: exceptions worth retrying (ccxt's ``NetworkError``).
    :return: columns ``time`` (UTC), ``open``, ``high``, ``low``, ``close``, ``volume``.
    """
    step = timeframe_seconds(timeframe) * 1000
    cursor, stop = int(since.timestamp() * 1000), int(until.timestamp() * 1000)
    rows: list[list[float]] = []
    while cursor < stop:
        for attempt in range(retries + 1):
            try:
                page = exchange.fetch_ohlcv(symbol, timeframe, cursor, PAGE)
                break
            except retryable:
                if attempt == retries:
                    raise
                sleep(backoff * 2**attempt)
        page = [candle for candle in page if cursor <= candle[0] and candle[0] + step <= stop]
        if not page:
            break
        rows += page
        cursor = int(page[-1][0]) + step
    frame = pd.DataFrame(rows, columns=["time", "open", "high", "low", "close", "volume"])
    frame["time"] = pd.to_datetime(frame["time"], unit="ms", utc=True)
    return frame.drop_duplicates("time").sort_values("time").reset_index(drop=True)


def timeframe_of(seconds: int) -> str:
    """The ccxt timeframe of a bar ``seconds`` long, in the largest unit that divides it (3600: ``1h``)."""
    for unit, size in sorted(UNITS.items(), key=lambda item: -item[1]):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    raise DataError(f"bars {seconds} s apart have no exchange timeframe (whole minutes, hours, days, weeks)")


def write_asset_file(candles: pd.DataFrame, folder: Path, symbol: str, timeframe: str) -> Path:
    """Write candles in the per-asset layout: ``SYMBOL.csv`` (daily) or ``SYMBOL.csv.gz`` (intraday)."""
    folder.mkdir(parents=True, exist_ok=True)
    daily = timeframe_seconds(timeframe) == UNITS["d"]
    path = folder / f"{symbol}.csv{'' if daily else '.gz'}"
    _replace(path, _rows(candles, daily, header=True))
    return path


def update_asset_file(
    exchange: Exchange,
    path: Path,
    pair: str,
    until: pd.Timestamp,
    *,
    retries: int = 5,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Append to ``path`` (a file :func:`write_asset_file` wrote) the closed candles of ``pair`` after its
    last row and before ``until``; its rows are kept as they are. Returns the number of candles added.

    :raises DataError: naming the file if it is not in that layout or holds fewer than two rows.
    """
    frame = read_csv_strings(path)
    header = tuple(frame.columns)
    if header not in ((DAILY, *COLUMNS), (INTRADAY, *COLUMNS)) or len(frame) < 2:
        raise DataError(
            f"{path}: not a file `data fetch` wrote ({DAILY} or {INTRADAY}, then {','.join(COLUMNS)}; "
            "two rows or more), so it is not updated in place; fetch into a new folder with "
            "`cryptofolio data fetch`"
        )
    try:
        last, before = (pd.Timestamp(frame[header[0]].iloc[i], tz="UTC") for i in (-1, -2))
    except ValueError:
        raise DataError(
            f"{path}:line {len(frame) + 1}: its time {frame[header[0]].iloc[-1]!r} is unreadable"
        ) from None
    step = last - before
    if step <= pd.Timedelta(0):
        raise DataError(f"{path}: its last two rows are not in time order")
    candles = fetch_candles(
        exchange.client,
        pair,
        timeframe_of(int(step.total_seconds())),
        last + step,
        until,
        retryable=exchange.retryable,
        retries=retries,
        sleep=sleep,
    )
    if candles.empty:
        return 0
    old = path.read_bytes()
    text = gzip.decompress(old).decode() if path.name.endswith(".gz") else old.decode()
    _replace(
        path, text + ("" if text.endswith("\n") else "\n") + _rows(candles, header[0] == DAILY, header=False)
    )
    return len(candles)


def _rows(candles: pd.DataFrame, daily: bool, header: bool) -> str:
    """Candles as CSV text, times as the daily or intraday layout writes them."""
    column, fmt = (DAILY, "%Y-%m-%d") if daily else (INTRADAY, "%Y-%m-%d %H:%M:%S")
    table = candles.rename(columns={"time": column})
    table[column] = table[column].dt.strftime(fmt)
    return str(table[[column, *COLUMNS]].to_csv(index=False, header=header))


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` at once (gzipped for ``.gz``): a killed write leaves the old file."""
    temporary = path.with_name(f".tmp-{path.name}")
    temporary.write_bytes(gzip.compress(text.encode()) if path.name.endswith(".gz") else text.encode())
    temporary.replace(path)
