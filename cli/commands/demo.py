"""`cryptofolio demo`: the main job on the synthetic market.

Trains PPO and SAC (the learners with a demo budget, cryptofolio.agents.learners) for the
moderate profile (two seeds each, small budgets), selects each
on the validation split, evaluates them with every rule-based baseline and the
known-parameter reference on the test split, writes the report and prints its headline
table. About five minutes on a 2-core machine; ``--quick`` shrinks the budgets for a smoke
test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from cryptofolio.agents import BASELINES
from cryptofolio.agents.learners import Learner, learner, names
from cryptofolio.commands.errors import run_command
from cryptofolio.commands.options import command_argv, command_parser, output_path
from cryptofolio.envs import MarketConfig
from cryptofolio.envs.outputs import check_output_folder
from cryptofolio.evaluation.backtest import format_table
from cryptofolio.evaluation.evaluate import evaluate
from cryptofolio.evaluation.report import write_report
from cryptofolio.evaluation.tables import label
from cryptofolio.training.config import resolve_config
from cryptofolio.training.run_folder import RunFolder
from cryptofolio.training.train import train

SEEDS = (0, 1)
HEADLINE = ["total_return", "sharpe", "max_drawdown", "turnover", "fees"]


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = command_parser(prog, __doc__)
    parser.add_argument(
        "--out", type=output_path, default=Path("reports/demo"), help="report folder (reports/demo)"
    )
    parser.add_argument(
        "--checkpoints",
        type=output_path,
        default=Path("checkpoints/demo"),
        help="run folders, in a dated folder inside (checkpoints/demo)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny training budgets: a smoke test of the whole job"
    )
    parser.add_argument("--no-progress-bar", action="store_true", help="do not show training progress bars")
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    command = command_argv(prog, "cryptofolio.commands.demo", argv)
    return run_command(build_parser(prog), lambda args: run(args, command), argv)


def demo_budget(entry: Learner, quick: bool) -> tuple[int | None, list[str]]:
    """A learner's timesteps in the demo (None: the demo does not train it) and its ``--set`` overrides."""
    budgets = entry.budgets
    if quick:
        return budgets.demo_quick, list(budgets.demo_quick_settings)
    return budgets.demo, []


def run(args: argparse.Namespace, command: list[str]) -> int:
    check_output_folder(args.out, "--out")  # before anything is trained or written
    checkpoints = args.checkpoints / dt.datetime.now().strftime("%Y%m%d-%H%M%S")  # a new folder
    started = time.perf_counter()
    runs = []
    entries = [learner(name) for name in names()]
    learners = [entry for entry in entries if demo_budget(entry, args.quick)[0] is not None]
    jobs = [(entry, seed) for entry in learners for seed in SEEDS]
    for step, (entry, seed) in enumerate(jobs, start=1):
        steps, overrides = demo_budget(entry, args.quick)
        algo = entry.name
        config = resolve_config(algo, "moderate", overrides=overrides, n_timesteps=steps, seed=seed)
        print(f"[{step}/{len(jobs) + 1}] training {algo.upper()} for the moderate profile, seed {seed}, "
              f"{steps:,} steps", flush=True)  # fmt: skip
        run = RunFolder.create(checkpoints, config)
        train(config, run, progress_bar=not args.no_progress_bar, command=command)
        runs.append(run.path)
    what = f"{len(runs)} agents, {len(BASELINES)} baselines and the reference"
    print(f"[{len(jobs) + 1}/{len(jobs) + 1}] evaluating {what} on the test split", flush=True)
    market, splits = MarketConfig().load()
    evaluation = evaluate(runs, list(BASELINES), market, splits, "test")
    report = write_report(
        evaluation,
        args.out,
        f"cryptofolio demo: {' and '.join(e.name.upper() for e in learners)} against the rule-based "
        "baselines",
        "cryptofolio demo",
    )
    shown = [
        *(r for g in evaluation.groups for r in g.runs),
        "moderate",
        "btc_only",
        "equal_weight",
        "reference",
    ]
    print()
    print(format_table(evaluation.metrics.loc[shown, HEADLINE].rename(index=label)))
    print()
    for claim in evaluation.claims:
        print(f"- {claim}")
    print(f"\nreport: {report} (and {args.out / 'report.md'}); run folders in {checkpoints}")
    print(f"took {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
