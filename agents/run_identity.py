"""What a run folder says of the data it trained on, and how a market is compared with it: by content.

``metadata.json`` records the market's fingerprint (a digest of its bar times, symbols and closes),
its symbols, bar length, each split's dates and use, and anchor prices: every asset's close at
:data:`ANCHORS` evenly spaced bars of the train and validation splits, their first and last among
them (runs saved before recorded the first and last only). Each snapshot's manifest holds the digest
of these entries (:func:`data_digest`), so an edit of them is refused when the snapshot is loaded.

A market holds the run's prices (:func:`same_prices`) when its fingerprint is the run's, or when
the risky assets of the same symbols close, at :data:`SHARE` or more of the anchor bars the market
has (one at least), within :data:`TOLERANCE` of the recorded closes. So the same prices copied under
another path, a file sharing some of the assets, one holding only part of the dates, or the same
prices nudged (another exchange's, rounded, edited by a hair) are the run's data; a synthetic market
of another seed (whose prices all start at the same level) is not. Nothing here trusts a path, and
the anchors are spread so that nudging a few bars does not make the run's prices look new.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cryptofolio.envs import MarketData, Splits
from cryptofolio.envs.errors import RunFolderError

DATA_KEYS = ("market_fingerprint", "symbols", "periods_per_year", "splits", "anchors")
"""The metadata entries that say which data a run trained on; each snapshot's manifest digests them."""
ANCHOR_SPLITS = ("train", "validation")
"""The splits a run trained or was selected on, whose first and last closes it records."""
SPLIT_USE = {"train": "training", "validation": "model selection", "test": "not used by training"}
ANCHORS = 33
"""Bars of each split whose closes a run records: its first, its last and evenly spaced between."""
TOLERANCE = 1e-3
"""Relative difference under which two closes are the same price for what an agent saw (0.1%)."""
SHARE = 0.9
"""The share of compared anchor closes that must agree for a market to hold the run's prices."""


def describe_data(market: MarketData, splits: Splits) -> dict[str, Any]:
    """Metadata of the data: source, fingerprint, assets, bar length, each split's dates and use, and
    the anchor closes (``anchors[split]``: two ``[date, closes]`` pairs, None where not listed)."""
    dates = splits.dates(market)
    anchors = {}
    for name in ANCHOR_SPLITS:
        bars = splits[name]
        anchors[name] = [
            [market.timestamps[t].isoformat(), [None if math.isnan(c) else float(c) for c in market.close[t]]]
            for t in sorted({round(t) for t in np.linspace(bars.start, bars.stop - 1, ANCHORS)})
        ]
    return {
        "market": market.source,
        "market_fingerprint": market.fingerprint(),
        "symbols": list(market.symbols),
        "periods_per_year": market.periods_per_year,
        "splits": {
            name: {"dates": list(dates[name] or ()), "used_for": use} for name, use in SPLIT_USE.items()
        },
        "anchors": anchors,
    }


def data_digest(metadata: dict[str, Any]) -> str:
    """SHA-256 of the metadata's :data:`DATA_KEYS` entries (absent ones as null)."""
    data = {key: metadata.get(key) for key in DATA_KEYS}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def check_metadata(metadata: dict[str, Any], path: Path) -> dict[str, Any]:
    """``metadata`` if its data entries have the types and ranges this module reads.

    :raises RunFolderError: naming ``path`` and the entry.
    """

    def fault(key: str, expected: str) -> RunFolderError:
        return RunFolderError(f"{path}: {key} must be {expected}, got {metadata.get(key)!r:.80}")

    if not isinstance(metadata.get("market_fingerprint"), str):
        raise fault("market_fingerprint", "a string")
    symbols = metadata.get("symbols")
    if not isinstance(symbols, list) or len(symbols) < 2 or not all(isinstance(s, str) for s in symbols):
        raise fault("symbols", "a list of two or more asset symbols")
    periods = metadata.get("periods_per_year")
    if isinstance(periods, bool) or not isinstance(periods, int | float) or not 0 < periods < math.inf:
        raise fault("periods_per_year", "a positive number")
    splits = metadata.get("splits")
    if not isinstance(splits, dict) or not all(name in splits for name in ANCHOR_SPLITS):
        raise fault("splits", "a mapping with train and validation")
    for name in ANCHOR_SPLITS:
        entry = splits[name]
        if not isinstance(entry, dict) or not isinstance(entry.get("used_for"), str):
            raise fault("splits", f"a mapping whose {name} has dates and used_for")
        _timestamps(entry.get("dates"), path, f"splits.{name}.dates")
    anchors = metadata.get("anchors")
    if anchors is not None:
        if not isinstance(anchors, dict):
            raise fault("anchors", "a mapping of splits to [date, closes] pairs")
        for name, points in anchors.items():
            if not isinstance(points, list) or not all(_anchor(p, len(symbols)) for p in points):
                raise fault("anchors", f"[date, closes] pairs with {len(symbols)} closes each ({name})")
    return metadata


def same_prices(metadata: dict[str, Any], market: MarketData) -> bool:
    """Whether ``market`` holds the prices the run (its checked metadata) trained on (module docstring).

    A run recorded before anchor prices is compared by fingerprint, then by the source path it names.
    """
    if metadata["market_fingerprint"] == market.fingerprint():
        return True
    anchors = metadata.get("anchors")
    if anchors is None:
        return bool(metadata.get("market") == market.source)
    position = {symbol: j for j, symbol in enumerate(market.symbols) if j > 0}
    agree = []
    for i, symbol in enumerate(metadata["symbols"][1:], start=1):
        j = position.get(symbol)
        if j is None:
            continue
        for points in anchors.values():
            for date, closes in points:
                theirs = _close_at(market, date, j)
                if closes[i] is not None and not math.isnan(theirs):
                    agree.append(abs(theirs - closes[i]) <= TOLERANCE * closes[i])
    return bool(agree) and sum(agree) >= SHARE * len(agree)


def _close_at(market: MarketData, date: str, column: int) -> float:
    """``market``'s close of ``column`` at bar time ``date``; NaN where it has no such bar or price."""
    stamp = pd.Timestamp(date)
    t = int(market.timestamps.searchsorted(stamp))
    if t == len(market.timestamps) or market.timestamps[t] != stamp:
        return math.nan
    return float(market.close[t, column])


def used_ranges(metadata: dict[str, Any]) -> list[tuple[pd.Timestamp, pd.Timestamp, str]]:
    """The first and last bar time, and the use, of each split the run trained or was selected on."""
    ranges = []
    for name in ANCHOR_SPLITS:
        entry = metadata["splits"][name]
        start, end = (pd.Timestamp(d) for d in entry["dates"])
        ranges.append((start, end, entry["used_for"]))
    return ranges


def market_note(metadata: dict[str, Any], market: MarketData, run: str) -> str | None:
    """Refuse a market of other assets or another bar length than the run's; say when its prices are
    not the ones it trained on (another file, or the same updated).

    :raises RunFolderError: naming the run, what it trained on and what ``market`` holds.
    """
    trained = metadata["symbols"]
    if list(market.symbols) != trained:
        raise RunFolderError(
            f"run {run} trained on {', '.join(trained)}; {market.source} holds {', '.join(market.symbols)}: "
            "evaluate or recommend it on the same assets in the same order (--assets, --cash)"
        )
    if metadata["periods_per_year"] != market.periods_per_year:
        raise RunFolderError(
            f"run {run} trained on bars {metadata['periods_per_year']:g} a year; {market.source} has "
            f"{market.periods_per_year:g} a year: give it data of the same bar length"
        )
    if metadata["market_fingerprint"] != market.fingerprint():
        return (
            f"{market.source} is not the data run {run} trained on (fingerprint {market.fingerprint()}, "
            f"trained on {metadata['market_fingerprint']}): other or updated prices of the same assets."
        )
    return None


def _timestamps(value: Any, path: Path, key: str) -> None:
    if not isinstance(value, list) or len(value) != 2:
        raise RunFolderError(f"{path}: {key} must be two dates, got {value!r:.80}")
    for item in value:
        try:
            valid = isinstance(item, str) and not pd.isna(pd.Timestamp(item))
        except ValueError:
            valid = False
        if not valid:
            raise RunFolderError(f"{path}: {key} must be two dates, got {item!r:.80}")


def _anchor(point: Any, n_columns: int) -> bool:
    if not isinstance(point, list) or len(point) != 2 or not isinstance(point[0], str):
        return False
    closes = point[1]
    try:
        if pd.isna(pd.Timestamp(point[0])):
            return False
    except ValueError:
        return False
    return (
        isinstance(closes, list)
        and len(closes) == n_columns
        and all(c is None or (isinstance(c, int | float) and math.isfinite(c) and c > 0) for c in closes)
    )
