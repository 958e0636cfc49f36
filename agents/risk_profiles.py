"""The conservative / moderate / aggressive model portfolios as rebalancing rules.

Target weights come from ``configs/profiles.yaml``, mapped onto the market by
:func:`cryptofolio.envs.profiles.profile_targets` (the rules for missing and unlisted assets are there).

Rebalancing: with drift bands (the default), the rule trades back to target at bar t only if
some position, cash included, is ``band`` or more away from its target; otherwise it keeps
the drifted weights (no trade, no cost). With ``adaptive_band`` the band widens to
``high_volatility_band`` while the high-volatility signal fires. With ``calendar`` set, it
rebalances on the first bar of each month or week instead (weekly in high volatility when
``adaptive_band`` is on). With ``regime_aware``, the target is tilted by the regime
(:mod:`cryptofolio.agents.regimes`). The first decision of an episode always goes to target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cryptofolio.agents.base import Rule, period_started
from cryptofolio.agents.regimes import NEUTRAL, detect_regime, tilt
from cryptofolio.envs import MarketView, risk_profile
from cryptofolio.envs.errors import ConfigError
from cryptofolio.envs.profiles import profile_targets

DRIFT_BAND = 0.05
HIGH_VOLATILITY_BAND = 0.10
BAND_TOLERANCE = 1e-12  # a drift of exactly the band counts as crossing it


def band_crossed(drift: np.ndarray, band: float) -> bool:
    """Whether some weight of ``drift`` ((N+1,) weights minus target) is ``band`` or more from target."""
    return bool(np.max(np.abs(drift)) >= band - BAND_TOLERANCE)


@dataclass(frozen=True)
class DriftCheck:
    """A profile rule's view of a portfolio at one bar.

    :param target: (N+1,) the profile's target weights (tilted by the regime if regime-aware).
    :param regime: the regime detected at the bar (``neutral`` when the rule needs none).
    :param band: the drift band in force, a weight (None for calendar rebalancing).
    :param drift: (N+1,) current weights minus target.
    :param rebalance: whether the rule trades back to target at this bar (band crossed,
        calendar due, or the episode's first decision).
    """

    target: np.ndarray
    regime: str
    band: float | None
    drift: np.ndarray
    rebalance: bool


@dataclass
class ProfileRule(Rule):
    """A risk profile's model portfolio with drift-band or calendar rebalancing.

    :param profile: ``conservative``, ``moderate`` or ``aggressive``.
    :param band: drift, in weight (0.05 = 5 percentage points), that triggers a rebalance.
    :param adaptive_band: widen the band (and make the calendar weekly) in high volatility.
    :param high_volatility_band: the band while high volatility is detected.
    :param calendar: ``monthly`` or ``weekly`` to rebalance on the calendar instead of bands.
    :param regime_aware: tilt the target by the detected regime.
    """

    profile: str = "moderate"
    band: float = DRIFT_BAND
    adaptive_band: bool = True
    high_volatility_band: float = HIGH_VOLATILITY_BAND
    calendar: str | None = None
    regime_aware: bool = False

    def __post_init__(self) -> None:
        self._profile = risk_profile(self.profile)
        for name, band in (("band", self.band), ("high_volatility_band", self.high_volatility_band)):
            if not 0 < band <= 1:
                raise ConfigError(f"{name} must be in (0, 1] (a weight: 0.05 is 5 points), got {band}")
        if self.calendar not in (None, "monthly", "weekly"):
            raise ConfigError(
                f"calendar must be monthly or weekly (or unset for bands), got {self.calendar!r}"
            )
        parts = [
            self.profile,
            *(["regime"] if self.regime_aware else []),
            *([self.calendar] if self.calendar else []),
        ]
        self.name = "_".join(parts)

    def target_weights(self, view: MarketView, weights: np.ndarray, first: bool) -> np.ndarray:
        check = self.check(view, weights, first)
        return check.target if check.rebalance else weights

    def check(self, view: MarketView, weights: np.ndarray, first: bool = False) -> DriftCheck:
        """How far ``weights`` are from the target at the view's bar, and whether the rule trades."""
        needs_regime = self.regime_aware or self.adaptive_band
        regime = detect_regime(view) if needs_regime else NEUTRAL
        target = self._target(view, regime)
        drift = weights - target
        high_volatility = self.adaptive_band and regime == "high_volatility"
        if self.calendar is not None:
            calendar = "weekly" if high_volatility else self.calendar
            due = first or period_started(view, calendar)
            return DriftCheck(target, regime, None, drift, due)
        band = self.high_volatility_band if high_volatility else self.band
        return DriftCheck(target, regime, band, drift, first or band_crossed(drift, band))

    def target(self, view: MarketView) -> np.ndarray:
        return self._target(view, detect_regime(view) if self.regime_aware else NEUTRAL)

    def _target(self, view: MarketView, regime: str) -> np.ndarray:
        target = profile_targets(self._profile, view)
        return tilt(target, regime, view.symbols) if self.regime_aware else target
