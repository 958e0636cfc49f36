"""Risk overlays: rules that scale a base allocation's risky part to keep a risk budget.

A composed rule is named by its parts joined with ``+``: ``moderate+voltarget+ddbrake`` is the
moderate model portfolio, scaled by a volatility target, then by a drawdown brake. Each overlay
multiplies the base target's risky weights by an exposure in [0, 1] and puts the rest in cash;
the base's mix of risky assets is kept. Every exposure is a pure function of the market up to
the current bar (the base's target at that bar and past closes), so a composed rule's target
never depends on where a backtest started, ``recommend`` needs no history of the user's
portfolio, and a learner anchored on it sees the same target (:mod:`cryptofolio.agents.anchors`).

Overlays (``w`` the base's (N+1,) target, ``m = w[1:] / sum(w[1:])`` its risky mix):

- ``voltarget``: ``e = min(cap, vol / sigma)``, ``sigma`` the annualized volatility of the
  base's risky weights ``w[1:]`` under the sample covariance of the last ``window_days`` of
  log returns; ``vol`` defaults to the profile's expected volatility.
- ``ddbrake``: the mix ``m`` held over the last ``window_days`` makes an index ``I`` (from 1);
  its drawdown is ``x = 1 - I_t / max(1, max I)``. The floor is ``(1 - b)`` times that peak
  and the exposure is the cushion above it times ``1 / b`` (CPPI with multiplier ``1 / b``,
  fully invested at the peak)::

      e = clip((b - x) / (b (1 - x)), 0, 1)

  Held against a falling index, this exposure loses at most ``-ln(1 - b) / b - 1`` in log
  wealth before reaching cash (continuous trading, no fees, a fixed peak); ``b`` is solved so
  that this bound equals ``margin`` times the ``budget`` (the profile's maximum drawdown by
  default): b = 0.356 for moderate's 35% at the default margin 0.6. Daily trades, the drift
  band and forgotten peaks overshoot the bound, hence the margin, chosen on the data before
  every test window of the study (``benchmarks/overlay_calibration.py``). Way back in: the
  exposure rises as the index recovers toward its peak, and the peak itself is forgotten after
  ``window_days`` (180), so a brake never sits in cash for longer than that after the index's
  last high.
- ``regime``: the regime tilts of the guidance (:mod:`cryptofolio.agents.regimes`; high
  volatility and bear markets move weight to the stablecoin) on any base; the profiles' own
  regime variants are ``<profile>_regime``.

Trading: the composed rule trades to its target on the episode's first bar and whenever some
weight is ``band`` or more away from it (the profiles' 5-point drift band); it replaces the
base's own schedule.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from cryptofolio.agents.base import Rule
from cryptofolio.agents.regimes import detect_regime, tilt
from cryptofolio.agents.risk_profiles import DRIFT_BAND, ProfileRule, band_crossed
from cryptofolio.envs import MarketView, risk_profile
from cryptofolio.envs.errors import ConfigError

VOLATILITY_DAYS = 30
BRAKE_DAYS = 180
BRAKE_MARGIN = 0.6


def scaled(target: np.ndarray, exposure: float) -> np.ndarray:
    """(N+1,) ``target`` with its risky weights times ``exposure`` and the rest in cash."""
    out = target * exposure
    out[0] = 1.0 - out[1:].sum()
    return out


def brake_level(budget: float) -> float:
    """The index drawdown ``b`` at which the brake reaches cash, for a log-wealth loss bound of
    ``-ln(1 - budget)``: the root of ``-ln(1 - b) / b - 1 = -ln(1 - budget)`` (bisection)."""
    goal = -math.log1p(-budget)
    lo, hi = 1e-9, 1.0 - 1e-12
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if -math.log1p(-mid) / mid - 1.0 < goal:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def brake_exposure(drawdown: float, level: float) -> float:
    """``clip((b - x) / (b (1 - x)), 0, 1)`` for index drawdown ``x`` and brake level ``b``."""
    return min(1.0, max(0.0, (level - drawdown) / (level * (1.0 - drawdown))))


@dataclass
class Overlay(Rule):
    """A base rule's target with its risky part scaled by :meth:`exposure`.

    :param base: the rule whose target is scaled (anything with :meth:`Rule.target`).
    :param profile: the profile whose numbers set the defaults (the base's if it is a profile rule).
    :param band: drift, in weight, that triggers a trade back to target.
    """

    base: Rule = field(default_factory=ProfileRule)
    profile: str | None = None
    band: float = DRIFT_BAND
    label: ClassVar[str] = "overlay"

    def __post_init__(self) -> None:
        if not 0 < self.band <= 1:
            raise ConfigError(f"band must be in (0, 1] (a weight: 0.05 is 5 points), got {self.band}")
        if type(self.base).target is Rule.target:
            raise ConfigError(
                f"{self.base.name} has no standing target (its trades depend on the weights held); overlays "
                "take a profile, its regime variant, cash, btc_only, equal_weight or an estimated rule"
            )
        if self.profile is None:
            self.profile = profile_of(self.base)
        self.name = f"{self.base.name}+{self.label}"

    def target_weights(self, view: MarketView, weights: np.ndarray, first: bool) -> np.ndarray:
        target = self.target(view)
        return target if first or band_crossed(weights - target, self.band) else weights

    def target(self, view: MarketView) -> np.ndarray:
        base = self.base.target(view)
        return scaled(base, self.exposure(view, base))

    @abstractmethod
    def exposure(self, view: MarketView, base: np.ndarray) -> float:
        """The factor in [0, 1] on the risky weights of ``base`` ((N+1,)) at the view's bar."""

    def needs_profile(self, what: str) -> str:
        """The profile for a default, or an error saying which option to give."""
        if self.profile is None:
            raise ConfigError(
                f"{self.name}: give {what} or profile= ({self.base.name} is not a risk profile)"
            )
        return self.profile


@dataclass
class VolTarget(Overlay):
    """Scale risk so that the trailing volatility estimate meets ``vol`` (module docstring).

    :param vol: annualized volatility to target (0.5 is 50%); None: the profile's expected one.
    :param window_days: days of log returns in the covariance estimate.
    :param cap: the largest exposure (1: never more than the base's risk).
    """

    vol: float | None = None
    window_days: float = VOLATILITY_DAYS
    cap: float = 1.0
    label: ClassVar[str] = "voltarget"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.vol is None:
            self.vol = risk_profile(self.needs_profile("vol=")).expected_volatility
        if not 0 < self.vol <= 10:
            raise ConfigError(f"vol must be a yearly volatility in (0, 10] (0.5 is 50%), got {self.vol}")
        if not 0 < self.cap <= 1:
            raise ConfigError(f"cap must be in (0, 1] (voltarget never adds risk), got {self.cap}")
        if self.window_days < 2:
            raise ConfigError(f"window_days must be at least 2, got {self.window_days}")

    def exposure(self, view: MarketView, base: np.ndarray) -> float:
        sigma = portfolio_volatility(view, base, view.bars(self.window_days))
        assert self.vol is not None
        return self.cap if sigma <= 0.0 else min(self.cap, self.vol / sigma)


@dataclass
class DrawdownBrake(Overlay):
    """Cut risk as the base mix's trailing index falls from its peak (module docstring).

    :param budget: the drawdown to keep (0.35 is 35%); None: the profile's maximum drawdown.
    :param margin: share of the budget the continuous-time loss bound is solved for.
    :param window_days: days after which the index's peak is forgotten (the way back in).
    """

    budget: float | None = None
    margin: float = BRAKE_MARGIN
    window_days: float = BRAKE_DAYS
    label: ClassVar[str] = "ddbrake"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.budget is None:
            self.budget = risk_profile(self.needs_profile("budget=")).max_drawdown
        if not 0 < self.budget < 1:
            raise ConfigError(f"budget must be a drawdown in (0, 1) (0.35 is 35%), got {self.budget}")
        if not 0 < self.margin <= 1:
            raise ConfigError(f"margin must be in (0, 1] (a share of the budget), got {self.margin}")
        if self.window_days < 2:
            raise ConfigError(f"window_days must be at least 2, got {self.window_days}")
        self.level = brake_level(self.margin * self.budget)
        """The index drawdown at which the brake is all cash."""

    def exposure(self, view: MarketView, base: np.ndarray) -> float:
        return brake_exposure(self.drawdown(view, base), self.level)

    def drawdown(self, view: MarketView, base: np.ndarray) -> float:
        """Drawdown of the index of ``base``'s risky mix over the window, at the view's bar."""
        index = mix_index(view, base, view.bars(self.window_days))
        return 1.0 - index[-1] / max(1.0, index.max())

    def cushion(self, view: MarketView) -> float:
        """Share of the way from the floor to the peak left, in [0, 1] (1 at the peak, 0 at the floor)."""
        x = self.drawdown(view, self.base.target(view))
        return max(0.0, (self.level - x) / self.level)


@dataclass
class RegimeBuffer(Overlay):
    """The guidance's regime tilts on any base (bear and high volatility move weight to cash)."""

    label: ClassVar[str] = "regime"

    def target(self, view: MarketView) -> np.ndarray:
        return tilt(self.base.target(view), detect_regime(view), view.symbols)

    def exposure(self, view: MarketView, base: np.ndarray) -> float:
        risky = base[1:].sum()
        return 1.0 if risky <= 0 else float(self.target(view)[1:].sum() / risky)


OVERLAYS: dict[str, type[Overlay]] = {
    "voltarget": VolTarget,
    "ddbrake": DrawdownBrake,
    "regime": RegimeBuffer,
}
"""Overlays by the name that follows ``+`` in a rule spec."""


def profile_of(rule: Rule) -> str | None:
    """The risk profile a rule is built on, if any."""
    from cryptofolio.agents.hedge import Hedge  # hedge's experts are overlay rules

    return rule.profile if isinstance(rule, ProfileRule | Overlay | Hedge) else None


def budget_of(rule: Rule) -> DrawdownBrake | None:
    """The outermost drawdown brake of a composed rule, if it has one."""
    while isinstance(rule, Overlay):
        if isinstance(rule, DrawdownBrake):
            return rule
        rule = rule.base
    return None


def exposures(rule: Rule, view: MarketView) -> dict[str, float]:
    """Each overlay's exposure at the view's bar, outermost last: ``{"voltarget": 0.8, ...}``."""
    chain: list[Overlay] = []
    while isinstance(rule, Overlay):
        chain.append(rule)
        rule = rule.base
    out = {}
    for overlay in reversed(chain):
        out[overlay.label] = overlay.exposure(view, overlay.base.target(view))
    return out


def portfolio_volatility(view: MarketView, target: np.ndarray, bars: int) -> float:
    """Annualized volatility of ``target``'s risky weights ((N+1,)) under the sample covariance of
    the last ``bars`` log returns of the assets it holds with a full window (0 if none has)."""
    returns, weights = _held_returns(view, target, bars)
    if weights.size == 0 or len(returns) < 2:
        return 0.0
    cov = np.atleast_2d(np.cov(returns, rowvar=False))
    return float(np.sqrt(max(0.0, weights @ cov @ weights) * view.periods_per_year))


def mix_index(view: MarketView, target: np.ndarray, bars: int) -> np.ndarray:
    """(m+1,) value from 1 of ``target``'s risky mix held (rebalanced each bar) over the last
    ``m <= bars`` bars; assets without a full window are left out and the mix renormalized."""
    returns, weights = _held_returns(view, target, bars)
    if weights.size == 0 or weights.sum() <= 0:
        return np.ones(1)
    mix = np.expm1(returns) @ (weights / weights.sum())
    return np.concatenate(([1.0], np.cumprod(1.0 + mix)))


def _held_returns(view: MarketView, target: np.ndarray, bars: int) -> tuple[np.ndarray, np.ndarray]:
    """(m, k) log returns of the k held risky assets with a full window, and their (k,) weights."""
    returns = view.log_returns(bars)[:, 1:]
    held = np.flatnonzero((target[1:] > 0) & np.isfinite(returns).all(axis=0))
    return returns[:, held], target[1:][held]
