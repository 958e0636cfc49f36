"""The risk budget read first: each policy's drawdown and volatility against its profile's promise.

A profile promises a maximum drawdown (its tolerance) and an expected volatility
(``configs/profiles.yaml``). A policy keeps the budget over a path when its maximum drawdown is
at most the tolerance; the study's target allows :data:`GRACE` more (5 points).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cryptofolio.envs import risk_profile
from cryptofolio.evaluation import metrics

GRACE = 0.05
"""Points of drawdown beyond the tolerance the study's target allows (0.05: 5 points)."""


@dataclass(frozen=True)
class Budget:
    """A profile's promise.

    :param profile: the profile's name.
    :param tolerance: its maximum drawdown, a fraction (0.35 is 35%).
    :param volatility: its expected annualized volatility, a fraction.
    """

    profile: str
    tolerance: float
    volatility: float

    @classmethod
    def of(cls, profile: str) -> Budget:
        """The budget of ``profile`` (``configs/profiles.yaml``)."""
        spec = risk_profile(profile)
        return cls(profile, spec.max_drawdown, spec.expected_volatility)

    def describe(self) -> str:
        """``max drawdown 35%, volatility 50%``."""
        return f"max drawdown {self.tolerance:.0%}, volatility {self.volatility:.0%}"


def budget_row(paths: Sequence[np.ndarray], periods_per_year: float, budget: Budget) -> dict[str, float]:
    """One policy's budget metrics, the mean over its (n+1,) value paths (seeds; a rule has one).

    ``kept`` is whether the mean max drawdown is at most the tolerance, ``excess_points`` the mean max
    drawdown minus the tolerance (positive: broken by that much), ``seeds_kept`` how many paths kept it.
    """
    drawdown = np.array([metrics.max_drawdown(v) for v in paths])
    volatility = float(np.mean([metrics.annualized_volatility(v, periods_per_year) for v in paths]))
    days = 365.0 / periods_per_year
    return {
        "max_drawdown": float(drawdown.mean()),
        "tolerance": budget.tolerance,
        "excess_points": float(drawdown.mean() - budget.tolerance),
        "kept": bool(drawdown.mean() <= budget.tolerance),
        "seeds_kept": int((drawdown <= budget.tolerance).sum()),
        "cdar": float(np.mean([metrics.conditional_drawdown_at_risk(v) for v in paths])),
        "volatility": volatility,
        "volatility_ratio": volatility / budget.volatility,
        "underwater_days": float(np.mean([metrics.longest_underwater(v) * days for v in paths])),
        "sharpe": float(np.mean([metrics.sharpe_ratio(v, periods_per_year) for v in paths])),
        "cagr": float(np.mean([metrics.cagr(v, periods_per_year) for v in paths])),
    }


def budget_table(
    paths: Mapping[str, Sequence[np.ndarray]], periods_per_year: float, budget: Budget
) -> pd.DataFrame:
    """:func:`budget_row` of each policy, kept ones first, then by drawdown."""
    table = pd.DataFrame({name: budget_row(p, periods_per_year, budget) for name, p in paths.items()}).T
    table["kept"] = table["kept"].astype(bool)
    order = table.assign(broken=~table["kept"]).sort_values(["broken", "max_drawdown"], kind="stable").index
    return table.loc[order]


def _column(table: pd.DataFrame, name: str) -> dict[str, float]:
    return {str(k): float(v) for k, v in table[name].items()}


def kept_sentence(table: pd.DataFrame, budget: Budget) -> str:
    """Who kept the budget, who broke it by most, and among the keepers the best Sharpe and growth."""
    drawdown, sharpe, growth = (_column(table, c) for c in ("max_drawdown", "sharpe", "cagr"))
    kept = [name for name, dd in drawdown.items() if dd <= budget.tolerance]
    broken = [name for name in drawdown if name not in kept]
    sentence = f"The {budget.profile} budget ({budget.describe()}) was kept by " + (
        ", ".join(kept) if kept else "no policy"
    )
    if broken:
        worst = max(broken, key=drawdown.__getitem__)
        sentence += f" and broken by {len(broken)} (by most: {worst}, {drawdown[worst]:.1%})"
    sentence += "."
    ranked = [name for name in kept if np.isfinite(sharpe[name])]  # cash has no Sharpe ratio
    if ranked:
        best_sharpe, best_growth = max(ranked, key=sharpe.__getitem__), max(ranked, key=growth.__getitem__)
        sentence += (
            f" Among those that kept it, the best Sharpe ratio was {best_sharpe}'s "
            f"({sharpe[best_sharpe]:.2f}) and the best growth {best_growth}'s "
            f"({growth[best_growth]:.1%} a year)."
        )
    return sentence


def target_sentence(table: pd.DataFrame, budget: Budget, plain_rule: str, rules: Sequence[str]) -> str:
    """Whether a rule kept the max drawdown within the tolerance plus :data:`GRACE` with a Sharpe ratio at
    or above ``plain_rule``'s, said plainly either way."""
    drawdown, sharpe = _column(table, "max_drawdown"), _column(table, "sharpe")
    candidates = [r for r in rules if r in drawdown]
    plain = sharpe[plain_rule]
    within = [r for r in candidates if drawdown[r] <= budget.tolerance + GRACE]
    winners = sorted((r for r in within if sharpe[r] >= plain), key=sharpe.__getitem__, reverse=True)
    within = [r for r in within if np.isfinite(sharpe[r])]
    limit = f"{budget.tolerance:.0%} plus {GRACE * 100:.0f} points"
    if winners:
        best, others = winners[0], winners[1:]
        return (
            f"A rule kept the {budget.profile} max drawdown within {limit} with a Sharpe ratio at or above "
            f"the plain {plain_rule} rule's ({plain:.2f}): {best} (max drawdown {drawdown[best]:.1%}, Sharpe "
            f"{sharpe[best]:.2f})" + (f"; also {', '.join(others)}" if others else "") + "."
        )
    if not within:
        lowest = min(candidates, key=drawdown.__getitem__)
        return (
            f"No rule kept the {budget.profile} promise of {budget.tolerance:.0%} within {limit} (lowest: "
            f"{lowest} at {drawdown[lowest]:.1%})."
        )
    best = max(within, key=sharpe.__getitem__)
    return (
        f"Rules kept the {budget.profile} max drawdown within {limit} ({', '.join(within)}), but none with a "
        f"Sharpe ratio at or above the plain {plain_rule} rule's {plain:.2f} (best: {best}, "
        f"{sharpe[best]:.2f})."
    )
