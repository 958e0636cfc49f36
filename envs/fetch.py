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
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from cryptofolio.envs.errors import ConfigError

UNITS = {"m": 60, "h": 3_600, "d": 86_400, "w": 604_800}
PAGE = 1_000


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


def write_asset_file(candles: pd.DataFrame, folder: Path, symbol: str, timeframe: str) -> Path:
    """Write candles in the per-asset layout: ``SYMBOL.csv`` (daily) or ``SYMBOL.csv.gz`` (intraday)."""
    folder.mkdir(parents=True, exist_ok=True)
    daily = timeframe_seconds(timeframe) == UNITS["d"]
    column, fmt = ("date", "%Y-%m-%d") if daily else ("datetime_utc", "%Y-%m-%d %H:%M:%S")
    table = candles.rename(columns={"time": column})
    table[column] = table[column].dt.strftime(fmt)
    text = table.to_csv(index=False)
    path = folder / f"{symbol}.csv{'' if daily else '.gz'}"
    temporary = path.with_name(f".tmp-{path.name}")
    temporary.write_bytes(text.encode() if daily else gzip.compress(text.encode()))
    temporary.replace(path)
    return path
