"""Risk profiles and asset categories, as data read from ``configs/profiles.yaml``.

A profile's model portfolio is mapped onto a market's assets by :func:`profile_targets`:

1. Stablecoins (USDC, USDT) go to the cash asset.
2. A named asset present and listed keeps its weight.
3. A category's "other" weight (aggressive: other DeFi 4%) is shared equally by the market's
   listed assets of that category that the profile does not name.
4. Weight that found no asset in 2-3 (missing from the data, or not listed yet) goes pro rata
   to the profile's listed assets of the same category; if there are none, to cash.

So the weights always sum to one, and an asset enters the target on its listing bar.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

import numpy as np

from cryptofolio import configs
from cryptofolio.envs.errors import ConfigError
from cryptofolio.envs.market import MarketData, MarketView

PROFILE_NAMES = ("conservative", "moderate", "aggressive")
STABLECOIN = "stablecoin"
OTHER = "other"


@dataclass(frozen=True)
class RiskProfile:
    """One model portfolio of the practitioner guidance.

    :param name: ``conservative``, ``moderate`` or ``aggressive``.
    :param max_drawdown: drawdown tolerance, a fraction (0.35 is 35%).
    :param weights: target weight per named asset, stablecoins included; with ``other_weights`` sums to 1.
    :param other_weights: weight per category for its assets not named in ``weights``.
    :param expected_volatility: annualized volatility the guidance expects of the portfolio.
    :param expected_btc_correlation: correlation to BTC the guidance expects.
    """

    name: str
    max_drawdown: float
    weights: Mapping[str, float]
    other_weights: Mapping[str, float]
    expected_volatility: float
    expected_btc_correlation: float

    @property
    def assets(self) -> tuple[str, ...]:
        """Named non-stablecoin assets, in the order of the model portfolio."""
        return tuple(s for s in self.weights if asset_category(s) != STABLECOIN)


@cache
def risk_profile(name: str) -> RiskProfile:
    """The profile called ``name`` (one of :data:`PROFILE_NAMES`)."""
    profiles = configs.read("profiles")["profiles"]
    if name not in profiles:
        raise ConfigError(f"unknown risk profile {name!r}; choose one of {', '.join(PROFILE_NAMES)}")
    entry = profiles[name]
    weights = MappingProxyType({k: float(v) for k, v in entry["weights"].items()})
    other = MappingProxyType({k: float(v) for k, v in entry.get("other_weights", {}).items()})
    total = sum(weights.values()) + sum(other.values())
    if abs(total - 1.0) > 1e-9:
        raise ConfigError(f"configs/profiles.yaml: profile {name!r} weights sum to {total}, not 1")
    return RiskProfile(
        name=name,
        max_drawdown=float(entry["max_drawdown"]),
        weights=weights,
        other_weights=other,
        expected_volatility=float(entry["expected_volatility"]),
        expected_btc_correlation=float(entry["expected_btc_correlation"]),
    )


@cache
def _category_of() -> Mapping[str, str]:
    categories = configs.read("profiles")["categories"]
    return MappingProxyType({symbol: cat for cat, symbols in categories.items() for symbol in symbols})


def asset_category(symbol: str) -> str:
    """Category of ``symbol`` (``store_of_value``, ``defi``, ...), or ``other`` if not listed."""
    return _category_of().get(symbol, OTHER)


def profile_assets(profile: str, symbols: Sequence[str]) -> tuple[str, ...]:
    """The risky assets among ``symbols`` that ``profile`` holds: named ones in the model
    portfolio's order, then those of its "other" categories in the order given."""
    spec = risk_profile(profile)
    named = [s for s in spec.assets if s in symbols]
    others = [s for s in symbols if asset_category(s) in spec.other_weights and s not in spec.weights]
    return tuple(named + others)


def profile_targets(profile: RiskProfile, view: MarketView) -> np.ndarray:
    """(N+1,) the profile's target weights on the view's assets at its current bar."""
    symbols, listed = view.symbols, view.listed
    target = np.zeros(len(symbols))
    orphaned: dict[str, float] = defaultdict(float)
    for symbol, weight in profile.weights.items():
        category = asset_category(symbol)
        if category == STABLECOIN:
            target[0] += weight
        elif symbol in symbols[1:] and listed[symbols.index(symbol)]:
            target[symbols.index(symbol)] += weight
        else:
            orphaned[category] += weight
    for category, weight in profile.other_weights.items():
        others = [
            c
            for c in range(1, len(symbols))
            if view.categories[c] == category and symbols[c] not in profile.weights and listed[c]
        ]
        if others:
            target[others] += weight / len(others)
        else:
            orphaned[category] += weight
    for category, weight in orphaned.items():
        peers = [c for c in range(1, len(symbols)) if view.categories[c] == category and target[c] > 0]
        if peers:
            target[peers] += weight * target[peers] / target[peers].sum()
        else:
            target[0] += weight
    return target


def model_portfolios(profile: str, market: MarketData) -> np.ndarray:
    """(T, N+1) the profile's target weights at every bar of ``market`` (they change at listings)."""
    spec = risk_profile(profile)
    out = np.empty(market.close.shape)
    for t in range(market.n_bars):
        if t and np.array_equal(market.available[t], market.available[t - 1]):
            out[t] = out[t - 1]
        else:
            out[t] = profile_targets(spec, market.view(t))
    return out
