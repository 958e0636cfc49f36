"""`cryptofolio study`: the results study on real prices, one report per risk profile and a summary.

    cryptofolio study --market ../shared/data/binance-daily --publish docs      (= make study)

For each profile it trains PPO and SAC (three seeds each, the YAML budgets) on the profile's
own assets, train 2020-10-15 to 2022-12-31, selects on 2023, and evaluates on 2024-01-01 to
2024-06-30 against every baseline, like ``cryptofolio evaluate``. It writes
``reports/study/<profile>/`` and ``reports/study/summary.md``, and records the command,
wall time and versions in ``<checkpoints>/<time>/study.json``. ``--publish DIR`` also
writes ``DIR/results.md`` with the equity figures beside it. ``--reuse FOLDER`` reports on
the runs of an earlier study without training again. ``--quick`` runs a tiny version (one
profile, one seed, small budgets) as a smoke test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from cryptofolio.commands.errors import run_command
from cryptofolio.commands.options import command_argv, command_parser
from cryptofolio.envs import PROFILE_NAMES
from cryptofolio.training.optuna_studies import parse_seeds
from cryptofolio.training.results_study import (
    RECORD,
    evaluate_profiles,
    findings,
    publish,
    summary_markdown,
    train_profiles,
)
from cryptofolio.training.run_folder import versions, work_record


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = command_parser(prog, __doc__)
    parser.add_argument(
        "--market", default="../shared/data/binance-daily", help="folder of daily per-asset CSVs"
    )
    parser.add_argument(
        "--profiles", help="comma-separated profiles (default: all three; moderate with --quick)"
    )
    parser.add_argument("--algos", default="ppo,sac", help="comma-separated algorithms (ppo,sac)")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (0,1,2)")
    parser.add_argument("--out", type=Path, default=Path("reports/study"), help="reports (reports/study)")
    parser.add_argument("--checkpoints", type=Path, default=Path("checkpoints/study"), help="run folders")
    parser.add_argument(
        "--reuse", type=Path, metavar="FOLDER", help="report on an earlier study's runs, no training"
    )
    parser.add_argument("--publish", type=Path, help="also write DIR/results.md and its figures (e.g. docs)")
    parser.add_argument(
        "--quick", action="store_true", help="one profile, one seed, tiny budgets: a smoke test"
    )
    parser.add_argument("--no-progress-bar", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    command = command_argv(prog, "cryptofolio.commands.study", argv)
    return run_command(build_parser(prog), lambda args: run(args, command), argv)


def run(args: argparse.Namespace, command: list[str]) -> int:
    default_profiles = ["moderate"] if args.quick else list(PROFILE_NAMES)
    profiles = (
        [p.strip() for p in args.profiles.split(",") if p.strip()] if args.profiles else default_profiles
    )
    seeds = parse_seeds(args.seeds)[: 1 if args.quick else None]
    algos = [a.strip() for a in args.algos.split(",") if a.strip()]
    started = time.perf_counter()
    found = versions()  # the code that runs, before anything can change it
    if args.reuse is not None:
        root = args.reuse
        record = json.loads((root / RECORD).read_text())
        evaluations = evaluate_profiles(args.market, profiles, root, args.out)
    else:
        root = args.checkpoints / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        progress_bar = not args.no_progress_bar
        train_profiles(args.market, profiles, algos, seeds, root, args.quick, progress_bar, command)
        evaluations = evaluate_profiles(args.market, profiles, root, args.out)
        record = work_record(shlex.join(command), time.perf_counter() - started, found)
        (root / RECORD).write_text(json.dumps(record, indent=2))
    reported_by = shlex.join(command) if args.reuse is not None else ""
    (args.out / "summary.md").write_text(summary_markdown(evaluations, record, reported_by=reported_by))
    if args.publish is not None:
        publish(evaluations, record, args.out, args.publish, reported_by)
    for line in findings(evaluations):
        print(f"- {line}")
    print(f"summary: {args.out / 'summary.md'}; reports in {args.out}; runs in {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
