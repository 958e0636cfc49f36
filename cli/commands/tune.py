"""`cryptofolio tune`: search hyperparameters with Optuna, scored on the validation split only.

    cryptofolio tune --algo ppo --profile moderate --trials 40 --timesteps 100000
    cryptofolio tune --algo ppo ... --storage postgresql://user:password@db-host/optuna --study ppo-a
        (the same command on every machine: each one adds a worker to the study)

Each trial samples the settings of ``configs/search.yaml`` (or ``--space``), trains a normal
run folder under ``<out>/<study>/`` and scores it by the model selected on validation (its
best validation Sharpe ratio, or the config's selection metric). The test split is never
read. Each periodic validation evaluation is reported to a median pruner, which stops
trials that trail the others at the same step. Trials whose settings diverge fail, are
recorded as failed, and the study goes on. When the study has its trials, the worker writes
the best trial's settings to ``--export`` (default ``<out>/<study>/best.yaml``), a file that
``cryptofolio train --hyperparams`` takes; ``--trials 0`` only exports. ``--trials`` counts the
whole study, every worker's trials. A study records what its trials are scored on (algorithm,
profile, the market's data fingerprint, the splits, the budget, the metric and the space):
running it again on anything else is refused, naming what differs. Each trial prints its score
and the step validation selected; a warning says when the best kept its untrained policy.
"""

from __future__ import annotations

import argparse
import json
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
    train_config,
)
from cryptofolio.envs.errors import ConfigError, UserError
from cryptofolio.envs.outputs import check_output_file, check_output_folder
from cryptofolio.training.optuna_studies import (
    Interrupted,
    open_study,
    record_identity,
    run_worker,
    storage_url,
    summary,
    train_trial,
    untrained_warning,
    work_trials,
)
from cryptofolio.training.train import check_trainable
from cryptofolio.training.tune import export_best, read_space, sample_settings, space_values


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = command_parser(prog, __doc__)
    add_training_arguments(parser, "algorithm (required)")
    parser.add_argument("--trials", type=int, default=20, help="trials the study should hold in all (20)")
    parser.add_argument("--space", type=Path, help="search spaces in the layout of configs/search.yaml")
    add_study_arguments(parser, "<algo>-<profile>")
    parser.add_argument(
        "--sampler-seed", type=int, help="seed of the sampler (default: none, as workers differ)"
    )
    parser.add_argument(
        "--out", type=output_path, default=Path("checkpoints/tune"), help="run folders (checkpoints/tune)"
    )
    parser.add_argument(
        "--export", type=output_path, help="best trial's hyperparameter file (<out>/<study>/best.yaml)"
    )
    parser.add_argument("--no-progress-bar", action="store_true")
    return parser


def run(args: argparse.Namespace, command: list[str]) -> int:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if args.trials < 0:
        raise ConfigError(f"--trials must be 0 or more, got {args.trials}")
    config = train_config(args)  # fails now, naming the option, rather than in every trial
    name = args.study or f"{config.algo}-{config.profile}"
    check_output_folder(args.out, "--out")
    export = check_output_file(args.export or args.out / name / "best.yaml", "--export")  # before the trials
    check_trainable(config)  # the market, its splits and assets load, the model builds: before any trial
    space = read_space(config.algo, args.space)
    source = args.space or "configs/search.yaml"
    for key, values in space_values(space).items():  # every edge of the space must make a valid run
        for value in values:
            try:
                train_config(args, overrides=[f"{key}={json.dumps(value)}"])
            except UserError as error:
                raise ConfigError(
                    f"{source}: {config.algo}.{key}={value!r} cannot be trained: {error}"
                ) from None
    study = open_study(
        name,
        storage_url(args.storage),
        sampler=optuna.samplers.TPESampler(seed=args.sampler_seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
    )

    market, splits = config.market.load()
    identity = {  # what the trials are scored on: the same for every trial of the study (JSON, as stored)
        "algo": config.algo,
        "profile": config.profile,
        "market": market.fingerprint(),
        "splits": json.loads(json.dumps(splits.dates(market))),
        "n_timesteps": config.n_timesteps,
        "selection_metric": config.selection_metric,
        "space": json.loads(json.dumps(space)),
    }
    record_identity(study, identity)
    held = len(work_trials(study))
    print(
        f"study {name} holds {held} trial(s); trials run until it holds {args.trials} "
        "(--trials counts the whole study, every worker's)"
    )

    def objective(trial: optuna.Trial) -> float:
        sampled = train_config(args, overrides=sample_settings(trial, space))
        progress_bar = not args.no_progress_bar
        return train_trial(
            trial, sampled, args.out / name, prune=True, progress_bar=progress_bar, command=command
        )

    try:
        ran = run_worker(study, args.trials, objective)
    except Interrupted as stop:
        print(stop)
        return 128 + stop.signal
    print(f"this worker ran {ran} trial(s); {summary(study)}")
    if (warning := untrained_warning(study)) is not None:
        print(warning)
    exported = export_best(study, export)
    print(f"best settings: {exported} (cryptofolio train --algo {config.algo} --hyperparams {exported})")
    return 0


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    command = command_argv(prog, "cryptofolio.commands.tune", argv)
    return run_command(build_parser(prog), lambda args: run(args, command), argv)


if __name__ == "__main__":
    sys.exit(main())
