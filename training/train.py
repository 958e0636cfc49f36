"""`cryptofolio train`: train a stable-baselines3 agent from its config; select it on validation.

    cryptofolio train --algo ppo --profile moderate --market synthetic --timesteps 200000 --seed 0
    cryptofolio train --resume checkpoints/ppo-moderate-synthetic-s0-20261126-101500
    tensorboard --logdir checkpoints

Each run writes checkpoints/<algo>-<profile>-<market>-s<seed>-<time>/ (layout in agents/sb3.py).
The model is selected on the validation split; the test split is never read. Ctrl-C or
SIGTERM saves a resumable checkpoint before exiting.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecMonitor, VecNormalize

from agents import make_baseline
from agents.sb3 import ALGOS, MODEL, NORMALIZATION, REPLAY_BUFFER, STATE, snapshot_folder
from envs import PROFILE_NAMES, DataError, MarketData, PortfolioEnv, Splits
from envs.market_args import add_market_arguments, market_from_spec, spec_from_args, spec_of
from envs.portfolio_env import rule_options
from envs.resample import block_bootstrap
from envs.vector_env import BatchedPortfolioEnv
from evaluation import metrics
from evaluation.backtest import run_backtest
from training.callbacks import (
    CheckpointCallback,
    HParamsCallback,
    PortfolioMetricsCallback,
    StopOnSignalCallback,
    ValidationCallback,
    save_checkpoint,
)
from training.config import VEC_ENVS, TrainConfig, algo_kwargs, resolve_config
from training.run_folder import RunFolder, versions


@dataclass(frozen=True)
class Outcome:
    """How a training session ended."""

    run: RunFolder
    model: BaseAlgorithm
    """The model at the end of the session (the final one unless interrupted)."""
    timesteps: int
    """Environment steps trained in total (over every session of the run)."""
    best: float
    """Best validation score of the selection metric so far."""
    baseline: dict[str, float]
    """The profile baseline's metrics on the validation split."""
    stopped_by: int | None
    """The signal that interrupted the session, or None if it finished."""
    pruned: bool = False
    """Whether ``on_evaluation`` stopped training early."""


def train(
    config: TrainConfig,
    run: RunFolder,
    *,
    resume: bool = False,
    progress_bar: bool = False,
    verbose: bool = False,
    on_evaluation: Callable[[int, float], bool] | None = None,
) -> Outcome:
    """Train (or, with ``resume``, continue) the run described by ``config`` in ``run``.

    :param on_evaluation: see :class:`~training.callbacks.ValidationCallback`; when it stops
        training, the outcome says so (``pruned``).
    """
    market, splits = market_from_spec(**spec_of(config.to_dict()), splits=config.splits)
    data = run.describe_data(market, splits)
    recorded = run.metadata().get("market_fingerprint")
    if resume and recorded != data["market_fingerprint"]:
        raise ValueError(
            f"{run.path}: the market data changed since the run started (fingerprint {recorded}, now "
            f"{data['market_fingerprint']}); resume with the same data"
        )
    checkpoint = snapshot_folder(run.path, "checkpoint") if resume else None

    # One seed feeds everything; a resumed session offsets it so it does not replay the same draws.
    seed = config.seed + (_checkpoint_timesteps(checkpoint) if checkpoint else 0)
    set_random_seed(seed)
    torch.set_num_threads(config.torch_threads)
    venv = make_training_env(config, market, splits, seed, checkpoint)
    env_options = {"splits": splits, "profile": config.profile, **config.env}
    validation = PortfolioEnv(market, split="validation", **env_options)
    rule_env = PortfolioEnv(market, split="validation", **rule_options(env_options))
    baseline = metrics.summarize(run_backtest(make_baseline(config.profile), rule_env))

    algo = ALGOS[config.algo]
    if checkpoint:
        model = algo.load(checkpoint / MODEL, env=venv, device="cpu")
        if isinstance(model, OffPolicyAlgorithm) and (checkpoint / REPLAY_BUFFER).exists():
            model.load_replay_buffer(checkpoint / REPLAY_BUFFER)
    else:
        model = algo(
            config.policy, venv, seed=seed, device="cpu", **algo_kwargs(config, n_actions=len(market.symbols))
        )
        run.update_metadata(versions=versions(), **data, validation_baseline=baseline, status="running")
    model.set_logger(run.logger(verbose))

    portfolio = PortfolioMetricsCallback(validation.initial_value, market.periods_per_year)
    validate = ValidationCallback(run, validation, baseline, config, on_evaluation)
    stop = StopOnSignalCallback()
    callbacks = [
        portfolio,
        validate,
        CheckpointCallback(run, config.checkpoint_freq),
        stop,
        HParamsCallback(config),
    ]
    remaining = config.n_timesteps - model.num_timesteps
    if remaining > 0:
        if not resume:
            validate.init_callback(model)
            validate.evaluate()  # the untrained policy is a candidate too
        model.learn(
            remaining,
            callback=CallbackList(callbacks),
            reset_num_timesteps=not resume,
            progress_bar=progress_bar,
        )
    if stop.received is None:
        validate.evaluate()
        run.save_snapshot("final", model, model.get_vec_normalize_env(), {"timesteps": model.num_timesteps})
    save_checkpoint(run, model)
    status = "complete" if stop.received is None else f"interrupted by signal {stop.received}"
    run.update_metadata(status=status, timesteps=model.num_timesteps)
    venv.close()
    return Outcome(run, model, model.num_timesteps, validate.best, baseline, stop.received, validate.stopped)


def make_training_env(
    config: TrainConfig, market: MarketData, splits: Splits, seed: int, checkpoint: Path | None = None
) -> VecEnv:
    """The training envs a config describes, on the train split: vectorized, monitored, normalized.

    :param checkpoint: a checkpoint folder whose normalization statistics to continue from.
    """
    if config.bootstrap_block:  # drawn from the run's own seed, so a resumed run trains on the same paths
        market, splits = block_bootstrap(
            market,
            splits["train"],
            block=config.bootstrap_block,
            n_bars=config.bootstrap_bars,
            seed=config.seed,
        )
    env_options = {"splits": splits, "profile": config.profile, **config.env}
    venv: VecEnv
    if config.vec_env == "batched":
        batched = BatchedPortfolioEnv(config.n_envs, market, split="train", infos="done", **env_options)
        venv = VecMonitor(batched)
        venv.seed(seed)
    else:
        vec_env_cls = SubprocVecEnv if config.vec_env == "subproc" else DummyVecEnv
        venv = make_vec_env(
            partial(PortfolioEnv, market, split="train", **env_options),
            n_envs=config.n_envs,
            seed=seed,
            vec_env_cls=vec_env_cls,
        )
    if not config.normalize:
        return venv
    if checkpoint is not None:
        normalized = VecNormalize.load(str(checkpoint / NORMALIZATION), venv)
        normalized.training = True
        return normalized
    return VecNormalize(
        venv, norm_obs=True, norm_reward=False, gamma=float(config.hyperparams.get("gamma", 0.99))
    )


def _checkpoint_timesteps(checkpoint: Path) -> int:
    return int(json.loads((checkpoint / STATE).read_text())["timesteps"])


def add_training_arguments(parser: argparse.ArgumentParser, algo_help: str = "algorithm") -> None:
    """The options that describe a run (algorithm, profile, market, splits, budget, settings)."""
    parser.add_argument("--algo", choices=sorted(ALGOS), help=algo_help)
    parser.add_argument(
        "--profile", choices=PROFILE_NAMES, default="moderate", help="risk profile (moderate)"
    )
    add_market_arguments(parser)
    parser.add_argument(
        "--timesteps", type=int, help="environment steps to train (default: the YAML's n_timesteps)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of everything random in the run (0)")
    parser.add_argument("--n-envs", type=int, help="parallel training envs (default: the YAML's)")
    parser.add_argument("--vec-env", choices=VEC_ENVS, help="vectorized env (default batched)")
    parser.add_argument("--hyperparams", type=Path, help="YAML in the layout of configs/<algo>.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a setting")


def config_from_args(args: argparse.Namespace, overrides: Sequence[str] = (), **explicit: Any) -> TrainConfig:
    """The config :func:`add_training_arguments`' options describe, plus ``overrides`` and ``explicit``."""
    if args.algo is None:
        raise ValueError("--algo is required")
    given = {"train": args.train, "validation": args.val, "test": args.test}
    if any(given.values()) and not all(given.values()):
        raise ValueError("give all three of --train, --val and --test, or none")
    values = {
        "n_timesteps": args.timesteps,
        "seed": args.seed,
        "n_envs": args.n_envs,
        "vec_env": args.vec_env,
    }
    return resolve_config(
        args.algo,
        args.profile,
        hyperparams_file=args.hyperparams,
        overrides=[*args.set, *overrides],
        **spec_from_args(args),
        splits=given if all(given.values()) else None,
        **{**values, **explicit},
    )


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_training_arguments(parser, "algorithm (required unless --resume)")
    parser.add_argument(
        "--out", type=Path, default=Path("checkpoints"), help="parent of run folders (checkpoints)"
    )
    parser.add_argument(
        "--resume", type=Path, metavar="RUN_FOLDER", help="continue this run (--timesteps may raise it)"
    )
    parser.add_argument("--no-progress-bar", action="store_true", help="do not show the progress bar")
    parser.add_argument("--verbose", action="store_true", help="print SB3's log tables")
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    invoked = shlex.split(prog) if prog else [sys.executable, "-m", "training.train"]
    command = [*invoked, *(sys.argv[1:] if argv is None else argv)]
    try:
        if args.resume is not None:
            run = RunFolder(args.resume)
            changed = [
                f"--{k.replace('_', '-')}"
                for k in _NEW_RUN_OPTIONS
                if getattr(args, k) != parser.get_default(k)
            ]
            if changed:
                raise ValueError(f"--resume continues a run with its own config; drop {', '.join(changed)}")
            config = run.read_config()
            if args.timesteps is not None:
                config = TrainConfig.from_dict({**config.to_dict(), "n_timesteps": args.timesteps})
                run.write_config(config)
        else:
            if args.algo is None:
                raise ValueError("--algo is required (or --resume RUN_FOLDER)")
            config = config_from_args(args)
            run = RunFolder.create(args.out, config)
        run.record_command(command, resumed=args.resume is not None)
        print(f"run folder: {run.path}  (watch: tensorboard --logdir {run.path.parent})")
        outcome = train(config, run, resume=args.resume is not None, progress_bar=not args.no_progress_bar,
                        verbose=args.verbose)  # fmt: skip
    except (ValueError, KeyError, FileNotFoundError, DataError) as error:
        parser.error(str(error).strip("'\""))
    metric = config.selection_metric
    print(f"trained {outcome.timesteps:,} steps; best validation {metric} {outcome.best:.3f} "
          f"(the {config.profile} baseline: {outcome.baseline[metric]:.3f})")  # fmt: skip
    if outcome.stopped_by is not None:
        print(f"interrupted; resume with: cryptofolio train --resume {run.path}")
        return 128 + outcome.stopped_by
    print(f"best model: {run.path / 'best'}; final model: {run.path / 'final'}")
    return 0


_NEW_RUN_OPTIONS = (
    *(
        "algo",
        "profile",
        "market",
        "market_seed",
        "assets",
        "ffill_limit",
        "cash",
        "cash_prices",
        "start",
        "end",
    ),
    *("train", "val", "test", "seed", "n_envs", "vec_env", "hyperparams", "set"),
)


if __name__ == "__main__":
    sys.exit(main())
