"""`cryptofolio recommend`: today's trades from a baseline or a trained run, given what you hold.

    cryptofolio recommend --policy moderate --holdings holdings.csv --market ../shared/data/binance-daily
    cryptofolio recommend --policy checkpoints/ppo-moderate-seed0-... --holdings holdings.json --format json

At the close of the chosen bar (``--as-of``, default the latest), the holdings are valued,
the policy decides target weights exactly as it would inside a backtest (a rule reads the
market up to that bar; a trained agent reads the env's own observation, built by the same
feature code), and the trade to those weights goes through the ledger: the orders, their
fees and the value after trading. The profile's drift check and the portfolio diagnostics
(:mod:`evaluation.diagnostics`) of the current and target weights come with it.

The drawdown in an agent's observation is ``1 - value / --peak`` (0 without ``--peak``).
A rule treats the bar as its first decision (trade to target whatever the band or calendar)
when the holdings are all cash or with ``--rebalance-now``; otherwise its bands and calendar
apply as in a backtest.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agents import BASELINES, Policy, ProfileRule, Rule, make_baseline
from envs import DataError, MarketData, PortfolioEnv, ledger_step
from envs.loaders import market_symbols
from envs.profiles import PROFILE_NAMES, profile_assets
from evaluation.diagnostics import PortfolioDiagnostics, diagnose_weights, format_diagnostics
from evaluation.holdings import (
    Holdings,
    add_holdings_arguments,
    as_of_bar,
    holdings_market,
    read_holdings,
    value_holdings,
)


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
    fee: float = 0.001,
    env_options: Mapping[str, Any] | None = None,
    peak: float | None = None,
    rebalance_now: bool = False,
    diagnostics_window: int = 90,
    name: str | None = None,
) -> Recommendation:
    """The trade ``policy`` makes from ``holdings`` at the close of ``bar``.

    :param policy: a rule, or anything with SB3's ``predict`` reading the env's observation.
    :param profile: the risk profile of the drift check and the diagnostics' expected figures.
    :param fee: fee per unit of traded value, as in the env.
    :param env_options: PortfolioEnv's keyword arguments a trained agent was trained with (its
        run's ``env`` and ``profile``): the window of its observation, a residual mapping, a
        trade band, slippage. The env built from them makes the observation and maps the action.
    :param peak: the portfolio's highest value so far, for the observation's drawdown.
    :param rebalance_now: make this a rule's first decision (trade to target).
    :param diagnostics_window: bars of returns behind correlations and risk contributions.
    """
    held = value_holdings(holdings, market, bar)
    weights, value = held.weights, held.value
    drawdown = 0.0 if peak is None else max(0.0, 1.0 - value / peak)
    # The env's split plays no part here: it lends its features, action mapping and costs.
    env = PortfolioEnv(market, split="test", **{"profile": profile, **(env_options or {}), "fee": fee})
    name = name or str(getattr(policy, "name", type(policy).__name__))
    check_spaces = getattr(policy, "check_spaces", None)  # a trained agent must fit these assets
    if check_spaces is not None:
        check_spaces(env.observation_space, env.action_space, described_as=name)
    observation = env.features.observation(bar, weights, drawdown)
    view = market.view(bar)
    first = rebalance_now or not weights[1:].any()
    if isinstance(policy, Rule):
        target = policy.target_weights(view, weights, first)
    else:
        action, _ = policy.predict(observation, deterministic=True)
        target = env.target_weights(np.asarray(action).reshape(-1), bar, weights)
    check = (policy if isinstance(policy, ProfileRule) else ProfileRule(profile)).check(view, weights, first)
    fees, turnover, value_after, _ = ledger_step(value, weights, target, np.ones_like(weights), env.cost_rate)
    order_values = value_after * target - value * weights
    orders = np.where(target + weights > 0, order_values / held.prices, 0.0)
    return Recommendation(
        policy=name,
        profile=profile,
        date=market.timestamps[bar],
        fee=env.cost_rate,
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


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--policy", required=True, help=f"a run folder from `train`, or a baseline: {', '.join(BASELINES)}"
    )
    add_holdings_arguments(parser)
    parser.add_argument(
        "--assets", help="risky assets the policy may hold (default: the profile's, or the run's)"
    )
    parser.add_argument(
        "--profile", choices=PROFILE_NAMES, help="profile of the drift check (default: the policy's)"
    )
    parser.add_argument(
        "--fee", type=float, default=0.001, help="cost per unit traded (default 0.001 = 0.1%%)"
    )
    parser.add_argument(
        "--peak", type=float, help="the portfolio's highest value so far (an agent's drawdown)"
    )
    parser.add_argument("--rebalance-now", action="store_true", help="trade to target whatever the band says")
    parser.add_argument("--which", choices=("best", "final"), default="best", help="a run's model (best)")
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    try:
        holdings = read_holdings(args.holdings)
        policy, universe, profile, env_options, needed_by = _policy(args, holdings)
        market = holdings_market(holdings, args, universe, needed_by)
        rec = recommend(
            policy,
            holdings,
            market,
            as_of_bar(market, args.as_of),
            profile=profile,
            fee=args.fee,
            env_options=env_options,
            peak=args.peak,
            rebalance_now=args.rebalance_now,
            diagnostics_window=args.window,
            name=Path(args.policy).name,
        )
    except (ValueError, KeyError, FileNotFoundError, DataError) as error:
        parser.error(str(error).strip("'\""))
    if args.format == "json":
        print(json.dumps(rec.to_dict(), indent=2))
    else:
        print(format_recommendation(rec, market.source))
    return 0


def _policy(
    args: argparse.Namespace, holdings: Holdings
) -> tuple[Policy | Rule, list[str], str, dict[str, Any], str]:
    """The policy, its assets, the profile, its env options, and who chose the assets."""
    assets = [s.strip().upper() for s in args.assets.split(",") if s.strip()] if args.assets else None
    if Path(args.policy).is_dir():
        from agents.sb3 import load_policy, read_run_config, read_run_metadata

        config = read_run_config(args.policy)
        trained_on = [str(s) for s in read_run_metadata(args.policy)["symbols"][1:]]
        if assets is not None and assets != trained_on:
            raise ValueError(
                f"run {Path(args.policy).name} was trained on {', '.join(trained_on)}; drop --assets"
            )
        args.cash = args.cash or config.get("cash")
        env_options = {**config["env"], "profile": config["profile"]}
        needed_by = f"run {Path(args.policy).name}"
        return (
            load_policy(args.policy, which=args.which),
            trained_on,
            args.profile or config["profile"],
            env_options,
            needed_by,
        )
    rule = make_baseline(args.policy)
    profile = args.profile or (rule.profile if isinstance(rule, ProfileRule) else "moderate")
    if assets is not None:
        return rule, assets, profile, {}, "--assets"
    offered = market_symbols(args.market)
    universe = list(profile_assets(profile, offered))
    universe += [s for s in holdings.risky if s not in universe and s in offered]
    return rule, universe, profile, {}, f"the {profile} profile"


if __name__ == "__main__":
    sys.exit(main())
