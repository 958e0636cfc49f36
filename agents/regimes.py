"""Market regimes read from past closes, and the tilts the regime-aware baselines apply.

Signals (numbers in ``configs/profiles.yaml``, section ``regime_signals``), all on trailing
windows that end at the current bar:

- ``high_volatility``: BTC's 30-day realized volatility is at least 1.25 times its 365-day one;
- ``bear`` / ``bull``: BTC's 60-day log return is below -0.15 / above +0.15;
- ``altseason``: the listed alts' mean 30-day log return beats BTC's by at least 0.10;

the first that fires in the configured precedence wins, else ``neutral``. Without BTC in the
market, or with less history than a window needs, the signals depending on it do not fire.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from cryptofolio import configs
from cryptofolio.envs import MarketView
from cryptofolio.envs.errors import ConfigError

NEUTRAL = "neutral"
BTC = "BTC"


@dataclass(frozen=True)
class RegimeSignals:
    """Thresholds and windows of the regime signals (see the module docstring)."""

    trend_days: int
    bull_trend: float
    bear_trend: float
    volatility_days: int
    volatility_baseline_days: int
    high_volatility_ratio: float
    altseason_days: int
    altseason_lead: float
    precedence: tuple[str, ...]


@cache
def regime_signals() -> RegimeSignals:
    """The signals of ``configs/profiles.yaml``."""
    entry = dict(configs.read("profiles")["regime_signals"])
    entry["precedence"] = tuple(entry["precedence"])
    return RegimeSignals(**entry)


@cache
def regime_tilts() -> dict[str, dict[str, Any]]:
    """Tilt per regime: ``{"from": group, "share": float, "to": {group: part}}``."""
    return dict(configs.read("profiles")["regime_tilts"])


def regime_flags(view: MarketView, signals: RegimeSignals | None = None) -> dict[str, bool]:
    """Which regime signals fire at the view's current bar."""
    s = regime_signals() if signals is None else signals
    flags = dict.fromkeys(s.precedence, False)
    if BTC not in view.symbols or not view.listed[view.symbols.index(BTC)]:
        return flags
    btc = view.symbols.index(BTC)
    returns = view.log_returns(view.bars(s.volatility_baseline_days))
    index = returns[:, btc]
    short, trend_bars = view.bars(s.volatility_days), view.bars(s.trend_days)
    recent = index[-short:]
    if len(index) >= short and np.isfinite(recent).all():
        long_run = index[np.isfinite(index)]
        flags["high_volatility"] = bool(recent.std(ddof=1) >= s.high_volatility_ratio * long_run.std(ddof=1))
    if len(index) >= trend_bars and np.isfinite(index[-trend_bars:]).all():
        trend = index[-trend_bars:].sum()
        flags["bull"] = bool(trend > s.bull_trend)
        flags["bear"] = bool(trend < s.bear_trend)
    alt_bars = view.bars(s.altseason_days)
    if len(index) >= alt_bars and np.isfinite(index[-alt_bars:]).all():
        window = returns[-alt_bars:, 1:]
        alts = [c for c in range(window.shape[1]) if c + 1 != btc and np.isfinite(window[:, c]).all()]
        if alts:
            lead = window[:, alts].sum(axis=0).mean() - index[-alt_bars:].sum()
            flags["altseason"] = bool(lead >= s.altseason_lead)
    return flags


def detect_regime(view: MarketView, signals: RegimeSignals | None = None) -> str:
    """The regime at the view's current bar: the first firing signal in precedence, else ``neutral``."""
    flags = regime_flags(view, signals)
    return next((name for name, fired in flags.items() if fired), NEUTRAL)


def tilt(target: np.ndarray, regime: str, symbols: tuple[str, ...]) -> np.ndarray:
    """(N+1,) ``target`` adjusted for ``regime`` by the configured tilt (unchanged if none)."""
    spec = regime_tilts().get(regime)
    if spec is None:
        return target
    out = target.copy()
    source = _group(spec["from"], out, symbols)
    moved = spec["share"] * out[source].sum()
    out[source] *= 1.0 - spec["share"]
    for group, part in spec["to"].items():
        dest = _group(group, out, symbols)
        if out[dest].sum() > 0:
            out[dest] += moved * part * out[dest] / out[dest].sum()
        else:  # an empty group, or cash at zero: the weight goes to cash
            out[0] += moved * part
    return out / out.sum()


def _group(name: str, target: np.ndarray, symbols: tuple[str, ...]) -> np.ndarray:
    """Columns of a tilt group; alts and risky keep to assets the target holds."""
    if name == "cash":
        return np.array([0])
    if name == BTC:
        held = BTC in symbols and target[symbols.index(BTC)] > 0
        return np.array([symbols.index(BTC)] if held else [], dtype=np.int64)
    risky = np.flatnonzero(target[1:] > 0) + 1
    if name == "risky":
        return risky
    if name == "alts":
        return np.array([c for c in risky if symbols[c] != BTC], dtype=np.int64)
    raise ConfigError(f"unknown tilt group {name!r} in configs/profiles.yaml; use cash, BTC, alts or risky")
