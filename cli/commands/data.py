"""`cryptofolio data`: download OHLCV candles with ccxt into the per-asset CSV layout, or bring such a
folder up to date.

    cryptofolio data fetch --exchange binance --symbols BTC,ETH --quote USDT --timeframe 1d \\
        --since 2024-01-01 --out data/binance-daily
    cryptofolio data update --exchange binance --out data/binance-daily    (every file, or --symbols)

ccxt is an optional extra (``pip install -e '.[fetch]'``). The files are those of
``../shared/data``, ready for ``--market FOLDER``. ``update`` appends to each file the closed
candles after its last row, at the spacing of its rows; it refuses files in other layouts. Rate
limits, retries and dropped candles: :mod:`cryptofolio.envs.fetch`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from cryptofolio.commands.errors import run_command
from cryptofolio.commands.options import command_parser, output_path, whole_number
from cryptofolio.envs import MarketConfig
from cryptofolio.envs.errors import ConfigError, DataError, UserError
from cryptofolio.envs.fetch import (
    Exchange,
    fetch_candles,
    open_exchange,
    timeframe_seconds,
    update_asset_file,
    write_asset_file,
)
from cryptofolio.envs.loaders import asset_files
from cryptofolio.envs.market import utc


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = command_parser(prog, __doc__)
    parser.add_argument(
        "action", choices=("fetch", "update"), help="fetch: download candles; update: extend a folder's files"
    )
    parser.add_argument("--exchange", required=True, help="ccxt exchange id, e.g. binance")
    parser.add_argument(
        "--symbols", help="comma-separated base assets, e.g. BTC,ETH (fetch: required; update: default all)"
    )
    parser.add_argument("--quote", default="USDT", help="quote currency (USDT); it is the data's cash asset")
    parser.add_argument("--timeframe", default="1d", help="fetch: candle length, e.g. 1d or 1h (1d)")
    parser.add_argument("--since", help="fetch (required): first date, e.g. 2024-01-01")
    parser.add_argument("--until", help="end date, exclusive (default: now)")
    parser.add_argument("--out", type=output_path, required=True, help="folder for the per-asset files")
    parser.add_argument(
        "--retries", type=whole_number(0), default=5, help="retries of a request after a network error (5)"
    )
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None, exchange: Any = None) -> int:
    """Run the command; ``exchange`` replaces the ccxt exchange (tests pass a stand-in)."""
    return run_command(build_parser(prog), lambda args: run(args, exchange), argv)


def run(args: argparse.Namespace, client: Any = None) -> int:
    until = utc(args.until) if args.until else pd.Timestamp.now(tz="UTC")
    symbols = [s.strip().upper() for s in (args.symbols or "").split(",") if s.strip()]
    if args.action == "update":
        exchange = Exchange(client) if client is not None else open_exchange(args.exchange)
        update_folder(exchange, args.out, symbols or None, args.quote, until, args.retries)
        return 0
    if not symbols or args.since is None:
        raise ConfigError("data fetch needs --symbols (e.g. BTC,ETH) and --since (e.g. 2024-01-01)")
    timeframe_seconds(args.timeframe)
    since = utc(args.since)
    exchange = Exchange(client) if client is not None else open_exchange(args.exchange)
    for symbol in symbols:
        pair = f"{symbol}/{args.quote}"
        try:
            candles = fetch_candles(
                exchange.client,
                pair,
                args.timeframe,
                since,
                until,
                retryable=exchange.retryable,
                retries=args.retries,
            )
        except exchange.failures as error:
            raise UserError(f"{pair}: the exchange failed: {error}") from None
        if candles.empty:
            print(f"{pair}: no closed candles between {since:%Y-%m-%d} and {until:%Y-%m-%d}", file=sys.stderr)
            continue
        path = write_asset_file(candles, args.out, symbol, args.timeframe)
        first, last = candles["time"].iloc[0], candles["time"].iloc[-1]
        print(f"{pair}: {len(candles)} candles, {first} to {last} -> {path}")
    return 0


def add_fetch_argument(parser: argparse.ArgumentParser) -> None:
    """``--fetch EXCHANGE``: bring the market's files up to date before reading them."""
    parser.add_argument(
        "--fetch",
        metavar="EXCHANGE",
        help="first append the closed candles since each file's last row from this ccxt exchange (e.g. "
        "binance; needs ccxt and the network; a folder `data fetch` wrote); a failed fetch is a warning",
    )


def fetch_fresh(args: argparse.Namespace, market: MarketConfig, symbols: Sequence[str]) -> None:
    """With ``--fetch``, bring the files of ``symbols`` in ``market``'s folder up to now, quoted in its
    cash asset; a failed fetch leaves them as they were, with a warning."""
    if args.fetch is None:
        return
    if market.source == "synthetic" or not Path(market.source).is_dir():
        raise ConfigError(f"--fetch updates a folder of per-asset files; the market is {market.source}")
    quote = market.cash or "USDT"
    until = pd.Timestamp.now(tz="UTC")
    update_folder(open_exchange(args.fetch), Path(market.source), symbols, quote, until, keep_going=True)


def update_folder(
    exchange: Exchange,
    folder: Path,
    symbols: Sequence[str] | None,
    quote: str,
    until: pd.Timestamp,
    retries: int = 5,
    keep_going: bool = False,
) -> None:
    """Bring ``symbols``' files in ``folder`` (default: all) up to ``until``, a line per file.

    :param keep_going: a failed fetch is a warning and the files stay as they were (``recommend
        --fetch``: the prices on disk are used, and said to be old); otherwise it stops the command.
    """
    if not folder.is_dir():
        raise ConfigError(f"{folder}: not a folder of per-asset files; fresh candles are fetched into one")
    files = asset_files(folder)
    missing = [s for s in symbols or () if s not in files]
    if missing:
        raise DataError(
            f"{folder}: no file for {', '.join(missing)}; fetch them with `cryptofolio data fetch`"
        )
    for symbol in symbols or sorted(files):
        pair = f"{symbol}/{quote.upper()}"
        try:
            added = update_asset_file(exchange, files[symbol], pair, until, retries=retries)
        except exchange.failures as error:
            if not keep_going:
                raise UserError(f"{pair}: the exchange failed: {error}") from None
            print(f"{pair}: cannot fetch ({error}); {files[symbol]} stays as it was", file=sys.stderr)
            continue
        print(f"{pair}: {added} new candle(s) -> {files[symbol]}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
