"""Risk profiles and asset categories, as data read from ``configs/profiles.yaml``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

import configs

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
        raise ValueError(f"unknown risk profile {name!r}; choose one of {', '.join(PROFILE_NAMES)}")
    entry = profiles[name]
    weights = MappingProxyType({k: float(v) for k, v in entry["weights"].items()})
    other = MappingProxyType({k: float(v) for k, v in entry.get("other_weights", {}).items()})
    total = sum(weights.values()) + sum(other.values())
    if abs(total - 1.0) > 1e-9:
        raise ValueError(f"configs/profiles.yaml: profile {name!r} weights sum to {total}, not 1")
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
