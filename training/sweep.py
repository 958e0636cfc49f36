"""`cryptofolio sweep`: the same training over many seeds, shared by workers like `tune`.

    cryptofolio sweep --algo ppo --profile moderate --seeds 0-9 --hyperparams best.yaml
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

from envs import DataError
from training.studies import (
    Interrupted,
    add_study_arguments,
    open_study,
    parse_seeds,
    run_worker,
    storage_url,
    summary,
    train_trial,
)
from training.train import add_training_arguments, config_from_args


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_training_arguments(parser, "algorithm (required)")
    parser.add_argument("--seeds", required=True, help="seeds to train, e.g. 0-9 or 0,3,5")
    add_study_arguments(parser, "<algo>-<profile>-seeds")
    parser.add_argument(
        "--out", type=Path, default=Path("checkpoints/sweep"), help="run folders (checkpoints/sweep)"
    )
    parser.add_argument("--no-progress-bar", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        seeds = parse_seeds(args.seeds)
        config_from_args(args)  # fails now, naming the option, rather than in every trial
        name = args.study or f"{args.algo}-{args.profile}-seeds"
        study = open_study(name, storage_url(args.storage), sampler=optuna.samplers.RandomSampler())
        recorded = study.user_attrs.get("seeds")
        if recorded is None:
            study.set_user_attr("seeds", seeds)
        elif recorded != seeds:
            raise ValueError(
                f"study {name} sweeps seeds {recorded}; run it with the same --seeds or a new --study"
            )

        def objective(trial: optuna.Trial) -> float:
            seed = seeds[trial.number]
            trial.set_user_attr("seed", seed)
            config = config_from_args(args, seed=seed)
            return train_trial(trial, config, args.out / name, progress_bar=not args.no_progress_bar)

        ran = run_worker(study, len(seeds), objective)
    except Interrupted as stop:
        print(stop)
        return 128 + stop.signal
    except (ValueError, KeyError, FileNotFoundError, DataError) as error:
        parser.error(str(error).strip("'\""))
    print(f"this worker ran {ran} trial(s); {summary(study)}")
    print(f'run folders: {args.out / name}; compare them: cryptofolio evaluate --runs "{args.out / name}/*"')
    return 0


if __name__ == "__main__":
    sys.exit(main())
