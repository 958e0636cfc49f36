"""MarketData: the prices every env, baseline and backtest reads.

Column 0 is always the cash asset (a stablecoin); columns 1..N are the risky assets.
Prices are in the quote currency (USDT for Binance spot data), one row per bar.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cryptofolio.envs.errors import ConfigError, DataError

if TYPE_CHECKING:
    from cryptofolio.envs.synthetic import SyntheticTruth

OHLCV_FIELDS = ("open", "high", "low", "volume")
"""Optional per-bar fields kept next to ``close`` when the source has them."""
MAX_MOVE = 1e6
"""Largest factor a close may move by from one bar to the next: beyond it, the data is in error."""

YEAR = pd.Timedelta(days=365)
"""Crypto trades every day: 365 daily or 8,760 hourly periods a year."""


def utc(when: str | pd.Timestamp) -> pd.Timestamp:
    """``when`` as a UTC timestamp; naive times are read as UTC.

    :raises ConfigError: naming ``when`` if it is not a date or time.
    """
    try:
        stamp = pd.Timestamp(when)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{when!r} is not a date or time ({error})") from None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def time_bounds(
    start: str | pd.Timestamp | None, end: str | pd.Timestamp | None
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """Half-open UTC bounds ``[lo, hi)`` for an inclusive ``start`` and ``end``.

    An ``end`` written as a date alone (``"2023-12-31"``) includes that whole day.
    """
    lo = None if start is None else utc(start)
    if end is None:
        return lo, None
    date_only = isinstance(end, str) and len(end.strip()) <= len("2023-12-31")
    return lo, utc(end) + (pd.Timedelta(days=1) if date_only else pd.Timedelta(1, "ns"))


def _frozen(array: np.ndarray, dtype: type) -> np.ndarray:
    out: np.ndarray = np.array(array, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class MarketData:
    """Prices of a cash asset and N risky assets on a regular UTC grid.

    :param timestamps: (T,) bar times, UTC, strictly increasing, one ``freq`` apart.
        A bar's prices are its close: known at the end of the bar.
    :param symbols: (N+1,) asset symbols, cash first.
    :param close: (T, N+1) float64 close prices; NaN exactly where ``available`` is False.
    :param available: (T, N+1) bool, True from an asset's listing bar to its last price (cash always):
        an asset whose prices end before the market's is delisted after its last bar.
    :param categories: (N+1,) category of each asset (see ``configs/profiles.yaml``).
    :param freq: bar length.
    :param ohlcv: optional (T, N+1) arrays for ``open``, ``high``, ``low``, ``volume``.
    :param source: where the data came from (a path, or the synthetic generator and seed).
    :param filled: number of bars forward-filled per symbol by the loader's gap policy.
    :param truth: for synthetic markets, the true regime path and parameters.
    """

    timestamps: pd.DatetimeIndex
    symbols: tuple[str, ...]
    close: np.ndarray
    available: np.ndarray
    categories: tuple[str, ...]
    freq: pd.Timedelta
    ohlcv: Mapping[str, np.ndarray] = field(default_factory=dict)
    source: str = ""
    filled: Mapping[str, int] = field(default_factory=dict)
    truth: SyntheticTruth | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen dataclass: normalise fields once, here
        set_(self, "timestamps", pd.DatetimeIndex(self.timestamps).as_unit("ns"))
        set_(self, "symbols", tuple(self.symbols))
        set_(self, "categories", tuple(self.categories))
        set_(self, "freq", pd.Timedelta(self.freq))
        set_(self, "close", _frozen(self.close, np.float64))
        set_(self, "available", _frozen(self.available, np.bool_))
        set_(self, "ohlcv", MappingProxyType({k: _frozen(v, np.float64) for k, v in self.ohlcv.items()}))
        set_(self, "filled", MappingProxyType(dict(self.filled)))
        self._validate()

    def _validate(self) -> None:
        ts, n_bars, n_cols = self.timestamps, len(self.timestamps), len(self.symbols)
        if ts.tz is None or str(ts.tz) != "UTC":
            raise ValueError(f"timestamps must be tz-aware UTC, got tz={ts.tz}")
        if n_bars < 2:
            raise ValueError(f"a market needs at least 2 bars, got {n_bars}")
        if self.freq <= pd.Timedelta(0):
            raise ValueError(f"freq must be positive, got {self.freq}")
        steps = np.diff(ts.asi8)
        if not np.all(steps == self.freq.value):
            bad = int(np.flatnonzero(steps != self.freq.value)[0]) + 1
            raise ValueError(f"timestamps are not a regular {self.freq} grid at bar {bad} ({ts[bad]})")
        if n_cols < 2 or len(set(self.symbols)) != n_cols:
            raise ValueError(f"symbols must be cash plus at least one distinct asset, got {self.symbols}")
        if len(self.categories) != n_cols:
            raise ValueError(f"{len(self.categories)} categories for {n_cols} symbols")
        for name, array in {"close": self.close, "available": self.available, **self.ohlcv}.items():
            if array.shape != (n_bars, n_cols):
                raise ValueError(f"{name} has shape {array.shape}, expected {(n_bars, n_cols)}")
        unknown = set(self.ohlcv) - set(OHLCV_FIELDS)
        if unknown:
            raise ValueError(f"unknown ohlcv fields {sorted(unknown)}; allowed: {OHLCV_FIELDS}")
        if not self.available[:, 0].all():
            raise ValueError(f"the cash asset {self.symbols[0]} must be available at every bar")
        steps = np.diff(self.available.astype(np.int8), axis=0)
        relisted = (np.cumsum(steps < 0, axis=0) > 0) & (steps > 0)
        if relisted.any():
            col = int(np.flatnonzero(relisted.any(axis=0))[0])
            raise ValueError(
                f"{self.symbols[col]} has prices again after its last one: an asset is listed once and "
                "delisted at most once (a gap inside its life is filled or refused by the loader)"
            )
        listed = self.close[self.available]
        if not (np.all(np.isfinite(listed)) and np.all(listed > 0)):
            raise ValueError("close prices must be finite and positive wherever an asset is available")
        with np.errstate(invalid="ignore"):
            moves = self.close[1:] / self.close[:-1]
        wild = np.isfinite(moves) & ~((moves < MAX_MOVE) & (moves > 1.0 / MAX_MOVE))
        if wild.any():
            t, col = (int(i[0]) for i in np.nonzero(wild))
            raise ValueError(
                f"{self.symbols[col]} moves by a factor of {moves[t, col]:.3g} at {self.timestamps[t + 1]}; "
                f"a price cannot move by a factor of {MAX_MOVE:,.0f} in one bar"
            )
        if not np.all(np.isnan(self.close[~self.available])):
            raise ValueError("close prices must be NaN where an asset is not available (before listing)")

    def __reduce__(self) -> tuple[type[MarketData], tuple[object, ...]]:
        """Pickle (for subprocess envs) through the constructor, which re-freezes the arrays."""
        fields = (self.timestamps, self.symbols, self.close, self.available, self.categories, self.freq)
        return (MarketData, (*fields, dict(self.ohlcv), self.source, dict(self.filled), self.truth))

    def fingerprint(self) -> str:
        """Short SHA-256 of the bar times, symbols and closes: the same data gives the same print."""
        digest = hashlib.sha256()
        digest.update(self.timestamps.asi8.tobytes())
        digest.update("|".join(self.symbols).encode())
        digest.update(np.nan_to_num(self.close, nan=-1.0).tobytes())
        return digest.hexdigest()[:16]

    @property
    def delisted(self) -> dict[str, int]:
        """Symbol -> last bar with a price, for each asset whose prices end before the market's last bar."""
        last = self.available[::-1].argmax(axis=0)
        return {
            s: self.n_bars - 1 - int(last[c])
            for c, s in enumerate(self.symbols)
            if self.available[:, c].any() and not self.available[-1, c]
        }

    @property
    def n_bars(self) -> int:
        """T, the number of bars."""
        return len(self.timestamps)

    @property
    def n_assets(self) -> int:
        """N, the number of risky assets (cash excluded)."""
        return len(self.symbols) - 1

    @property
    def cash(self) -> str:
        """Symbol of the cash asset (column 0)."""
        return self.symbols[0]

    @property
    def periods_per_year(self) -> float:
        """Annualization factor: 365 for daily bars, 8,760 for hourly ones."""
        return YEAR / self.freq

    def listing_bar(self, symbol: str) -> int:
        """First bar at which ``symbol`` has a price."""
        column = self.column(symbol)
        return int(np.argmax(self.available[:, column]))

    def view(self, t: int) -> MarketView:
        """The market as known at the close of bar ``t``: bars ``0..t`` and nothing after."""
        if not 0 <= t < self.n_bars:
            raise IndexError(f"bar {t} is outside the market's {self.n_bars} bars")
        return MarketView(
            timestamps=self.timestamps[: t + 1],
            symbols=self.symbols,
            close=self.close[: t + 1],
            available=self.available[: t + 1],
            categories=self.categories,
            freq=self.freq,
            regimes=None if self.truth is None else self.truth.regime_path[: t + 1],
        )

    def column(self, symbol: str) -> int:
        """Column of ``symbol`` in the price arrays (0 is cash)."""
        try:
            return self.symbols.index(symbol)
        except ValueError:
            raise KeyError(f"unknown symbol {symbol!r}; this market has {', '.join(self.symbols)}") from None

    def bar_at(self, when: str | pd.Timestamp) -> int:
        """Index of the bar at time ``when`` (an exact bar time; naive times are read as UTC)."""
        stamp = utc(when)
        position = self.timestamps.get_indexer(pd.DatetimeIndex([stamp]))[0]
        if position < 0:
            raise DataError(
                f"no bar at {stamp}: the market has {self.freq} bars from {self.timestamps[0]} "
                f"to {self.timestamps[-1]}"
            )
        return int(position)


@dataclass(frozen=True, eq=False)
class MarketView:
    """What a rule may know at the close of bar t: the market's bars ``0..t``, read-only.

    Built by :meth:`MarketData.view`; it holds slices that end at bar t, so a rule given a
    view cannot read a later price even by mistake.

    :param timestamps: (t+1,) bar times, UTC.
    :param symbols: (N+1,) cash first.
    :param close: (t+1, N+1) close prices, NaN before listing.
    :param available: (t+1, N+1) listing flags.
    :param categories: (N+1,) asset categories.
    :param freq: bar length.
    :param regimes: (t+1,) true regime of each bar so far, on synthetic markets only (for the
        known-parameter reference policy; rule-based baselines do not read it).
    """

    timestamps: pd.DatetimeIndex
    symbols: tuple[str, ...]
    close: np.ndarray
    available: np.ndarray
    categories: tuple[str, ...]
    freq: pd.Timedelta
    regimes: np.ndarray | None = None

    @property
    def t(self) -> int:
        """Index of the current bar."""
        return len(self.timestamps) - 1

    @property
    def now(self) -> pd.Timestamp:
        """Time of the current bar."""
        return self.timestamps[-1]

    @property
    def listed(self) -> np.ndarray:
        """(N+1,) bool, which assets can be held now (cash: always)."""
        return self.available[-1]

    @property
    def periods_per_year(self) -> float:
        """Bars per year: 365 daily, 8,760 hourly."""
        return YEAR / self.freq

    def bars(self, days: float) -> int:
        """Number of bars in ``days`` days (at least 1)."""
        return max(1, round(pd.Timedelta(days=days) / self.freq))

    def log_returns(self, n: int) -> np.ndarray:
        """(m, N+1) log returns of the last ``m = min(n, t)`` bars, oldest first; NaN where not listed."""
        window = self.close[-min(n, self.t) - 1 :]
        return np.log(window[1:] / window[:-1])
