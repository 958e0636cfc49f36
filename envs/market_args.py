"""Command-line options that choose a market and its splits, shared by every command."""

from __future__ import annotations

import argparse
import re

from envs.loaders import open_market
from envs.market import MarketData
from envs.splits import Splits, split_by_dates, split_by_fractions

_STAMP = r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}(?::\d{2}){0,2})?"
_RANGE = re.compile(rf"^({_STAMP}):({_STAMP})$")


def date_range(text: str) -> tuple[str, str]:
    """``START:END`` (inclusive dates, e.g. ``2020-10-15:2022-12-31``) as a pair."""
    match = _RANGE.match(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not START:END, e.g. 2020-10-15:2022-12-31")
    return match.group(1), match.group(2)


def add_market_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--market``, ``--market-seed``, ``--assets``, ``--ffill-limit`` and ``--train/--val/--test``."""
    group = parser.add_argument_group("market")
    group.add_argument(
        "--market",
        default="synthetic",
        help="synthetic (default), a folder of per-asset CSVs, or a table of closes",
    )
    group.add_argument("--market-seed", type=int, default=0, help="seed of the synthetic market (default 0)")
    group.add_argument("--assets", help="comma-separated symbols (default: all in the data)")
    group.add_argument(
        "--ffill-limit", type=int, default=0, help="fill gaps of up to this many bars (default 0: error)"
    )
    for name in ("train", "val", "test"):
        group.add_argument(f"--{name}", type=date_range, metavar="START:END", help=f"{name} dates, inclusive")


def market_from_args(args: argparse.Namespace) -> tuple[MarketData, Splits]:
    """The market and splits the options name; without dates, 70/15/15% of the bars in time order."""
    symbols = [s.strip() for s in args.assets.split(",") if s.strip()] if args.assets else None
    market = open_market(args.market, symbols=symbols, seed=args.market_seed, ffill_limit=args.ffill_limit)
    ranges = {"train": args.train, "validation": args.val, "test": args.test}
    given = [name for name, value in ranges.items() if value is not None]
    if not given:
        return market, split_by_fractions(market)
    if len(given) != 3:
        missing = ", ".join(f"--{'val' if n == 'validation' else n}" for n, v in ranges.items() if v is None)
        raise ValueError(f"give all three of --train, --val and --test, or none; missing {missing}")
    return market, split_by_dates(market, train=args.train, validation=args.val, test=args.test)
