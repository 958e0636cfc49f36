"""Trained agents of any learner (:mod:`cryptofolio.agents.learners`) as policies, loaded from a run folder.

A run folder (written by ``cryptofolio train``) holds::

    config.yaml     the resolved training config       metadata.json  versions, data, splits
    command.txt     the command(s) that made it         progress.csv   SB3's training log
    evaluations.csv validation metrics over time        events.*       TensorBoard
    best/           the best model on validation (files: :mod:`cryptofolio.agents.snapshots`,
                    and the learner's own, :mod:`cryptofolio.agents.learners`)
    final/          the model at the end of training
    checkpoint/     the latest resumable state (+ the replay buffer for off-policy algorithms)

Each snapshot folder is replaced whole: a crash leaves either the previous complete folder
or, for a moment, ``<name>.old`` (complete too), which readers fall back to. Loading one runs
no code from it, and checks it against its manifest.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

import gymnasium as gym
import numpy as np
import yaml
from stable_baselines3.common.vec_env import VecEnv

from cryptofolio import configs
from cryptofolio.agents.anchors import anchored_env
from cryptofolio.agents.learners import Model, learner
from cryptofolio.agents.run_identity import check_metadata
from cryptofolio.agents.snapshots import (
    NORMALIZATION,
    SNAPSHOTS,
    check_manifest,
    frozen_normalizer,
    read_json,
)
from cryptofolio.envs import (
    Costs,
    EnvConfig,
    MarketConfig,
    MarketData,
    PortfolioEnv,
    Splits,
    split_by_dates,
    split_by_fractions,
)
from cryptofolio.envs.config import from_data
from cryptofolio.envs.errors import RunFolderError, UserError

CONFIG, METADATA, COMMAND = "config.yaml", "metadata.json", "command.txt"
Section = TypeVar("Section")


class Normalizer(Protocol):
    """Anything that normalizes observations without updating its statistics (VecNormalize does)."""

    def normalize_obs(self, observation: np.ndarray) -> Any: ...


class TrainedPolicy:
    """A trained model of any learner answering ``predict`` on raw observations.

    :param model: the trained model.
    :param normalizer: the run's observation normalization, whose statistics are only read, or None.
    :param name: the policy's name in backtests and reports.
    """

    def __init__(self, model: Model, normalizer: Normalizer | None = None, name: str = "agent") -> None:
        self.model = model
        self.normalizer = normalizer
        self.name = name

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, Any]:
        inputs: Any = observation
        if self.normalizer is not None:  # reads the statistics, never updates them
            inputs = self.normalizer.normalize_obs(observation)
        action, state = self.model.predict(
            inputs, state=state, episode_start=episode_start, deterministic=deterministic
        )
        return action, state

    def check_spaces(
        self, observation_space: gym.Space, action_space: gym.Space, described_as: str = "this run"
    ) -> None:
        """Raise ``ValueError`` naming the difference if the given spaces are not the model's."""
        for kind, mine, theirs in (
            ("observation", self.model.observation_space, observation_space),
            ("action", self.model.action_space, action_space),
        ):
            same = (
                isinstance(theirs, gym.spaces.Box)
                and isinstance(mine, gym.spaces.Box)
                and mine.shape == theirs.shape
                and np.array_equal(mine.low, theirs.low)
                and np.array_equal(mine.high, theirs.high)
            )
            if not same:
                raise RunFolderError(
                    f"{described_as} was trained with {kind}s of shape {mine.shape}, but the env's are "
                    f"{theirs.shape}{'' if mine.shape != theirs.shape else ' with other bounds'}: "
                    "check the assets, the window and the env options against the run's config.yaml"
                )


def read_run_config(run_folder: str | Path) -> dict[str, Any]:
    """The run's resolved config, as plain data."""
    path = Path(run_folder) / CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"{run_folder}: not a run folder (no {CONFIG})")
    try:
        with path.open(encoding="utf-8") as f:
            config: dict[str, Any] = configs.load(f)
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise RunFolderError(
            f"{path}: not a run's config{where} ({getattr(error, 'problem', None) or error})"
        ) from None
    if not isinstance(config, dict):
        raise RunFolderError(f"{path}: not a run's config (expected a mapping)")
    if not isinstance(config.get("market", {}), dict):  # flat market fields: before the typed config
        raise RunFolderError(f"{path}: written by an earlier version of cryptofolio; train the run again")
    return config


def read_run_metadata(run_folder: str | Path) -> dict[str, Any]:
    """The run's metadata (versions, data fingerprint, splits and their use, status), its data entries
    checked (:func:`~cryptofolio.agents.run_identity.check_metadata`).

    :raises RunFolderError: naming the file, when it is missing, not a JSON object or an entry is wrong.
    """
    path = Path(run_folder) / METADATA
    if not path.is_file():
        raise RunFolderError(f"{run_folder}: not a trained run folder (no {METADATA})")
    return check_metadata(read_json(path), path)


def snapshot_folder(run_folder: str | Path, which: str) -> Path:
    """``best``, ``final`` or ``checkpoint`` of a run (or its complete ``.old`` copy after a crash)."""
    if which not in SNAPSHOTS:
        raise ValueError(f"which must be one of {', '.join(SNAPSHOTS)}, got {which!r}")
    run = Path(run_folder)
    for candidate in (run / which, run / f"{which}.old"):
        if candidate.is_dir() and any(path.is_file() for path in candidate.iterdir()):
            return candidate
    raise FileNotFoundError(f"{run}: no {which} model yet")


def run_env_config(run_folder: str | Path) -> EnvConfig:
    """The env configuration the run trained with (``env`` in its config.yaml)."""
    return _run_section(run_folder, "env", EnvConfig)


def run_market_config(run_folder: str | Path) -> MarketConfig:
    """The market and splits the run trained on (``market`` in its config.yaml)."""
    return _run_section(run_folder, "market", MarketConfig)


def run_env(
    run_folder: str | Path,
    market: MarketData,
    *,
    split: str,
    splits: Splits | None = None,
    costs: Costs | None = None,
) -> PortfolioEnv:
    """A PortfolioEnv as the run's agent knows it: the run's profile, env config and split dates.

    :param splits: bar ranges to use instead of the run's recorded split dates (applied to ``market``).
    :param costs: costs to trade at instead of the run's (every policy of a comparison pays the same).
    """
    if splits is None:
        dates = run_market_config(run_folder).splits
        splits = split_by_fractions(market) if dates is None else split_by_dates(market, **vars(dates))
    config = run_env_config(run_folder)
    if costs is not None:
        config = replace(config, costs=costs)
    profile = read_run_config(run_folder)["profile"]
    return anchored_env(market, split=split, splits=splits, profile=profile, config=config)


def _run_section(run_folder: str | Path, key: str, kind: type[Section]) -> Section:
    try:
        return from_data(kind, read_run_config(run_folder).get(key) or {}, key)
    except UserError as error:
        raise RunFolderError(f"{Path(run_folder) / CONFIG}: {error}") from None


def load_policy(run_folder: str | Path, which: str = "best", env: gym.Env | None = None) -> TrainedPolicy:
    """The run's model as a policy with the common ``predict``, normalization frozen; no code of it runs.

    :param run_folder: a folder written by ``cryptofolio train``.
    :param which: ``best`` (on validation, the default), ``final`` or ``checkpoint``.
    :param env: if given, its spaces must match the model's (``ValueError`` names the mismatch).
    :raises ValueError: for a snapshot that differs from its manifest or holds unexpected entries.
    """
    run = Path(run_folder)
    config = read_run_config(run)
    folder = snapshot_folder(run, which)
    model = load_snapshot_model(folder, config)
    normalizer = None
    if config.get("normalize", True):
        dimension = int(np.prod(model.observation_space.shape or ()))
        normalizer = frozen_normalizer(folder / NORMALIZATION, dimension)
    policy = TrainedPolicy(model, normalizer, name=run.name)
    if env is not None:
        policy.check_spaces(env.observation_space, env.action_space, described_as=f"run {run.name}")
    return policy


def load_snapshot_model(
    folder: Path, config: dict[str, Any], env: VecEnv | PortfolioEnv | None = None, seed: int | None = None
) -> Model:
    """The model of a snapshot folder, checked against its manifest, with nothing unpickled.

    :param config: the run's config (plain data): its algorithm, policy and hyperparameters
        rebuild what the archive would have unpickled.
    :param env: the envs to continue training on (None: prediction only), of the kind the run's
        learner trains on (:attr:`~cryptofolio.agents.learners.Learner.trains_on`).
    :param seed: the seed of what the learner draws itself when it continues.
    """
    check_manifest(folder, config, read_run_metadata(folder.parent))
    normalized = (folder / NORMALIZATION).is_file()
    if normalized != bool(config.get("normalize", True)):
        state = "has" if normalized else "lacks"
        raise RunFolderError(
            f"{folder} {state} {NORMALIZATION}, but the run's config says normalize: {not normalized}"
        )
    return learner(config["algo"]).load(folder, config, env, seed)
