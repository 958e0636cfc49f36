"""Chronological train / validation / test splits of a market, as ranges of bars.

A split holds the bars on which an episode trades and is rewarded. Observations may
look back before a split's first bar: that is the past, not a leak. Choices (models,
hyperparameters) are made on ``train`` and ``validation``; ``test`` is for reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from cryptofolio.envs.errors import DataError
from cryptofolio.envs.market import MarketData, time_bounds, utc

SPLIT_NAMES = ("train", "validation", "test")

DateRange = tuple[str | pd.Timestamp, str | pd.Timestamp]
"""Inclusive ``(start, end)``; an end written as a date alone includes that whole day."""


@dataclass(frozen=True)
class Splits:
    """Bar ranges ``[start, stop)`` of the three splits, in time order and disjoint.

    ``test`` may be empty: training reads only ``train`` and ``validation``.
    """

    train: range
    validation: range
    test: range

    def __post_init__(self) -> None:
        previous: tuple[str, range] | None = None
        for name in SPLIT_NAMES:
            bars = self[name]
            if name == "test" and len(bars) == 0:
                continue
            if len(bars) < 2:
                raise DataError(f"split {name!r} has {len(bars)} bar(s); an episode needs at least 2")
            if previous is not None and bars.start < previous[1].stop:
                raise DataError(
                    f"split {name!r} (bars {bars.start}..{bars.stop - 1}) must start after split "
                    f"{previous[0]!r} ends (bar {previous[1].stop - 1})"
                )
            previous = (name, bars)

    def __getitem__(self, name: str) -> range:
        if name not in SPLIT_NAMES:
            raise KeyError(f"unknown split {name!r}; choose one of {', '.join(SPLIT_NAMES)}")
        bars: range = getattr(self, name)
        return bars

    def dates(self, market: MarketData) -> dict[str, tuple[str, str] | None]:
        """First and last bar time of each split, as ISO strings (None for an empty test split)."""
        ts = market.timestamps
        return {
            name: (ts[self[name].start].isoformat(), ts[self[name].stop - 1].isoformat())
            if self[name]
            else None
            for name in SPLIT_NAMES
        }


def split_by_dates(
    market: MarketData, *, train: DateRange, validation: DateRange, test: DateRange | None = None
) -> Splits:
    """Splits from inclusive date ranges, e.g. ``train=("2020-10-15", "2022-12-31")``.

    :param test: None: every bar after validation (possibly none), for runs that only train.
    """
    ranges: dict[str, range] = {}
    for name, dates in zip(SPLIT_NAMES, (train, validation, test), strict=True):
        if dates is None:
            ranges[name] = range(ranges["validation"].stop, market.n_bars)
            continue
        start, end = dates
        lo, hi = time_bounds(start, end)
        if lo is None or hi is None:
            raise DataError(f"split {name!r} needs a start and an end date, got ({start}, {end})")
        if utc(end) > market.timestamps[-1]:  # (a date alone ends at its midnight: its day may be partial)
            raise DataError(
                f"split {name!r} from {start} to {end} ends after the market's last bar, "
                f"{market.timestamps[-1]:%Y-%m-%d %H:%M} ({market.source}): a split is never cut to the data"
            )
        if lo < market.timestamps[0].floor("D"):  # (the first bar's day counts as in the data)
            raise DataError(
                f"split {name!r} from {start} to {end} starts before the market's first bar, "
                f"{market.timestamps[0]:%Y-%m-%d %H:%M} ({market.source}): a split is never cut to the data"
            )
        first = int(market.timestamps.searchsorted(lo))
        stop = int(market.timestamps.searchsorted(hi))
        if stop - first < 2:
            raise DataError(
                f"split {name!r} from {start} to {end} holds {max(stop - first, 0)} bar(s) of a market "
                f"running from {market.timestamps[0]} to {market.timestamps[-1]}"
            )
        ranges[name] = range(first, stop)
    return Splits(**ranges)


def split_by_fractions(
    market: MarketData, fractions: Sequence[float] = (0.7, 0.15, 0.15), gap: int = 0
) -> Splits:
    """Consecutive splits taking ``fractions`` of the bars, with ``gap`` unused bars between them."""
    if len(fractions) != 3 or any(f <= 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions must be three positive numbers summing to 1, got {tuple(fractions)}")
    if gap < 0:
        raise ValueError(f"gap must be >= 0 bars, got {gap}")
    usable = market.n_bars - 2 * gap
    sizes = [int(f * usable) for f in fractions[:2]]
    bounds = [0, sizes[0], sizes[0] + gap, sizes[0] + gap + sizes[1], sizes[0] + sizes[1] + 2 * gap]
    return Splits(
        train=range(bounds[0], bounds[1]),
        validation=range(bounds[2], bounds[3]),
        test=range(bounds[4], market.n_bars),
    )
