"""`cryptofolio data fetch`: download OHLCV candles with ccxt into the per-asset CSV layout.

    cryptofolio data fetch --exchange binance --symbols BTC,ETH --quote USDT --timeframe 1d \\
        --since 2024-01-01 --out data/binance-daily

ccxt is an optional extra (``pip install -e '.[fetch]'``). Files match ``../shared/data``:
``<SYMBOL>.csv`` with ``date,open,high,low,close,volume`` for daily candles, or
``<SYMBOL>.csv.gz`` with ``datetime_utc,...`` otherwise, ready for :func:`envs.load_csv_dir`.

Rate limits and retries: the exchange object is created with ccxt's ``enableRateLimit``, so
ccxt spaces requests by the exchange's ``rateLimit`` (milliseconds between calls). A request
that fails with a network-level error (ccxt's ``NetworkError``: timeouts, unavailable
exchange, DDoS protection, rate limit exceeded) is retried up to ``retries`` times, waiting
``backoff * 2**k`` seconds; any other error (an unknown symbol, say) stops the fetch at once.
Candles that have not closed yet are dropped, so every row is final.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from envs.market import utc

UNITS = {"m": 60, "h": 3_600, "d": 86_400, "w": 604_800}
PAGE = 1_000


def timeframe_seconds(timeframe: str) -> int:
    """Seconds in a ccxt timeframe such as ``1m``, ``4h``, ``1d``."""
    amount, unit = timeframe[:-1], timeframe[-1]
    if unit not in UNITS or not amount.isdigit() or int(amount) < 1:
        raise ValueError(f"timeframe {timeframe!r} is not <number><m|h|d|w>, e.g. 1d or 1h")
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


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=("fetch",), help="fetch: download candles")
    parser.add_argument("--exchange", required=True, help="ccxt exchange id, e.g. binance")
    parser.add_argument("--symbols", required=True, help="comma-separated base assets, e.g. BTC,ETH")
    parser.add_argument("--quote", default="USDT", help="quote currency (USDT); it is the data's cash asset")
    parser.add_argument("--timeframe", default="1d", help="candle length, e.g. 1d or 1h (1d)")
    parser.add_argument("--since", required=True, help="first date, e.g. 2024-01-01")
    parser.add_argument("--until", help="end date, exclusive (default: now)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the per-asset files")
    parser.add_argument(
        "--retries", type=int, default=5, help="retries of a request after a network error (5)"
    )
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None, exchange: Any = None) -> int:
    """Run the command; ``exchange`` replaces the ccxt exchange (tests pass a stand-in)."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    retryable: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)
    if exchange is None:
        try:
            import ccxt
        except ImportError:
            parser.error("fetching needs ccxt: pip install -e '.[fetch]' (or pip install ccxt)")
        if not hasattr(ccxt, args.exchange):
            parser.error(f"ccxt has no exchange {args.exchange!r}")
        exchange = getattr(ccxt, args.exchange)({"enableRateLimit": True})
        retryable = (ccxt.NetworkError, *retryable)
    try:
        timeframe_seconds(args.timeframe)
        since, until = utc(args.since), utc(args.until) if args.until else pd.Timestamp.now(tz="UTC")
    except ValueError as error:
        parser.error(str(error))
    for symbol in [s.strip() for s in args.symbols.split(",") if s.strip()]:
        pair = f"{symbol}/{args.quote}"
        candles = fetch_candles(
            exchange, pair, args.timeframe, since, until, retryable=retryable, retries=args.retries
        )
        if candles.empty:
            print(f"{pair}: no closed candles between {since:%Y-%m-%d} and {until:%Y-%m-%d}", file=sys.stderr)
            continue
        path = write_asset_file(candles, args.out, symbol, args.timeframe)
        first, last = candles["time"].iloc[0], candles["time"].iloc[-1]
        print(f"{pair}: {len(candles)} candles, {first} to {last} -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
