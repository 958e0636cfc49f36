"""`cryptofolio walkforward`: train, select and test on rolling folds, then aggregate the test folds.

    cryptofolio walkforward --algo ppo --profile moderate --market synthetic \\
        --train-days 730 --val-days 180 --test-days 180 --timesteps 50000 --seeds 0,1

Fold k trains on ``train-days`` of bars, selects on the next ``val-days`` and tests on the
``test-days`` after them; the next fold starts ``step-days`` later (default: the test
length, so the test folds tile the period). Each fold is evaluated like ``cryptofolio
evaluate``, every policy at the run's costs (``--fee``, ``--slippage``, ``--cash-yield`` set
them for training and testing alike). The test folds are then chained into one
out-of-sample path per policy.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from cryptofolio.agents.learners import names
from cryptofolio.commands.errors import run_command
from cryptofolio.commands.options import (
    MAX_TIMESTEPS,
    add_cost_arguments,
    add_market_arguments,
    command_argv,
    command_parser,
    cost_overrides,
    market_config,
    output_path,
    seed_list,
    whole_number,
)
from cryptofolio.envs import PROFILE_NAMES
from cryptofolio.envs.outputs import check_output_folder
from cryptofolio.evaluation.rendering import markdown_table
from cryptofolio.evaluation.tables import formatted, label
from cryptofolio.training.budgets import WALKFORWARD_TIMESTEPS
from cryptofolio.training.folds import rolling_folds
from cryptofolio.training.optuna_studies import parse_seeds
from cryptofolio.training.walkforward import (
    WalkForwardPlan,
    summarize_folds,
    walk_forward,
    write_walkforward_report,
)


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = command_parser(prog, __doc__)
    parser.add_argument("--algo", required=True, choices=sorted(names()), help="algorithm")
    parser.add_argument(
        "--profile", default="moderate", choices=PROFILE_NAMES, help="risk profile (default moderate)"
    )
    add_market_arguments(parser, splits=False)
    add_cost_arguments(parser, "default: configs/<algo>.yaml's, else {}")
    for name, default in (("train", 730), ("val", 180), ("test", 180)):
        parser.add_argument(
            f"--{name}-days",
            type=whole_number(1),
            default=default,
            help=f"days of {name} per fold ({default})",
        )
    parser.add_argument("--step-days", type=whole_number(1), help="days between folds (default: --test-days)")
    parser.add_argument(
        "--timesteps",
        type=whole_number(1, MAX_TIMESTEPS),
        default=WALKFORWARD_TIMESTEPS,
        help=f"training steps per fold and seed ({WALKFORWARD_TIMESTEPS})",
    )
    parser.add_argument("--seeds", type=seed_list, default="0", help="seeds, e.g. 0,1 or 0-4 (0)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a training setting"
    )
    parser.add_argument(
        "--out",
        type=output_path,
        default=Path("reports/walkforward"),
        help="report folder (reports/walkforward)",
    )
    parser.add_argument(
        "--checkpoints",
        type=output_path,
        default=Path("checkpoints/walkforward"),
        help="run folders, fold<k>/<algo>-s<seed> (checkpoints/walkforward)",
    )
    parser.add_argument("--no-progress-bar", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    command = command_argv(prog, "cryptofolio.commands.walkforward", argv)
    return run_command(build_parser(prog), lambda args: run(args, command), argv)


def run(args: argparse.Namespace, command: list[str]) -> int:
    check_output_folder(args.out, "--out")
    check_output_folder(args.checkpoints, "--checkpoints")
    source = market_config(args)
    market, _ = source.load()
    plan = WalkForwardPlan(
        algo=args.algo,
        profile=args.profile,
        market=source,
        folds=tuple(rolling_folds(market, args.train_days, args.val_days, args.test_days, args.step_days)),
        seeds=tuple(parse_seeds(args.seeds)),
        timesteps=args.timesteps,
        overrides=(*args.set, *cost_overrides(args)),
    )
    folds = plan.folds
    evaluations = walk_forward(plan, args.checkpoints, not args.no_progress_bar, command)
    report = write_walkforward_report(market, folds, evaluations, args.profile, args.out, shlex.join(command))
    _, chain = summarize_folds(market, folds, evaluations, args.profile)
    columns = ["total_return", "cagr", "sharpe", "max_drawdown"]
    print(markdown_table(formatted(chain[columns].rename(index=label))))
    print(f"report: {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
