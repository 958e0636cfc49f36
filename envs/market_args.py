"""Command-line options that choose a market and its splits, shared by every command."""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from envs.loaders import open_market
from envs.market import MarketData
from envs.splits import Splits, split_by_dates, split_by_fractions

_STAMP = r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}(?::\d{2}){0,2})?"
_RANGE = re.compile(rf"^({_STAMP}):({_STAMP})$")


class MarketSpec(TypedDict):
    """Which market to open: the fields of the ``--market`` options, as a run's config saves them."""

    market: str
    market_seed: int
    assets: tuple[str, ...] | None
    ffill_limit: int
    cash: str | None
    cash_prices: str | None
    start: str | None
    end: str | None


SPEC_FIELDS = tuple(MarketSpec.__annotations__)
SPEC_DEFAULTS: dict[str, Any] = {"market": "synthetic", "market_seed": 0, "ffill_limit": 0}


def spec_of(config: Mapping[str, Any]) -> MarketSpec:
    """The market fields of ``config`` (a run's config, or any mapping), absent ones at their defaults."""
    values = {k: config.get(k, SPEC_DEFAULTS.get(k)) for k in SPEC_FIELDS}
    values["assets"] = tuple(values["assets"]) if values["assets"] else None
    return MarketSpec(**values)  # type: ignore[typeddict-item]  # the keys are SPEC_FIELDS


def date_range(text: str) -> tuple[str, str]:
    """``START:END`` (inclusive dates, e.g. ``2020-10-15:2022-12-31``) as a pair."""
    match = _RANGE.match(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not START:END, e.g. 2020-10-15:2022-12-31")
    return match.group(1), match.group(2)


def add_market_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the market options (``--market``, ``--assets``, ``--cash``, ...) and ``--train/--val/--test``."""
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
    group.add_argument("--cash", help="cash asset (default USDT for real data, USDC on synthetic)")
    group.add_argument("--cash-prices", help="per-asset file of the cash asset's prices, e.g. .../USDC.csv")
    group.add_argument("--start", help="first date of the data to load (default: the earliest)")
    group.add_argument("--end", help="last date of the data to load, inclusive (default: the latest)")
    for name in ("train", "val", "test"):
        group.add_argument(f"--{name}", type=date_range, metavar="START:END", help=f"{name} dates, inclusive")


def market_from_args(args: argparse.Namespace) -> tuple[MarketData, Splits]:
    """The market and splits the options name; without dates, 70/15/15% of the bars in time order."""
    ranges = {"train": args.train, "validation": args.val, "test": args.test}
    given = [name for name, value in ranges.items() if value is not None]
    if given and len(given) != 3:
        missing = ", ".join(f"--{'val' if n == 'validation' else n}" for n, v in ranges.items() if v is None)
        raise ValueError(f"give all three of --train, --val and --test, or none; missing {missing}")
    return market_from_spec(**spec_from_args(args), splits=ranges if given else None)


def spec_from_args(args: argparse.Namespace) -> MarketSpec:
    """The market options as a :class:`MarketSpec`."""
    return MarketSpec(
        market=args.market,
        market_seed=args.market_seed,
        assets=parse_assets(args.assets),
        ffill_limit=args.ffill_limit,
        cash=args.cash,
        cash_prices=args.cash_prices,
        start=args.start,
        end=args.end,
    )


def parse_assets(text: str | None) -> tuple[str, ...] | None:
    """``"BTC, ETH"`` as ``("BTC", "ETH")``; None stays None (all assets)."""
    return tuple(s.strip() for s in text.split(",") if s.strip()) if text else None


def market_from_spec(
    market: str,
    *,
    market_seed: int = 0,
    assets: Sequence[str] | None = None,
    ffill_limit: int = 0,
    cash: str | None = None,
    cash_prices: str | None = None,
    start: str | None = None,
    end: str | None = None,
    splits: Mapping[str, Sequence[str]] | None = None,
) -> tuple[MarketData, Splits]:
    """The market and splits a saved spec names (the fields of :class:`MarketSpec`).

    :param splits: ``{"train": (start, end), "validation": ..., "test": ...}``, or None for
        70/15/15% of the bars in time order.
    """
    data = open_market(
        market,
        symbols=assets,
        seed=market_seed,
        ffill_limit=ffill_limit,
        cash=cash,
        cash_prices=cash_prices,
        start=start,
        end=end,
    )
    if splits is None:
        return data, split_by_fractions(data)
    ranges = {name: (str(splits[name][0]), str(splits[name][1])) for name in ("train", "validation", "test")}
    return data, split_by_dates(data, **ranges)
