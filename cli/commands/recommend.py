"""`cryptofolio recommend`: today's trades from a baseline or a trained run, given what you hold.

    cryptofolio recommend --policy moderate --holdings holdings.csv --market ../shared/data/binance-daily
    cryptofolio recommend --policy checkpoints/ppo-moderate-synthetic-s0-20261201-101500 \\
        --holdings holdings.json --format json      (the run's own market, unless --market)

At the close of the chosen bar (``--as-of``, default the latest), the holdings are valued,
the policy decides target weights exactly as it would inside a backtest (a rule reads the
market up to that bar; a trained agent reads the env's own observation, built by the same
feature code), and the trade to those weights goes through the ledger: the orders, their
fees and the value after trading. The profile's drift check and the portfolio diagnostics of
the current and target weights come with it. A run pays its own costs unless ``--fee``,
``--slippage`` or ``--cash-yield`` say otherwise.

Prices older than two bars of the market's frequency are said to be old; ``--fetch binance``
first appends the candles closed since each file's last row (a folder ``cryptofolio data fetch``
wrote; ccxt and the network; a failed fetch is a warning and the files stay as they were).

The drawdown in an agent's observation is ``1 - value / --peak`` (0 without ``--peak``).
A rule treats the bar as its first decision (trade to target whatever the band or calendar)
when the holdings are all cash or with ``--rebalance-now``; otherwise its bands and calendar
apply as in a backtest.

A rule with risk overlays (``--policy moderate+voltarget+ddbrake``), or a run anchored on one
(its ``env.actions.anchor``), also prints each overlay's exposure today and, for a drawdown
brake, the budget, how far the mix's index is below its peak, the cushion left above the floor,
and a warning when the budget is at risk (less than half the cushion left) or spent (all cash
until the index recovers or its peak is forgotten); ``--format json`` has them under ``risk``.

A run's prices are judged by content, not by where they come from: prices of other assets or
another bar length than the run trained on are refused; the run's own prices, updated or cut to
other dates, are used with a note; other prices of its assets (closes that differ from those the
run recorded at its splits' first and last bars) are refused unless ``--other-market`` says to
use an agent on prices it never saw, and then noted.
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptofolio.agents import BASELINES, Policy, Rule, make_baseline
from cryptofolio.agents.anchors import anchored_env
from cryptofolio.agents.baselines import split_specs
from cryptofolio.agents.overlays import profile_of
from cryptofolio.commands.data import add_fetch_argument, fetch_fresh
from cryptofolio.commands.errors import run_command
from cryptofolio.commands.options import (
    add_cost_arguments,
    add_holdings_arguments,
    command_parser,
    costs_from,
    market_config,
    nonempty,
    output_path,
    positive_number,
)
from cryptofolio.envs import PROFILE_NAMES, EnvConfig, MarketConfig, PortfolioEnv
from cryptofolio.envs.errors import ConfigError, RunFolderError
from cryptofolio.envs.outputs import check_output_file
from cryptofolio.envs.profiles import profile_assets
from cryptofolio.evaluation.evaluate import find_runs
from cryptofolio.evaluation.holdings import (
    Holdings,
    as_of_bar,
    cash_in_delisted,
    holdings_market,
    read_holdings,
    sell_outside,
)
from cryptofolio.evaluation.recommend import format_recommendation, recommend, write_orders


@dataclass(frozen=True)
class Choice:
    """What ``--policy`` names, with what it needs to decide."""

    policy: Policy | Rule
    universe: list[str]
    """Risky assets, in the policy's order."""
    profile: str
    """Profile of the drift check."""
    agent_profile: str
    """Profile of the agent's env (a run's own)."""
    config: EnvConfig
    """The env the policy decides and trades through (a run's, at the costs of the options)."""
    market: MarketConfig
    """Where the prices come from."""
    needed_by: str
    """Who chose the assets, for messages."""
    members: tuple[tuple[Policy, EnvConfig], ...] = ()
    """For an ensemble of runs: each run's policy and env config (``policy`` is then unused)."""
    runs: tuple[Path, ...] = ()
    """The run folders behind the policy, whose data the prices are checked against; none for a rule."""


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = command_parser(prog, __doc__)
    parser.add_argument(
        "--policy",
        required=True,
        type=nonempty,
        help="a run folder from `train`; several (comma-separated, or a quoted glob): their ensemble, "
        f"the mean of their target weights; or a baseline: {', '.join(BASELINES)}; risk overlays follow "
        "a base after + (moderate+voltarget+ddbrake: the output then says how much of the budget is left)",
    )
    add_holdings_arguments(parser, default_market="a run's own, else synthetic")
    add_cost_arguments(parser, "default: a run's own, else {}")
    parser.add_argument(
        "--assets", help="risky assets the policy may hold (default: the profile's, or the run's)"
    )
    parser.add_argument(
        "--profile", choices=PROFILE_NAMES, help="profile of the drift check (default: the policy's)"
    )
    parser.add_argument(
        "--peak", type=positive_number, help="the portfolio's highest value so far (an agent's drawdown)"
    )
    parser.add_argument("--rebalance-now", action="store_true", help="trade to target whatever the band says")
    parser.add_argument("--which", choices=("best", "final"), default="best", help="a run's model (best)")
    parser.add_argument(
        "--orders", type=output_path, help="also write the orders to this .csv or .json (units to 8 decimals)"
    )
    parser.add_argument(
        "--other-market",
        action="store_true",
        help="let a run decide on other prices of its assets than it trained on (refused by default)",
    )
    add_fetch_argument(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    holdings = read_holdings(args.holdings)
    choice = _choice(args, holdings)
    offered = set(choice.market.offered())
    outside = [s for s in holdings.risky if s not in choice.universe and s in offered]  # sold below
    fetch_fresh(args, choice.market, [*choice.universe, *outside])
    kept = Holdings(
        {s: q for s, q in holdings.quantities.items() if s not in outside}, holdings.where, holdings.path
    )
    market = holdings_market(kept, choice.market, choice.universe, choice.needed_by)  # refuses unknown ones
    said: list[str | None] = []
    if choice.runs:  # a run's prices judged by content: its assets, bar length and recorded closes
        from cryptofolio.agents.sb3 import check_run_market

        said = [check_run_market(run, market, allow_other=args.other_market) for run in choice.runs]
    bar = as_of_bar(market, args.as_of)
    rate = choice.config.costs.rate
    holdings, sold = sell_outside(
        holdings, outside, choice.market, market.timestamps[bar], rate, market.cash, choice.needed_by
    )
    holdings, gone = cash_in_delisted(holdings, market, bar, choice.config.costs.delisting_haircut)
    policy = choice.policy
    if choice.members:
        from cryptofolio.agents.ensemble import EnsemblePolicy

        def env(config: EnvConfig) -> PortfolioEnv:  # lends its action mapping; its split plays no part
            return anchored_env(market, split="test", profile=choice.agent_profile, config=config)

        members = [member for member, _ in choice.members]
        policy = EnsemblePolicy(members, [env(c) for _, c in choice.members], env(choice.config))  # type: ignore[arg-type]
    rec = recommend(
        policy,
        holdings,
        market,
        bar,
        profile=choice.profile,
        config=choice.config,
        agent_profile=choice.agent_profile,
        peak=args.peak,
        rebalance_now=args.rebalance_now,
        diagnostics_window=args.window,
        name=f"ensemble of {len(choice.members)} runs" if choice.members else Path(args.policy).name,
        notes=(*[note for note in said if note], *sold, *gone),
    )
    if args.orders is not None:
        write_orders(rec, check_output_file(args.orders, "--orders"))
    if args.format == "json":
        print(json.dumps(rec.to_dict(), indent=2))
    else:
        print(format_recommendation(rec, market.source))
    return 0


def _choice(args: argparse.Namespace, holdings: Holdings) -> Choice:
    """The policy ``--policy`` names: a run folder's agent, or a baseline."""
    assets = [s.strip().upper() for s in args.assets.split(",") if s.strip()] if args.assets else None
    specs = split_specs(args.policy)  # a rule's options keep their commas
    if len(specs) > 1 or glob.has_magic(args.policy):
        return _ensemble(args, find_runs(specs), holdings)
    if Path(args.policy).is_dir():
        from cryptofolio.agents.sb3 import (
            load_policy,
            read_run_config,
            read_trusted_metadata,
            run_env_config,
            run_market_config,
        )

        run_name = Path(args.policy).name
        metadata = read_trusted_metadata(args.policy)
        trained_on = [str(s) for s in metadata["symbols"][1:]]
        if assets is not None and assets != trained_on:
            raise ConfigError(f"run {run_name} was trained on {', '.join(trained_on)}; drop --assets")
        run_profile = read_run_config(args.policy)["profile"]
        config = run_env_config(args.policy)
        recorded = run_market_config(args.policy)  # its data, up to the latest bar
        market = market_config(args, dataclasses.replace(recorded, start=None, end=None, splits=None))
        return Choice(
            policy=load_policy(args.policy, which=args.which),
            universe=trained_on,
            profile=args.profile or run_profile,
            agent_profile=run_profile,
            config=dataclasses.replace(config, costs=costs_from(args, config.costs)),
            market=market,
            needed_by=f"run {run_name}",
            runs=(Path(args.policy),),
        )
    market = market_config(args)
    rule = make_baseline(args.policy)
    profile = args.profile or profile_of(rule) or "moderate"
    config = EnvConfig(costs=costs_from(args))
    if assets is not None:
        return Choice(rule, assets, profile, profile, config, market, "--assets")
    offered = market.offered()
    universe = list(profile_assets(profile, offered))
    universe += [s for s in holdings.risky if s not in universe and s in offered]
    return Choice(rule, universe, profile, profile, config, market, f"the {profile} profile")


def _ensemble(args: argparse.Namespace, runs: list[Path], holdings: Holdings) -> Choice:
    """The runs as one ensemble: they must share their assets, profile and observation."""
    choices = [_choice(argparse.Namespace(**{**vars(args), "policy": str(run)}), holdings) for run in runs]
    first = choices[0]
    for run, other in zip(runs[1:], choices[1:], strict=True):
        if (other.universe, other.agent_profile, other.config.observation) != (
            first.universe, first.agent_profile, first.config.observation,
        ):  # fmt: skip
            raise RunFolderError(
                f"run {run.name} differs from {runs[0].name} in its assets, profile or observation: "
                "an ensemble's runs decide on the same facts"
            )
    return dataclasses.replace(
        first,
        config=first.config.for_rules(),
        needed_by=f"the runs {', '.join(r.name for r in runs)}",
        members=tuple((c.policy, c.config) for c in choices),  # type: ignore[misc]
        runs=tuple(runs),
    )


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    return run_command(build_parser(prog), run, argv)


if __name__ == "__main__":
    sys.exit(main())
