"""`cryptofolio backtest`: run baselines over a split and print their metrics.

    cryptofolio backtest --policies moderate,equal_weight --market synthetic --split test --fee 0.001

Every policy runs through the same env, ledger, start bar and costs
(:func:`cryptofolio.evaluation.backtest.run_backtest`). Writes ``metrics.csv``,
``metrics.json`` and each policy's per-bar result under ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from cryptofolio.agents import BASELINES, make_baseline
from cryptofolio.commands.errors import run_command
from cryptofolio.commands.options import (
    add_cost_arguments,
    add_market_arguments,
    baseline_names,
    command_parser,
    costs_from,
    market_config,
    output_path,
)
from cryptofolio.envs import SPLIT_NAMES, EnvConfig, ObservationConfig, PortfolioEnv
from cryptofolio.envs.outputs import check_output_folder
from cryptofolio.evaluation.backtest import format_table, metrics_table, run_backtest


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = command_parser(prog, __doc__)
    parser.add_argument(
        "--policies",
        default="all",
        help=f"comma-separated baselines, or all (the default): {', '.join(BASELINES)}; risk overlays "
        "follow a base after + (moderate+voltarget+ddbrake; see the README's risk budgets)",
    )
    add_market_arguments(parser)
    add_cost_arguments(parser)
    parser.add_argument("--split", default="test", choices=SPLIT_NAMES, help="split to run on (default test)")
    parser.add_argument(
        "--window",
        type=int,
        help=f"observation window in bars; sets the first bar (default {ObservationConfig().window})",
    )
    parser.add_argument(
        "--out", type=output_path, default=Path("reports/backtest"), help="output folder (reports/backtest)"
    )
    parser.add_argument(
        "--format", choices=("csv", "parquet"), default="csv", help="per-policy results in results/ (csv)"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    rules = [make_baseline(spec) for spec in baseline_names(args.policies, "--policies")]
    check_output_folder(args.out, "--out")
    market, splits = market_config(args).load()
    config = EnvConfig(costs=costs_from(args))
    if args.window is not None:
        config = config.with_options(window=args.window)
    env = PortfolioEnv(market, split=args.split, splits=splits, config=config)
    results = [run_backtest(rule, env) for rule in rules]
    table = metrics_table(results)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "metrics.csv", index_label="policy")
    (args.out / "metrics.json").write_text(table.to_json(orient="index", indent=2))
    for result in results:
        result.save(args.out / "results" / f"{result.name}.{args.format}")
    first, last = results[0].timestamps[0], results[0].timestamps[-1]
    print(
        f"{market.source}, {args.split} split: {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M}, "
        f"fee {config.costs.fee:.2%}"
    )
    print(format_table(table))
    print(f"written: {args.out / 'metrics.csv'}, {args.out / 'metrics.json'}, {args.out / 'results'}/")
    return 0


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    return run_command(build_parser(prog), run, argv)


if __name__ == "__main__":
    sys.exit(main())
