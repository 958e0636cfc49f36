"""`cryptofolio sweep`: the same training over many seeds, shared by workers like `tune`.

    cryptofolio sweep --algo ppo --profile moderate --seeds 0-9 \\
        --hyperparams checkpoints/tune/ppo-moderate/best.yaml     (tune's export)
    cryptofolio sweep ... --storage postgresql://user:password@db-host/optuna --study ppo-seeds
        (the same command on every machine)
    cryptofolio evaluate --runs "checkpoints/sweep/ppo-moderate-seeds/*"

Trial n of the study trains the n-th seed of ``--seeds`` into its own run folder under
``<out>/<study>/``, with the settings every other option gives, and records the best
validation score. Workers on other machines write their run folders on their own disks:
gather them (or share ``--out``) before ``evaluate``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import optuna

from cryptofolio.commands.errors import run_command
from cryptofolio.commands.options import (
    add_study_arguments,
    add_training_arguments,
    command_argv,
    command_parser,
    output_path,
    seed_list,
    train_config,
)
from cryptofolio.envs.outputs import check_output_folder
from cryptofolio.training.optuna_studies import (
    Interrupted,
    open_study,
    parse_seeds,
    record_seeds,
    run_worker,
    storage_url,
    summary,
    train_trial,
)
from cryptofolio.training.train import check_trainable


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = command_parser(prog, __doc__)
    add_training_arguments(parser, "algorithm (required)")
    parser.add_argument("--seeds", type=seed_list, required=True, help="seeds to train, e.g. 0-9 or 0,3,5")
    add_study_arguments(parser, "<algo>-<profile>-seeds")
    parser.add_argument(
        "--out", type=output_path, default=Path("checkpoints/sweep"), help="run folders (checkpoints/sweep)"
    )
    parser.add_argument("--no-progress-bar", action="store_true")
    return parser


def run(args: argparse.Namespace, command: list[str]) -> int:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    seeds = parse_seeds(args.seeds)
    check_output_folder(args.out, "--out")
    config = train_config(args)  # fails now, naming the option, rather than in every trial
    check_trainable(config)  # the market, its splits and assets load, the model builds: before any trial
    name = args.study or f"{config.algo}-{config.profile}-seeds"
    study = open_study(name, storage_url(args.storage), sampler=optuna.samplers.RandomSampler())
    record_seeds(study, seeds)

    def objective(trial: optuna.Trial) -> float:
        seed = seeds[trial.number]
        trial.set_user_attr("seed", seed)
        config = train_config(args, seed=seed)
        return train_trial(
            trial, config, args.out / name, progress_bar=not args.no_progress_bar, command=command
        )

    try:
        ran = run_worker(study, len(seeds), objective)
    except Interrupted as stop:
        print(stop)
        return 128 + stop.signal
    print(f"this worker ran {ran} trial(s); {summary(study)}")
    print(f'run folders: {args.out / name}; compare them: cryptofolio evaluate --runs "{args.out / name}/*"')
    return 0


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    command = command_argv(prog, "cryptofolio.commands.sweep", argv)
    return run_command(build_parser(prog), lambda args: run(args, command), argv)


if __name__ == "__main__":
    sys.exit(main())
