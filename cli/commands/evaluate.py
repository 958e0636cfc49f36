"""`cryptofolio evaluate`: trained agents against the baselines, with honest statistics and a report.

    cryptofolio evaluate --runs "checkpoints/ppo-moderate-*" "checkpoints/sac-moderate-*" \\
        --baselines all --split test --out reports/moderate

Every run (its best model on validation) and every baseline goes through the same backtest
runner on the same split, costs and start. The market and the costs are the runs' own (the
runs must agree) unless the options choose them. Runs of the same algorithm and profile are
a group: its metrics get a mean and a 95% bootstrap interval over seeds. Each group is
compared with its profile's baseline over the same bars, with paired block-bootstrap
intervals of the differences. A split a run was trained or selected on is refused.
With --ensemble, each group of two or more runs is also one policy, ``<algo>-<profile>-ensemble``:
every seed decides as it would alone, and the ensemble trades to the mean of their target
weights through the same ledger.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from cryptofolio.agents import BASELINES
from cryptofolio.commands.errors import run_command
from cryptofolio.commands.options import (
    add_cost_arguments,
    add_market_arguments,
    baseline_names,
    command_argv,
    command_parser,
    cost_values,
    costs_from,
    market_config,
    whole_number,
)
from cryptofolio.envs import SPLIT_NAMES, MarketConfig
from cryptofolio.envs.errors import ConfigError
from cryptofolio.evaluation.backtest import format_table
from cryptofolio.evaluation.evaluate import comparison_config, evaluate, find_runs, runs_market
from cryptofolio.evaluation.statistics import minimum_resamples


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = command_parser(prog, __doc__)
    parser.add_argument(
        "--runs", nargs="*", default=[], metavar="RUN", help="run folders or globs (quote globs)"
    )
    parser.add_argument(
        "--baselines",
        default="all",
        help=f"comma-separated baselines, or all: {', '.join(BASELINES)}; risk overlays follow a "
        "base after + (moderate+voltarget+ddbrake; see the README's risk budgets)",
    )
    parser.add_argument(
        "--split", default="test", choices=SPLIT_NAMES, help="split to report on (default test)"
    )
    add_market_arguments(parser, default_market="the runs' own")
    add_cost_arguments(parser, "default: the runs' own, which must agree")
    parser.add_argument(
        "--which", choices=("best", "final"), default="best", help="model of each run (best on validation)"
    )
    parser.add_argument(
        "--resamples",
        type=whole_number(minimum_resamples(0.95)),
        default=2_000,
        help=f"bootstrap resamples (2000; at least {minimum_resamples(0.95)}: 10 beyond each 95%% bound)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("reports/evaluation"), help="report folder (reports/evaluation)"
    )
    parser.add_argument(
        "--ensemble",
        action="store_true",
        help="also evaluate each group of runs (algorithm and profile, 2 or more seeds) as one policy "
        "trading the mean of its seeds' target weights",
    )
    parser.add_argument("--title", default=None, help="report title")
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    command = command_argv(prog, "cryptofolio.commands.evaluate", argv)
    return run_command(build_parser(prog), lambda args: run(args, command), argv)


def run(args: argparse.Namespace, command: list[str]) -> int:
    from cryptofolio.evaluation.report import write_report  # figures load matplotlib: only when reporting

    runs = find_runs(args.runs)
    baselines = baseline_names(args.baselines, "--baselines")
    market_choice = _market(args, runs)
    market, splits = market_choice.load()
    given = cost_values(args)
    # Costs left out are the runs' own; all three given, the runs' may differ.
    costs = (
        None if not given else costs_from(args, None if len(given) == 3 else comparison_config(runs).costs)
    )
    evaluation = evaluate(
        runs, baselines, market, splits, args.split, costs, args.which, args.resamples, ensemble=args.ensemble
    )
    title = args.title or f"Evaluation on the {args.split} split of {market.source}"
    report = write_report(evaluation, args.out, title, shlex.join(command))
    columns = ["total_return", "sharpe", "max_drawdown", "turnover", "fees", "psr"]
    shown = [
        *(r for g in evaluation.groups for r in g.runs),
        *evaluation.baselines,
        *([evaluation.reference] if evaluation.reference else []),
    ]
    print(format_table(evaluation.metrics.loc[shown, columns]))
    for claim in evaluation.claims:
        print(f"- {claim}")
    print(f"report: {report} (and report.md, figures and CSVs in {args.out})")
    return 0


def _market(args: argparse.Namespace, runs: list[Path]) -> MarketConfig:
    """The market the options name; without ``--market``, the runs' own (``--test`` alone moves its test)."""
    if args.market is not None or not runs:
        return market_config(args)
    market = runs_market(runs)
    if args.test is None:
        return market
    if args.train or args.val:
        raise ConfigError("with the runs' own market, give --test alone (their train and validation stay)")
    if market.splits is None:
        raise ConfigError(
            "the runs were split by fractions, not dates; give --market, --train, --val and --test"
        )
    return dataclasses.replace(market, splits=dataclasses.replace(market.splits, test=args.test))


if __name__ == "__main__":
    sys.exit(main())
