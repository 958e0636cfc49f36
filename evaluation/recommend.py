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

A rule with risk overlays (``moderate+voltarget+ddbrake``), followed or a run's residual anchor
(``env.actions.anchor``), comes with its risk budget (:class:`RiskBudget`): each overlay's
exposure today and, for a drawdown brake, the budget, the drawdown of the mix's index below its
peak over the brake's window, the cushion left above the floor and a warning when it runs low.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cryptofolio.agents import Policy, ProfileRule, Rule, make_baseline
from cryptofolio.agents.anchors import anchored_env
from cryptofolio.agents.baselines import anchor_rule_spec
from cryptofolio.agents.ensemble import EnsemblePolicy
from cryptofolio.agents.overlays import Overlay, budget_of, exposures, mix_index
from cryptofolio.envs import EnvConfig, MarketData, MarketView, PortfolioEnv, ledger_step
from cryptofolio.envs.errors import ConfigError
from cryptofolio.envs.profiles import STABLECOIN, asset_category
from cryptofolio.evaluation.diagnostics import (
    WINDOW,
    PortfolioDiagnostics,
    diagnose_weights,
    format_diagnostics,
)
from cryptofolio.evaluation.holdings import Holdings, value_holdings

AT_RISK = 0.5
"""Cushion below which the budget is said to be at risk."""
QUANTITY_DECIMALS = 8
"""Decimals of the units in orders and holdings (a satoshi): printed and exported alike."""
PRICE_DECIMALS = 6
"""Decimals of the prices printed (a token at 0.000123 keeps three significant digits)."""


@dataclass(frozen=True)
class RiskBudget:
    """Where a rule with risk overlays stands at one bar. Brake fields are None without a brake.

    :param rule: the rule's name (``moderate+voltarget+ddbrake``).
    :param exposures: each overlay's factor in [0, 1] on its base's risky weights, innermost first.
    :param budget: the drawdown brake's budget (0.35 is 35%).
    :param floor: the index drawdown at which the brake is all cash (its level).
    :param drawdown: the drawdown of the index of the base's risky mix below its peak over the
        brake's window (``window_days``), in [0, 1].
    :param cushion: share of the way from the floor to the peak left: 1 at the peak, 0 at the floor.
    :param window_days: days after which the index's peak is forgotten.
    :param peak_date: the bar of that peak; :param forgotten_on: the first bar whose window leaves it out.
    """

    rule: str
    exposures: dict[str, float]
    budget: float | None = None
    floor: float | None = None
    drawdown: float | None = None
    cushion: float | None = None
    window_days: float | None = None
    peak_date: pd.Timestamp | None = None
    forgotten_on: pd.Timestamp | None = None

    @property
    def status(self) -> str | None:
        """``at the floor`` (cushion 0), ``at risk`` (below :data:`AT_RISK`), ``kept``; None without brake."""
        if self.cushion is None:
            return None
        if self.cushion <= 0.0:
            return "at the floor"
        return "at risk" if self.cushion < AT_RISK else "kept"

    @property
    def warning(self) -> str | None:
        """The line that says the budget is at risk or spent, or None."""
        if self.status == "at the floor":
            return (
                f"at the floor: all cash until the index recovers or its peak is forgotten on "
                f"{self.forgotten_on:%Y-%m-%d}"
            )
        if self.status == "at risk":
            assert self.drawdown is not None and self.floor is not None
            further = 1.0 - (1.0 - self.floor) / (1.0 - self.drawdown)
            return (
                f"budget at risk: {self.cushion:.0%} of the cushion left; a further {further:.1%} fall "
                "of the index puts the portfolio all in cash"
            )
        return None

    def lines(self) -> list[str]:
        """The budget as text: exposures, the brake's state, and the warning if any."""
        shown = ", ".join(f"{name} {value:.1%}" for name, value in self.exposures.items())
        out = [f"{self.rule}: exposure {shown}"]
        if self.cushion is not None:
            out.append(
                f"risk budget {self.budget:.0%}: the mix's index is {self.drawdown:.1%} below its "
                f"{self.window_days:g}-day peak of {self.peak_date:%Y-%m-%d} (all cash at {self.floor:.1%}); "
                f"cushion left {self.cushion:.0%}"
            )
        if self.warning is not None:
            out.append(self.warning)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--format json``; dates as ISO strings."""
        return {
            "rule": self.rule,
            "exposures": self.exposures,
            "budget": self.budget,
            "floor": self.floor,
            "drawdown": self.drawdown,
            "cushion": self.cushion,
            "window_days": self.window_days,
            "peak_date": None if self.peak_date is None else f"{self.peak_date:%Y-%m-%dT%H:%M:%SZ}",
            "forgotten_on": None if self.forgotten_on is None else f"{self.forgotten_on:%Y-%m-%dT%H:%M:%SZ}",
            "status": self.status,
            "warning": self.warning,
        }


def risk_budget(rule: Rule, view: MarketView) -> RiskBudget | None:
    """The risk budget of ``rule`` at the view's bar, or None for a rule without overlays."""
    if not isinstance(rule, Overlay):
        return None
    brake = budget_of(rule)
    if brake is None:
        return RiskBudget(rule.name, exposures(rule, view))
    base = brake.base.target(view)
    bars = view.bars(brake.window_days)
    index = mix_index(view, base, bars)
    peak = view.t - (len(index) - 1) + (len(index) - 1 - int(np.argmax(index[::-1])))  # its last bar
    return RiskBudget(
        rule=rule.name,
        exposures=exposures(rule, view),
        budget=brake.budget,
        floor=brake.level,
        drawdown=brake.drawdown(view, base),
        cushion=brake.cushion(view),
        window_days=brake.window_days,
        peak_date=view.timestamps[peak],
        forgotten_on=view.timestamps[peak] + (bars + 1) * view.freq,
    )


def followed_rule(policy: Policy | Rule, env: PortfolioEnv) -> Rule | None:
    """The rule whose budget a recommendation reports: the policy if it is a rule, else the residual
    anchor its env names (``actions.anchor``, ``profile`` standing for the env's), that of every
    run of an ensemble if they share one; None if none."""
    if isinstance(policy, Rule):
        return policy
    envs = policy.mappings if isinstance(policy, EnsemblePolicy) else [env]
    specs = {anchor_rule_spec(e.config.actions.anchor, e.profile) for e in envs if e.config.actions.residual}
    if len(specs) != 1 or not all(e.config.actions.residual for e in envs):
        return None
    return make_baseline(specs.pop())


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
    :param risk: the risk budget of the rule followed, or of a run's anchor rule (None without overlays).
    :param notes: what was done or should be known before the orders (holdings sold into cash, old
        prices, stablecoins counted as the cash asset), one line each.
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
    risk: RiskBudget | None = None
    notes: tuple[str, ...] = ()

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

    def order_rows(self) -> pd.DataFrame:
        """The orders an exchange takes, one row per risky asset traded: ``side``, ``quantity`` (units, to
        :data:`QUANTITY_DECIMALS` decimals), ``price`` (the close), ``value`` (quote currency, to 2)."""
        rows = [
            {
                "symbol": symbol,
                "side": "buy" if order > 0 else "sell",
                "quantity": round(abs(float(order)), QUANTITY_DECIMALS),
                "price": float(price),
                "value": round(abs(float(value)), 2),
            }
            for symbol, order, price, value in zip(
                self.symbols[1:], self.orders[1:], self.prices[1:], self.order_values[1:], strict=True
            )
            if round(abs(float(order)), QUANTITY_DECIMALS) > 0
        ]
        return pd.DataFrame(rows, columns=["symbol", "side", "quantity", "price", "value"])

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
            "risk": None if self.risk is None else self.risk.to_dict(),
            "notes": list(self.notes),
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
    notes: tuple[str, ...] = (),
    now: pd.Timestamp | None = None,
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
    :param notes: lines to say first (what was done to the holdings before deciding).
    :param now: the time the recommendation is made (default the clock), to say when prices are old.
    """
    if peak is not None and not (math.isfinite(peak) and peak > 0):
        raise ConfigError(f"peak must be a positive number (the highest value so far), got {peak!r}")
    held = value_holdings(holdings, market, bar)
    weights, value = held.weights, held.value
    if peak is not None and peak < value * (1 - 1e-9):
        raise ConfigError(
            f"peak {peak:g} is below the holdings' value now ({value:.2f}): the highest value so far is at "
            "least today's"
        )
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
    followed = followed_rule(policy, env)
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
        risk=None if followed is None else risk_budget(followed, view),
        notes=(*notes, *price_notes(holdings, market, bar, now)),
    )


def price_notes(
    holdings: Holdings, market: MarketData, bar: int, now: pd.Timestamp | None = None
) -> list[str]:
    """Lines on the prices used: the latest bar is more than two bars old at ``now`` (default the clock),
    and stablecoins held under another name than the market's cash asset, counted as it at its price."""
    lines = []
    age = (now or pd.Timestamp.now(tz="UTC")) - market.timestamps[bar]
    if bar == market.n_bars - 1 and age > 2 * market.freq:
        lines.append(
            f"old prices: the market's last close is from {market.timestamps[bar]:%Y-%m-%d %H:%M} UTC, "
            f"{age.days} days ago; these orders are priced at it. Fetch fresh candles first "
            "(--fetch EXCHANGE on a folder `cryptofolio data fetch` wrote)"
        )
    cash = market.symbols[0]
    others = [s for s in holdings.quantities if asset_category(s) == STABLECOIN and s != cash]
    if others:
        held = ", ".join(f"{holdings.quantities[s]:,.2f} {s}" for s in others)
        lines.append(f"cash held as {held}: counted as {cash}, one unit each at {cash}'s price")
    return lines


def write_orders(rec: Recommendation, path: Path) -> Path:
    """The orders (:meth:`Recommendation.order_rows`) as ``.csv`` or ``.json`` (a list of objects)."""
    rows = rec.order_rows()
    if path.suffix == ".csv":
        text = rows.assign(
            quantity=rows["quantity"].map(f"{{:.{QUANTITY_DECIMALS}f}}".format),
            value=rows["value"].map("{:.2f}".format),
        )
        text.to_csv(path, index=False)
    elif path.suffix == ".json":
        path.write_text(json.dumps(rows.to_dict(orient="records"), indent=2))
    else:
        raise ConfigError(f"--orders {path}: write the orders as .csv or .json")
    return path


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
        if column in ("held", "order"):
            shown[column] = table[column].map(
                lambda v: "" if not np.isfinite(v) else f"{v:,.{QUANTITY_DECIMALS}f}"
            )
        elif column == "price":
            shown[column] = table[column].map(
                lambda v: "" if not np.isfinite(v) else f"{v:,.{PRICE_DECIMALS}f}"
            )
        elif column in ("value", "order_value"):
            shown[column] = table[column].map(lambda v: f"{v:,.2f}")
        else:
            shown[column] = table[column].map(lambda v: f"{v:.1%}")
    trades = rec.turnover > 0
    return "\n".join(
        [
            *rec.notes,
            f"{rec.policy} on {source} at {rec.date:%Y-%m-%d %H:%M} UTC (closing prices), fee {rec.fee:.2%}",
            f"value {rec.value:,.2f} {cash}; profile {rec.profile}, regime {rec.regime}: {band} ({due})",
            shown.to_string(),
            (
                f"trade: turnover {rec.turnover:.1%}, fees {rec.fees:,.2f} {cash}, "
                f"value after trading {rec.value_after:,.2f} {cash}"
                if trades
                else f"no trade: {rec.policy} keeps the current weights"
            ),
            *([] if rec.risk is None else ["", *rec.risk.lines()]),
            "",
            format_diagnostics(rec.diagnostics),
        ]
    )
