"""`cryptofolio train`: train an agent of any learner from its config; select it on validation.

    cryptofolio train --algo ppo --profile moderate --market synthetic --timesteps 200000 --seed 0
    cryptofolio train --resume checkpoints/ppo-moderate-synthetic-s0-20261126-101500
    tensorboard --logdir checkpoints

Each run writes checkpoints/<algo>-<profile>-<market>-s<seed>-<time>/ (layout in
cryptofolio.agents.sb3). The model is selected on the validation split; the test split is
never read. Ctrl-C or SIGTERM saves a resumable checkpoint before exiting.

--algo takes a registered learner (cryptofolio.agents.learners): the project's, and those an
installed package publishes in the entry-point group cryptofolio.learners.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

from cryptofolio.agents.baselines import anchor_rule_spec
from cryptofolio.commands.errors import run_command
from cryptofolio.commands.options import (
    add_training_arguments,
    command_argv,
    command_parser,
    output_path,
    train_config,
)
from cryptofolio.envs.errors import ConfigError
from cryptofolio.training.run_folder import RunFolder
from cryptofolio.training.train import RunComplete, check_trainable, train

NEW_RUN_OPTIONS = tuple(add_training_arguments(argparse.ArgumentParser()))
"""``dest`` names of the options that describe a new run (``--resume`` refuses them but ``--timesteps``)."""


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = command_parser(prog, __doc__)
    add_training_arguments(parser, "algorithm (required unless --resume)")
    parser.add_argument(
        "--out", type=output_path, default=Path("checkpoints"), help="parent of run folders (checkpoints)"
    )
    parser.add_argument(
        "--resume", type=Path, metavar="RUN_FOLDER", help="continue this run (--timesteps may raise it)"
    )
    parser.add_argument("--no-progress-bar", action="store_true", help="do not show the progress bar")
    parser.add_argument("--verbose", action="store_true", help="print SB3's log tables")
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    command = command_argv(prog, "cryptofolio.commands.train", argv)
    return run_command(build_parser(prog), lambda args: run(args, command), argv)


def run(args: argparse.Namespace, command: list[str]) -> int:
    if args.resume is not None:
        run_folder = RunFolder(args.resume)
        given = [k for k in NEW_RUN_OPTIONS if k != "timesteps" and getattr(args, k) is not None]
        changed = [f"--{k.replace('_', '-')}" for k in given]
        if changed:
            raise ConfigError(f"--resume continues a run with its own config; drop {', '.join(changed)}")
        config = run_folder.read_config()
        if args.timesteps is not None:
            config = dataclasses.replace(config, n_timesteps=args.timesteps)
    else:
        if args.algo is None:
            raise ConfigError("--algo is required (or --resume RUN_FOLDER)")
        config = train_config(args)
        check_trainable(config)  # every fault of the settings shows before the run folder exists
        run_folder = RunFolder.create(args.out, config)
    print(f"run folder: {run_folder.path}  (watch: tensorboard --logdir {run_folder.path.parent})")
    try:
        outcome = train(
            config,
            run_folder,
            resume=args.resume is not None,
            progress_bar=not args.no_progress_bar,
            verbose=args.verbose,
            command=command,
        )
    except RunComplete as complete:
        print(complete)
        return 0
    metric = config.selection_metric
    print(f"trained {outcome.timesteps:,} steps; best validation {metric} {outcome.best:.3f} "
          f"(the {anchor_rule_spec(config.env.actions.anchor, config.profile)} rule: "
          f"{outcome.baseline[metric]:.3f})")  # fmt: skip
    if outcome.timesteps > config.n_timesteps:
        print(
            f"{outcome.timesteps - config.n_timesteps:,} steps more than the {config.n_timesteps:,} asked "
            f"for: {config.algo} trains in whole rollouts or training rounds"
        )
    if outcome.stopped_by is not None:
        print(f"interrupted; resume with: cryptofolio train --resume {run_folder.path}")
        return 128 + outcome.stopped_by
    print(f"best model: {run_folder.path / 'best'}; final model: {run_folder.path / 'final'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
