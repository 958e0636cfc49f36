"""`cryptofolio data fetch`: download OHLCV candles with ccxt into the per-asset CSV layout.

    cryptofolio data fetch --exchange binance --symbols BTC,ETH --quote USDT --timeframe 1d \\
        --since 2024-01-01 --out data/binance-daily

ccxt is an optional extra (``pip install -e '.[fetch]'``). The files are those of
``../shared/data``, ready for ``--market FOLDER``. Rate limits, retries and dropped candles:
:mod:`cryptofolio.envs.fetch`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from cryptofolio.commands.errors import run_command
from cryptofolio.commands.options import command_parser, whole_number
from cryptofolio.envs.errors import ConfigError, UserError
from cryptofolio.envs.fetch import fetch_candles, timeframe_seconds, write_asset_file
from cryptofolio.envs.market import utc


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = command_parser(prog, __doc__)
    parser.add_argument("action", choices=("fetch",), help="fetch: download candles")
    parser.add_argument("--exchange", required=True, help="ccxt exchange id, e.g. binance")
    parser.add_argument("--symbols", required=True, help="comma-separated base assets, e.g. BTC,ETH")
    parser.add_argument("--quote", default="USDT", help="quote currency (USDT); it is the data's cash asset")
    parser.add_argument("--timeframe", default="1d", help="candle length, e.g. 1d or 1h (1d)")
    parser.add_argument("--since", required=True, help="first date, e.g. 2024-01-01")
    parser.add_argument("--until", help="end date, exclusive (default: now)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the per-asset files")
    parser.add_argument(
        "--retries", type=whole_number(0), default=5, help="retries of a request after a network error (5)"
    )
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None, exchange: Any = None) -> int:
    """Run the command; ``exchange`` replaces the ccxt exchange (tests pass a stand-in)."""
    return run_command(build_parser(prog), lambda args: run(args, exchange), argv)


def run(args: argparse.Namespace, exchange: Any = None) -> int:
    retryable: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)
    timeframe_seconds(args.timeframe)
    since, until = utc(args.since), utc(args.until) if args.until else pd.Timestamp.now(tz="UTC")
    if exchange is None:
        try:
            import ccxt
        except ImportError:
            raise UserError("fetching needs ccxt: pip install -e '.[fetch]' (or pip install ccxt)") from None
        if not hasattr(ccxt, args.exchange):
            raise ConfigError(f"--exchange: ccxt has no exchange {args.exchange!r}")
        exchange = getattr(ccxt, args.exchange)({"enableRateLimit": True})
        retryable = (ccxt.NetworkError, *retryable)
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
