"""`cryptofolio study`: the results study, walk-forward over three years of test half-years.

    cryptofolio study --market ../shared/data/binance-daily --publish docs      (= make study)
    cryptofolio study --storage postgresql://user:pw@host/db --workers 2        (on each machine)

For each profile (its own assets) and each fold (test half-years tiling ``--test-span``, each
selected on the half-year before and trained on everything before that), every learner of
``--algos`` trains each seed of ``--seeds``: one work unit each. The units are queued in an
Optuna study in ``--storage`` (an SQLite file by default; PostgreSQL for many machines sharing a
file system), which hands each unit to one worker; ``--workers N`` starts N worker processes
here (default: one per core). Run folders land under ``--root`` (``checkpoints/study/<study>``).
A killed study started again skips finished units and resumes the unfinished ones. When every
unit is done, the report step evaluates each fold's test window (agents, their ensembles, every
rule), chains the windows, and writes ``<out>/results.md`` (``--publish DIR``: also
``DIR/results.md``); ``--report-only`` runs just that step. Budgets are the configs' except
PPO's, SAC's and ppo_budget's (``Budgets.study`` in agents/learners.py says why); ``--timesteps``
sets them.
``--quick`` is a smoke test: one profile, PPO (unless --algos names others), two seeds, two folds,
tiny budgets.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import optuna

from cryptofolio.agents.learners import names
from cryptofolio.commands.errors import run_command
from cryptofolio.commands.options import (
    MAX_WORKERS,
    SHARED_MARKET,
    add_market_arguments,
    command_argv,
    command_parser,
    distinct_names,
    learner_budgets,
    market_config,
    output_path,
    plain_name,
    seed_list,
    whole_number,
)
from cryptofolio.envs import PROFILE_NAMES, MarketConfig
from cryptofolio.envs.errors import ConfigError, RunFolderError
from cryptofolio.envs.outputs import check_output_folder
from cryptofolio.training.budgets import study_budgets
from cryptofolio.training.engine import run_workers, unit_states
from cryptofolio.training.optuna_studies import parse_seeds, storage_url
from cryptofolio.training.run_folder import read_work_record, versions, work_record
from cryptofolio.training.study import TEST_SPAN, StudyPlan, describe, open_units, study_name
from cryptofolio.training.study_report import evaluate_folds, write_results

RECORD = "study.json"
QUICK_SPAN = ("2023-07-01", "2024-06-30")


STUDY_ALGOS = "ppo,sac,direct,ppo_budget,direct_budget,hedge,eiie"
"""The study's learners: each plain one on the profile rule, PPO and the gradient agent on the budget
rule, and the gradient agent on the Hedge allocator; with five seeds each, the 540 units trained in
97.5 minutes on two cores (docs/results.md)."""


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = command_parser(prog, __doc__)
    add_market_arguments(parser, dates=False, splits=False, default_market=SHARED_MARKET)
    parser.add_argument(
        "--test-span",
        default=":".join(TEST_SPAN),
        metavar="START:END",
        help=f"first and last test day, whole half-years ({':'.join(TEST_SPAN)})",
    )
    parser.add_argument(
        "--profiles", type=distinct_names, help="comma-separated profiles (default: all three)"
    )
    parser.add_argument(
        "--algos",
        type=distinct_names,
        help=f"comma-separated learners (default {STUDY_ALGOS}; with --quick, ppo)",
    )
    parser.add_argument("--seeds", type=seed_list, default="0-4", help="seeds, e.g. 0-2 or 0,3,5 (0-4)")
    parser.add_argument(
        "--timesteps",
        type=learner_budgets,
        metavar="ALGO=N,...",
        help="budgets per learner, e.g. ppo=200000,sac=50000 (default: "
        + ",".join(f"{a}={n}" for a, n in study_budgets().items())
        + "; other learners: their configs')",
    )
    parser.add_argument(
        "--storage", help="Optuna storage URL the workers share (default: checkpoints/optuna.db)"
    )
    parser.add_argument(
        "--study",
        type=plain_name,
        help="the study's name in the storage, also its folder's (default: from the plan)",
    )
    parser.add_argument(
        "--workers",
        type=whole_number(0, MAX_WORKERS),
        help="worker processes here (default: one per core; 0: report only)",
    )
    parser.add_argument("--root", type=output_path, help="run folders (default: checkpoints/study/<study>)")
    parser.add_argument(
        "--out", type=output_path, default=Path("reports/study"), help="the report (reports/study)"
    )
    parser.add_argument(
        "--publish", type=output_path, help="also write DIR/results.md and its figures (e.g. docs)"
    )
    parser.add_argument("--report-only", action="store_true", help="train nothing: report on what is done")
    parser.add_argument("--quick", action="store_true", help="a smoke test: tiny budgets, two folds")
    parser.add_argument("--no-progress-bar", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    command = command_argv(prog, "cryptofolio.commands.study", argv)
    return run_command(build_parser(prog), lambda args: run(args, command), argv)


def make_plan(args: argparse.Namespace) -> StudyPlan:
    """The study's plan from the command line (the market is opened to learn its assets and first day)."""
    span = QUICK_SPAN if args.quick and args.test_span == ":".join(TEST_SPAN) else _span(args.test_span)
    profiles = _names(args.profiles, "--profiles", PROFILE_NAMES) if args.profiles else list(PROFILE_NAMES)
    default = "ppo" if args.quick else STUDY_ALGOS
    algos = _names(args.algos or default, "--algos", names())
    seeds = parse_seeds(args.seeds)
    if args.quick:
        profiles, seeds = profiles if args.profiles else ["moderate"], seeds[:2]
    budgets = {**study_budgets(), **_budgets(args.timesteps)}
    source = market_config(args, MarketConfig(source=SHARED_MARKET))
    return StudyPlan.on_market(source, profiles, algos, seeds, span, budgets, args.quick)


def _budgets(text: str | None) -> dict[str, int]:
    """``ppo=200000,sac=50000`` as {learner: timesteps}."""
    budgets: dict[str, int] = {}
    for part in filter(None, (text or "").replace(" ", "").split(",")):
        algo, _, steps = part.partition("=")
        if algo not in names() or not steps.isdigit() or int(steps) < 1 or algo in budgets:
            raise ConfigError(
                f"--timesteps {text!r}: expected learner=steps pairs such as ppo=200000,sac=50000, each "
                f"learner once, among {', '.join(names())}"
            )
        budgets[algo] = int(steps)
    return budgets


def _span(text: str) -> tuple[str, str]:
    parts = text.split(":")
    if len(parts) != 2 or not all(parts):
        raise ConfigError(f"--test-span {text!r}: give START:END, e.g. {':'.join(TEST_SPAN)}")
    return parts[0], parts[1]


def _names(text: str, option: str, known: Sequence[str]) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names or any(n not in known for n in names):
        raise ConfigError(f"{option} {text!r}: expected names among {', '.join(known)}")
    return names


def run(args: argparse.Namespace, command: list[str]) -> int:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for option, folder in (("--out", args.out), ("--publish", args.publish)):
        if folder is not None:
            check_output_folder(folder, option)  # before anything is read, trained or written
    plan = make_plan(args)
    plan.check()  # every unit's market and splits, before a worker starts
    name = args.study or study_name(plan)
    url = storage_url(args.storage)
    root = args.root or Path("checkpoints") / "study" / name
    check_output_folder(root, "--root")
    root.mkdir(parents=True, exist_ok=True)
    record_path = root / RECORD
    record = read_work_record(record_path) if record_path.exists() else {}
    study = open_units(name, url, plan)
    workers = 0 if args.report_only else (os.cpu_count() or 1) if args.workers is None else args.workers
    if workers:
        found = versions()  # the code that runs, before anything can change it
        started = time.perf_counter()
        run_workers(name, url, plan.units, root, workers, command, not args.no_progress_bar)
        commands = [*record.get("commands", []), shlex.join(command)]
        seconds = record.get("seconds", 0.0) + time.perf_counter() - started
        record = work_record(
            commands[0], seconds, found, commands=commands, workers=workers, plan=describe(plan)
        )
        record_path.write_text(json.dumps(record, indent=2))
    states = unit_states(study)
    if states["complete"] < len(plan.units):
        print(
            f"study {name}: {states['complete']} of {len(plan.units)} units complete, {states['running']} "
            f"running elsewhere, {states['failed']} failed; report when all are done: cryptofolio study "
            f"--report-only --study {name}" + (f" --storage {args.storage}" if args.storage else "")
        )
        return 0
    if not record:
        raise RunFolderError(
            f"{record_path}: no record of the study's training here; run it without --report-only"
        )
    path = write_results(plan, evaluate_folds(plan, root), record, args.out)
    if args.publish is not None:
        args.publish.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, args.publish / "results.md")
        shutil.copytree(args.out / "results", args.publish / "results", dirs_exist_ok=True)
    print(f"results: {path}; runs in {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
