"""Train an agent of any learner (:mod:`cryptofolio.agents.learners`) from its config, chosen on validation.

A run writes its folder (layout in :mod:`cryptofolio.agents.sb3`). The model is selected on
the validation split; the test split is never read. SIGINT or SIGTERM saves a resumable
checkpoint before the run stops. A resumed session checks everything it continues from (the
data's fingerprint, the checkpoint's manifest, state, model, replay buffer and normalization)
before it changes anything in the folder: a refused resume leaves the folder as it was.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecMonitor, VecNormalize

from cryptofolio.agents import make_baseline
from cryptofolio.agents.anchors import anchor_of, anchored_env
from cryptofolio.agents.baselines import anchor_rule_spec
from cryptofolio.agents.learners import Model, learner
from cryptofolio.agents.run_identity import describe_data
from cryptofolio.agents.sb3 import load_snapshot_model, read_run_config, snapshot_folder
from cryptofolio.agents.snapshots import (
    NORMALIZATION,
    REPLAY_BUFFER,
    STATE,
    check_manifest,
    load_replay_buffer,
    read_state,
    restore_normalization,
)
from cryptofolio.envs import MarketData, PortfolioEnv, Splits
from cryptofolio.envs.errors import ConfigError, RunFolderError
from cryptofolio.envs.resample import block_bootstrap
from cryptofolio.envs.vector_env import BatchedPortfolioEnv
from cryptofolio.evaluation import metrics
from cryptofolio.evaluation.backtest import run_backtest
from cryptofolio.training.callbacks import (
    CheckpointCallback,
    DrawdownBudgetCallback,
    HParamsCallback,
    PortfolioMetricsCallback,
    RolloutMetricsCallback,
    StopOnSignalCallback,
    ValidationCallback,
    save_checkpoint,
)
from cryptofolio.training.config import TrainConfig
from cryptofolio.training.run_folder import RunFolder, versions


@dataclass(frozen=True)
class Outcome:
    """How a training session ended."""

    run: RunFolder
    model: Model
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
    command: Sequence[str] = (),
) -> Outcome:
    """Train (or, with ``resume``, continue) the run described by ``config`` in ``run``.

    The run folder is locked for the session (:meth:`RunFolder.lock`).

    :param on_evaluation: see :class:`~cryptofolio.training.callbacks.ValidationCallback`; when it stops
        training, the outcome says so (``pruned``).
    :param command: the command line that asked for it, appended to ``command.txt``.
    :raises RunComplete: when resuming a run that has trained all its steps.
    """
    with run.lock():
        return _train(config, run, resume, progress_bar, verbose, on_evaluation, command)


class RunComplete(RunFolderError):
    """``train --resume`` of a run that has trained all its steps."""


def _train(
    config: TrainConfig,
    run: RunFolder,
    resume: bool,
    progress_bar: bool,
    verbose: bool,
    on_evaluation: Callable[[int, float], bool] | None,
    command: Sequence[str],
) -> Outcome:
    market, splits = config.market.load()
    data = describe_data(market, splits)
    checkpoint, done, multiplier = None, 0, config.env.reward.drawdown_penalty
    if resume:  # checks only: nothing in the folder changes until everything resumed from is read
        checkpoint, done, multiplier = _resume_from(config, run, data)
    # One seed feeds everything; a resumed session offsets it so it does not replay the same draws.
    seed = config.seed + done
    set_random_seed(seed)
    torch.set_num_threads(config.torch_threads)
    venv = make_training_env(config, market, splits, seed, checkpoint)
    on_validation = partial(anchored_env, market, split="validation", splits=splits, profile=config.profile)
    validation = on_validation(config=config.env)
    rule_env = on_validation(config=config.env.for_rules())
    rule = make_baseline(anchor_rule_spec(config.env.actions.anchor, config.profile))
    rule_result = run_backtest(rule, rule_env)
    baseline = metrics.summarize(rule_result)

    entry = learner(config.algo)
    if checkpoint:
        model = load_snapshot_model(checkpoint, read_run_config(run.path), env=venv, seed=seed)
        if entry.replay_buffer and (checkpoint / REPLAY_BUFFER).exists():
            load_replay_buffer(model, checkpoint / REPLAY_BUFFER)  # type: ignore[arg-type]
        run.drop_rows_after(done)  # a killed session's rows beyond its last checkpoint
        run.write_config(config)  # a resume may raise n_timesteps
    else:
        model = new_model(config, venv, seed)
        run.update_metadata(versions=versions(), **data, validation_baseline=baseline, status="running")
    if command:
        run.record_command(command, resumed=resume)
    model.set_logger(run.logger(verbose))

    portfolio: PortfolioMetricsCallback | RolloutMetricsCallback = PortfolioMetricsCallback(
        config.env.initial_value, market.periods_per_year, market.symbols
    )
    if entry.trains_on == "portfolio_env":  # no VecEnv infos: the learner hands callbacks its rollouts
        portfolio = RolloutMetricsCallback(market.periods_per_year)
    validate = ValidationCallback(run, validation, baseline, config, on_evaluation, rule_result)
    stop = StopOnSignalCallback()
    budget = _budget_callback(config, validation, portfolio, multiplier)
    callbacks: list[BaseCallback] = [
        portfolio,
        *([budget] if budget else []),
        validate,
        CheckpointCallback(run, config.checkpoint_freq, budget),
        stop,
        HParamsCallback(config),
    ]
    remaining = config.n_timesteps - model.num_timesteps
    if remaining > 0:
        if not resume:
            validate.init_callback(model)  # type: ignore[arg-type]
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
    save_checkpoint(run, model, budget)
    status = "complete" if stop.received is None else f"interrupted by signal {stop.received}"
    run.update_metadata(status=status, timesteps=model.num_timesteps)
    venv.close()
    return Outcome(run, model, model.num_timesteps, validate.best, baseline, stop.received, validate.stopped)


def make_training_env(
    config: TrainConfig, market: MarketData, splits: Splits, seed: int, checkpoint: Path | None = None
) -> VecEnv | PortfolioEnv:
    """The training envs a config describes, on the train split: vectorized, monitored, normalized.

    For a learner that trains on a ``portfolio_env`` (draws its own windows and normalizes its own
    observations), the one PortfolioEnv of the train split its arrays are read from.

    :param checkpoint: a checkpoint folder whose normalization statistics to continue from.
    """
    if config.bootstrap_block:  # drawn from the run's own seed, so a resumed run trains on the same paths
        market, splits = block_bootstrap(
            market,
            splits["train"],
            block=config.bootstrap_block,
            n_bars=config.bootstrap_bars,
            seed=config.seed,
            min_history=config.bootstrap_history,
        )
    options: dict[str, Any] = {
        "split": "train",
        "splits": splits,
        "profile": config.profile,
        "config": config.env,
        "anchor": anchor_of(config.env, config.profile, market),
    }
    if learner(config.algo).trains_on == "portfolio_env":
        return PortfolioEnv(market, **options)
    venv: VecEnv
    if config.vec_env == "batched":
        batched = BatchedPortfolioEnv(config.n_envs, market, infos="done", **options)
        venv = VecMonitor(batched)
        venv.seed(seed)
    else:
        vec_env_cls = SubprocVecEnv if config.vec_env == "subproc" else DummyVecEnv
        venv = make_vec_env(
            partial(PortfolioEnv, market, **options),
            n_envs=config.n_envs,
            seed=seed,
            vec_env_cls=vec_env_cls,
        )
    if not config.normalize:
        return venv
    if checkpoint is not None:
        return restore_normalization(checkpoint / NORMALIZATION, venv)
    return VecNormalize(
        venv, norm_obs=True, norm_reward=False, gamma=float(config.hyperparams.get("gamma", 0.99))
    )


def new_model(config: TrainConfig, venv: VecEnv | PortfolioEnv, seed: int) -> Model:
    """The untrained model a config describes, on ``venv`` (:func:`make_training_env`'s).

    :raises ValueError: naming the algorithm when it refuses a hyperparameter.
    """
    entry = learner(config.algo)
    try:
        return entry.make(config, venv, seed)
    except (AssertionError, TypeError, ValueError, KeyError) as error:
        settings = ", ".join(f"{k}={v!r}" for k, v in config.hyperparams.items())
        raise ConfigError(
            f"{entry.algorithm.__name__} refuses its hyperparameters ({settings}): {error}"
        ) from None


def check_trainable(config: TrainConfig) -> None:
    """Build what training builds (market, envs, model) and drop it: faults show before a run folder exists.

    :raises ValueError: (``DataError`` included) naming the setting at fault.
    """
    market, splits = config.market.load()
    venv = make_training_env(config, market, splits, config.seed)
    try:
        new_model(config, venv, config.seed)
        anchored_env(market, split="validation", splits=splits, profile=config.profile, config=config.env)
    finally:
        venv.close()


def _budget_callback(
    config: TrainConfig,
    validation: PortfolioEnv,
    episodes: PortfolioMetricsCallback | RolloutMetricsCallback,
    multiplier: float,
) -> DrawdownBudgetCallback | None:
    """The drawdown multiplier's callback when ``budget_rate`` is set, from ``multiplier`` (the config's,
    or a resumed checkpoint's)."""
    reward = config.env.reward
    if reward.budget_rate <= 0.0:
        return None
    tolerance = validation.parameters.reward.drawdown_tolerance
    return DrawdownBudgetCallback(multiplier, reward.budget_rate, tolerance, episodes)


def _resume_from(config: TrainConfig, run: RunFolder, data: dict[str, Any]) -> tuple[Path, int, float]:
    """The checkpoint a resumed session continues from, its steps and drawdown multiplier; checked
    (same data, manifest, state), nothing written.

    :raises RunFolderError: naming what differs or is wrong.
    :raises RunComplete: when the checkpoint has trained ``config.n_timesteps`` already.
    """
    recorded = run.metadata().get("market_fingerprint")
    if recorded != data["market_fingerprint"]:
        raise RunFolderError(
            f"{run.path}: the market data changed since the run started (fingerprint {recorded}, now "
            f"{data['market_fingerprint']}); resume with the same data"
        )
    checkpoint = snapshot_folder(run.path, "checkpoint")
    check_manifest(checkpoint, read_run_config(run.path), run.metadata())
    state = read_state(checkpoint)
    done = state["timesteps"]
    if done >= config.n_timesteps:
        raise RunComplete(
            f"run {run.path} is complete: {done:,} steps trained of {config.n_timesteps:,}; "
            "give a larger --timesteps to train on"
        )
    multiplier = state.get("drawdown_penalty", config.env.reward.drawdown_penalty)
    if (
        isinstance(multiplier, bool)
        or not isinstance(multiplier, int | float)
        or not 0 <= multiplier < math.inf
    ):
        raise RunFolderError(
            f"{checkpoint / STATE}: drawdown_penalty must be a number >= 0, got {multiplier!r:.80}"
        )
    return checkpoint, done, float(multiplier)
