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
``cryptofolio train --hyperparams`` takes; ``--trials 0`` only exports.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
import yaml

import configs
from envs import DataError
from envs.market_args import SPEC_FIELDS
from training.config import TrainConfig
from training.run_folder import RunFolder, write_text
from training.studies import (
    Interrupted,
    add_study_arguments,
    open_study,
    run_worker,
    storage_url,
    summary,
    train_trial,
)
from training.train import add_training_arguments, config_from_args


def read_space(algo: str, path: Path | None = None) -> dict[str, dict[str, Any]]:
    """The search space of ``algo``: from ``path`` (the layout of configs/search.yaml) or the project's."""
    if path is None:
        document = configs.read("search")
        source = "configs/search.yaml"
    else:
        source = str(path)
        with path.open() as f:
            document = yaml.safe_load(f) or {}
    if algo not in document:
        raise ValueError(f"{source}: no search space for {algo}")
    space: dict[str, dict[str, Any]] = document[algo]
    for key, spec in space.items():
        if not isinstance(spec, dict) or not ("choices" in spec or {"low", "high"} <= set(spec)):
            raise ValueError(f"{source}: {algo}.{key} needs choices, or low and high")
    return space


def sample_settings(trial: optuna.Trial, space: dict[str, dict[str, Any]]) -> list[str]:
    """``key=value`` overrides drawn for ``trial`` from ``space``."""
    overrides = []
    for key, spec in space.items():
        value: Any
        if "choices" in spec:
            choices = spec["choices"]
            if isinstance(choices, dict):
                value = choices[trial.suggest_categorical(key, list(choices))]
            else:
                value = trial.suggest_categorical(key, choices)
        elif isinstance(spec["low"], int) and isinstance(spec["high"], int):
            value = trial.suggest_int(key, spec["low"], spec["high"], log=spec.get("log", False))
        else:
            value = trial.suggest_float(
                key, float(spec["low"]), float(spec["high"]), log=spec.get("log", False)
            )
        overrides.append(f"{key}={json.dumps(value)}")
    return overrides


def hyperparameter_file(config: TrainConfig) -> dict[str, Any]:
    """A run's settings in the layout of configs/<algo>.yaml: one ``default`` entry, data left out."""
    data = config.to_dict()
    left_out = (*SPEC_FIELDS, "splits", "seed", "algo", "profile", "hyperparams")
    settings = {k: v for k, v in data.items() if k not in left_out}
    return {"default": {**settings, **data["hyperparams"]}}


def export_best(study: optuna.Study, path: Path) -> Path:
    """Write the best complete trial's config as a hyperparameter file; return its path."""
    try:
        best = study.best_trial  # complete trials only: surplus ones are pruned
    except ValueError:
        raise ValueError(f"study {study.study_name} has no complete trial to export yet") from None
    config = RunFolder(best.user_attrs["run"]).read_config()
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f"# Best trial {best.number} of study {study.study_name}: validation "
        f"{config.selection_metric} {best.value:.4f}.\n# Use: cryptofolio train --hyperparams {path}\n"
    )
    write_text(
        path, header + yaml.safe_dump(hyperparameter_file(config), sort_keys=False)
    )  # workers may race
    return path


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_training_arguments(parser, "algorithm (required)")
    parser.add_argument("--trials", type=int, default=20, help="trials the study should hold in all (20)")
    parser.add_argument("--space", type=Path, help="search spaces in the layout of configs/search.yaml")
    add_study_arguments(parser, "<algo>-<profile>")
    parser.add_argument(
        "--sampler-seed", type=int, help="seed of the sampler (default: none, as workers differ)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("checkpoints/tune"), help="run folders (checkpoints/tune)"
    )
    parser.add_argument(
        "--export", type=Path, help="best trial's hyperparameter file (<out>/<study>/best.yaml)"
    )
    parser.add_argument("--no-progress-bar", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        if args.algo is None:
            raise ValueError("--algo is required")
        if args.trials < 0:
            raise ValueError(f"--trials must be 0 or more, got {args.trials}")
        space = read_space(args.algo, args.space)
        config_from_args(args)  # fails now, naming the option, rather than in every trial
        name = args.study or f"{args.algo}-{args.profile}"
        study = open_study(
            name,
            storage_url(args.storage),
            sampler=optuna.samplers.TPESampler(seed=args.sampler_seed),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
        )

        def objective(trial: optuna.Trial) -> float:
            config = config_from_args(args, overrides=sample_settings(trial, space))
            return train_trial(
                trial, config, args.out / name, prune=True, progress_bar=not args.no_progress_bar
            )

        ran = run_worker(study, args.trials, objective)
        print(f"this worker ran {ran} trial(s); {summary(study)}")
        exported = export_best(study, args.export or args.out / name / "best.yaml")
    except Interrupted as stop:
        print(stop)
        return 128 + stop.signal
    except (ValueError, KeyError, FileNotFoundError, DataError) as error:
        parser.error(str(error).strip("'\""))
    print(f"best settings: {exported} (cryptofolio train --algo {args.algo} --hyperparams {exported})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
