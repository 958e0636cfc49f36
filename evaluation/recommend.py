"""Today's trades from a baseline or a trained run, given what you hold (``cryptofolio recommend``).

At the close of the chosen bar (``--as-of``, default the latest), the holdings are valued,
the policy decides target weights exactly as it would inside a backtest (a rule reads the
market up to that bar; a trained agent reads the env's own observation, built by the same
feature code), and the trade to those weights goes through the ledger: the orders, their
fees and the value after trading. The profile's drift check and the portfolio diagnostics
(:mod:`cryptofolio.evaluation.diagnostics`) of the current and target weights come with it.

The drawdown in an agent's observation is ``1 - value / peak`` (0 without a peak). A rule
treats the bar as its first decision (trade to target whatever the band or calendar) when the
holdings are all cash or when asked to rebalance now; otherwise its bands and calendar apply
as in a backtest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cryptofolio.agents import Policy, ProfileRule, Rule
from cryptofolio.agents.anchors import anchored_env
from cryptofolio.agents.ensemble import EnsemblePolicy
from cryptofolio.envs import EnvConfig, MarketData, ledger_step
from cryptofolio.envs.errors import ConfigError
from cryptofolio.evaluation.diagnostics import (
    WINDOW,
    PortfolioDiagnostics,
    diagnose_weights,
    format_diagnostics,
)
from cryptofolio.evaluation.holdings import Holdings, value_holdings


@dataclass(frozen=True)
class Recommendation:
    """What to trade at one bar. Arrays are (N+1,), cash first, in the market's column order.

    :param policy: the policy's name; :param profile: the profile whose drift check is shown.
    :param date: the bar (prices are its closes); :param fee: cost per unit traded, slippage included.
    :param prices: quote currency per unit; :param quantities: units held.
    :param value: value of the holdings, quote currency; :param weights: current weights.
    :param target: the policy's target weights (equal to ``weights`` when it does not trade).
    :param model: the profile's target weights; :param drift: ``weights - model``.
    :param band: the profile's drift band in force (None for calendar rules); :param regime: at the bar.
    :param rebalance_due: whether the profile's rule would trade back to ``model`` at this bar.
    :param orders: units to buy (positive) or sell (negative); column 0 is the change in cash.
    :param order_values: the orders in quote currency (column 0: cash in, after fees).
    :param fees: fees and slippage of the trade (the ledger's), quote currency.
    :param turnover: risky value bought plus sold, as a fraction of ``value``.
    :param value_after: value after trading, ``value - fees``.
    :param observation: the env's observation at the bar for these weights (what an agent reads).
    :param diagnostics: ``current`` and ``target`` portfolio diagnostics.
    """

    policy: str
    profile: str
    date: pd.Timestamp
    fee: float
    symbols: tuple[str, ...]
    prices: np.ndarray
    quantities: np.ndarray
    value: float
    weights: np.ndarray
    target: np.ndarray
    model: np.ndarray
    drift: np.ndarray
    band: float | None
    regime: str
    rebalance_due: bool
    orders: np.ndarray
    order_values: np.ndarray
    fees: float
    turnover: float
    value_after: float
    observation: np.ndarray
    diagnostics: dict[str, PortfolioDiagnostics]

    def table(self) -> pd.DataFrame:
        """One row per asset: price, held, value, weight, model, drift, target, order, order value."""
        return pd.DataFrame(
            {
                "price": self.prices,
                "held": self.quantities,
                "value": self.weights * self.value,
                "weight": self.weights,
                "model": self.model,
                "drift": self.drift,
                "target": self.target,
                "order": self.orders,
                "order_value": self.order_values,
            },
            index=list(self.symbols),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--format json``: per-asset fields keyed by symbol."""
        rows = self.table().replace({np.nan: None}).to_dict(orient="index")
        return {
            "policy": self.policy,
            "profile": self.profile,
            "date": f"{self.date:%Y-%m-%dT%H:%M:%SZ}",
            "cash": self.symbols[0],
            "fee": self.fee,
            "value": self.value,
            "band": self.band,
            "regime": self.regime,
            "rebalance_due": self.rebalance_due,
            "assets": rows,
            "fees": self.fees,
            "turnover": self.turnover,
            "value_after": self.value_after,
            "diagnostics": {name: d.to_dict() for name, d in self.diagnostics.items()},
        }


def recommend(
    policy: Policy | Rule,
    holdings: Holdings,
    market: MarketData,
    bar: int,
    *,
    profile: str = "moderate",
    config: EnvConfig | None = None,
    agent_profile: str | None = None,
    peak: float | None = None,
    rebalance_now: bool = False,
    diagnostics_window: int = WINDOW,
    name: str | None = None,
) -> Recommendation:
    """The trade ``policy`` makes from ``holdings`` at the close of ``bar``.

    :param policy: a rule, or anything with SB3's ``predict`` reading the env's observation.
    :param profile: the risk profile of the drift check and the diagnostics' expected figures.
    :param config: the env a trained agent was trained with (its run's, with the costs to pay
        now): the window of its observation, a residual mapping, a trade band, the costs. The env
        built from it makes the observation, maps the action and charges the trade.
    :param agent_profile: the profile of that env (a residual agent's anchor); default ``profile``.
    :param peak: the portfolio's highest value so far, for the observation's drawdown.
    :param rebalance_now: make this a rule's first decision (trade to target).
    :param diagnostics_window: bars of returns behind correlations and risk contributions.
    """
    if peak is not None and not (math.isfinite(peak) and peak > 0):
        raise ConfigError(f"peak must be a positive number (the highest value so far), got {peak!r}")
    held = value_holdings(holdings, market, bar)
    weights, value = held.weights, held.value
    drawdown = 0.0 if peak is None else max(0.0, 1.0 - value / peak)
    # The env's split plays no part here: it lends its features, action mapping and costs.
    env = anchored_env(market, split="test", profile=agent_profile or profile, config=config)
    name = name or str(getattr(policy, "name", type(policy).__name__))
    check_spaces = getattr(policy, "check_spaces", None)  # a trained agent must fit these assets
    if check_spaces is not None:
        check_spaces(env.observation_space, env.action_space, described_as=name)
    observation = env.features.observation(bar, weights, drawdown)
    view = market.view(bar)
    first = rebalance_now or not weights[1:].any()
    if isinstance(policy, Rule):
        target = policy.target_weights(view, weights, first)
    elif isinstance(policy, EnsemblePolicy):
        target, _ = policy.target_weights(observation, bar, weights)
    else:
        action, _ = policy.predict(observation, deterministic=True)
        target = env.target_weights(np.asarray(action).reshape(-1), bar, weights)
    check = (policy if isinstance(policy, ProfileRule) else ProfileRule(profile)).check(view, weights, first)
    rate = env.config.costs.rate
    fees, turnover, value_after, _ = ledger_step(value, weights, target, np.ones_like(weights), rate)
    order_values = value_after * target - value * weights
    orders = np.where(target + weights > 0, order_values / held.prices, 0.0)
    return Recommendation(
        policy=name,
        profile=profile,
        date=market.timestamps[bar],
        fee=rate,
        symbols=market.symbols,
        prices=held.prices,
        quantities=held.quantities,
        value=value,
        weights=weights,
        target=target,
        model=check.target,
        drift=check.drift,
        band=check.band,
        regime=check.regime,
        rebalance_due=check.rebalance,
        orders=orders,
        order_values=order_values,
        fees=fees,
        turnover=turnover,
        value_after=value_after,
        observation=observation,
        diagnostics={
            kind: diagnose_weights(market, bar, w, diagnostics_window, profile)
            for kind, w in (("current", weights), ("target", target))
        },
    )


def format_recommendation(rec: Recommendation, source: str) -> str:
    """The recommendation as text: header, one row per asset, totals, then the diagnostics."""
    cash = rec.symbols[0]
    band = (
        "calendar rebalancing"
        if rec.band is None
        else f"drift band {rec.band:.0%}, largest drift {np.abs(rec.drift).max():.1%}"
    )
    due = "rebalance due" if rec.rebalance_due else "within band, no rebalance due"
    table = rec.table()
    shown = pd.DataFrame(index=table.index)
    for column in table.columns:
        if column in ("price", "held", "order"):
            shown[column] = table[column].map(lambda v: "" if not np.isfinite(v) else f"{v:,.6g}")
        elif column in ("value", "order_value"):
            shown[column] = table[column].map(lambda v: f"{v:,.2f}")
        else:
            shown[column] = table[column].map(lambda v: f"{v:.1%}")
    trades = rec.turnover > 0
    return "\n".join(
        [
            f"{rec.policy} on {source} at {rec.date:%Y-%m-%d %H:%M} UTC (closing prices), fee {rec.fee:.2%}",
            f"value {rec.value:,.2f} {cash}; profile {rec.profile}, regime {rec.regime}: {band} ({due})",
            shown.to_string(),
            (
                f"trade: turnover {rec.turnover:.1%}, fees {rec.fees:,.2f} {cash}, "
                f"value after trading {rec.value_after:,.2f} {cash}"
                if trades
                else f"no trade: {rec.policy} keeps the current weights"
            ),
            "",
            format_diagnostics(rec.diagnostics),
        ]
    )
