"""`cryptofolio ablation`: which generalization levers help a learned policy out of sample.

    cryptofolio ablation --market ../shared/data/binance-daily --publish docs
        (make ablation: the same, with --workers $(nproc) and --no-progress-bar)

Every variant of ``configs/ablation.yaml`` trains its algorithm for one profile (moderate, or
``--profile``'s, on its own assets), one run per seed, is selected on the validation split like
any run, and is tested once on the test split against the profile's baseline. The variant chosen
is the one with the best mean validation Sharpe ratio (turnover beyond the setup's limit must pay
for itself on validation): the test split is read for the report only. Writes
``reports/ablation/summary.md`` (and ``DIR/ablation.md`` with ``--publish``; ``-<profile>`` in
both names for another profile than moderate); ``--reuse``
reports on the runs of an earlier ablation without training again; ``--resume`` trains what an
earlier ablation lacks (runs it did not finish, variants added since) and reports on all;
``--workers N`` trains N runs at once; ``--quick`` is a smoke test.
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
from typing import Any

from cryptofolio import configs
from cryptofolio.commands.errors import run_command
from cryptofolio.commands.options import (
    MAX_WORKERS,
    SHARED_MARKET,
    add_market_arguments,
    command_argv,
    command_parser,
    market_config,
    output_path,
    whole_number,
)
from cryptofolio.envs import MarketConfig
from cryptofolio.envs.errors import ConfigError, RunFolderError
from cryptofolio.envs.outputs import check_output_folder
from cryptofolio.training.ablation import (
    RECORD,
    evaluate_variants,
    profile_setup,
    summary_markdown,
    train_variants,
)
from cryptofolio.training.budgets import ABLATION_QUICK_SEEDS, ABLATION_QUICK_TIMESTEPS
from cryptofolio.training.run_folder import read_work_record, versions, work_record


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = command_parser(prog, __doc__)
    add_market_arguments(parser, dates=False, splits=False, default_market=SHARED_MARKET)
    parser.add_argument("--variants", help="comma-separated variants of configs/ablation.yaml (default: all)")
    parser.add_argument(
        "--profile", help="the risk profile (default: the setup's, moderate); its own assets and baselines"
    )
    parser.add_argument(
        "--out", type=output_path, default=Path("reports/ablation"), help="reports (reports/ablation)"
    )
    parser.add_argument(
        "--checkpoints",
        type=output_path,
        default=Path("checkpoints/ablation"),
        help="run folders, in a dated folder inside (checkpoints/ablation)",
    )
    earlier = parser.add_mutually_exclusive_group()
    earlier.add_argument("--reuse", type=Path, metavar="FOLDER", help="report on an earlier ablation's runs")
    earlier.add_argument(
        "--resume", type=Path, metavar="FOLDER", help="train what an earlier ablation lacks, then report"
    )
    parser.add_argument(
        "--workers",
        type=whole_number(1, MAX_WORKERS),
        default=1,
        help="runs trained at once, one process each (1)",
    )
    parser.add_argument("--publish", type=output_path, help="also write DIR/ablation.md (e.g. docs)")
    parser.add_argument("--quick", action="store_true", help="two seeds, tiny budgets: a smoke test")
    parser.add_argument("--no-progress-bar", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    command = command_argv(prog, "cryptofolio.commands.ablation", argv)
    return run_command(build_parser(prog), lambda args: run(args, command), argv)


def run(args: argparse.Namespace, command: list[str]) -> int:
    for option, folder in (("--out", args.out), ("--publish", args.publish)):
        if folder is not None:
            check_output_folder(folder, option)  # before anything is trained or written
    document = configs.read("ablation")
    setup, variants = profile_setup(document["setup"], args.profile), document["variants"]
    source = market_config(args, MarketConfig(source=SHARED_MARKET))
    if args.variants:
        names = [v.strip() for v in args.variants.split(",") if v.strip()]
        unknown = [n for n in names if n not in variants]
        if unknown:
            raise ConfigError(
                f"--variants: unknown variant(s) {', '.join(unknown)}; configs/ablation.yaml has "
                f"{', '.join(variants)}"
            )
        variants = {n: variants[n] for n in names}
    started = time.perf_counter()
    found = versions()  # the code that runs, before anything can change it
    if args.reuse is not None:
        root = args.reuse
        record = earlier_record(root, "--reuse")
    else:
        root = args.resume or args.checkpoints / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        earlier = earlier_record(root, "--resume") if args.resume else {}
        train_variants(
            source, setup, variants, root, args.quick, not args.no_progress_bar, command, args.workers
        )
        seeds, steps = (
            (list(ABLATION_QUICK_SEEDS), ABLATION_QUICK_TIMESTEPS)
            if args.quick
            else (setup["seeds"], setup["timesteps"])
        )
        elapsed = time.perf_counter() - started + earlier.get("seconds", 0.0)
        commands = [*earlier.get("commands", [earlier["command"]] if earlier else []), shlex.join(command)]
        record = work_record(
            commands[0],
            elapsed,
            found,
            commands=commands,
            seeds=seeds,
            timesteps=steps,
            workers=args.workers,
            quick=args.quick,
        )
        (root / RECORD).write_text(json.dumps(record, indent=2))
    suffix = "" if setup["profile"] == document["setup"]["profile"] else f"-{setup['profile']}"
    evaluations = evaluate_variants(source, setup, list(variants), root)
    text = summary_markdown(evaluations, variants, setup, root, record)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"summary{suffix}.md").write_text(text)
    if args.publish is not None:
        args.publish.mkdir(parents=True, exist_ok=True)
        (args.publish / f"ablation{suffix}.md").write_text(text)
    print(text.split("## Verdict", 1)[1].strip())
    print(f"summary: {args.out / f'summary{suffix}.md'}; runs in {root}")
    return 0


def earlier_record(root: Path, option: str) -> dict[str, Any]:
    """The record of the earlier ablation in ``root``, or one line naming the option that pointed there."""
    if not (root / RECORD).exists():
        raise RunFolderError(f"{option} {root}: no {RECORD} there (not a folder of an ablation)")
    return read_work_record(root / RECORD)


if __name__ == "__main__":
    sys.exit(main())
