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
no code from it, and checks it against its manifest, which also vouches for ``metadata.json``'s
data entries and record (:func:`read_trusted_metadata`).

A market is judged against a run by content, never by its path: :func:`check_run_market` refuses
other assets or bar length and other prices of the same assets (unless allowed, then says so).
A run saved before its manifests digested ``metadata.json`` still loads, and is said to
(:func:`unvouched_note`): the data and dates its metadata names are then taken as written.
"""

from __future__ import annotations

from collections.abc import Callable
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
from cryptofolio.agents.run_identity import check_metadata, market_note, same_prices
from cryptofolio.agents.snapshots import (
    NORMALIZATION,
    SNAPSHOTS,
    SPACES,
    check_manifest,
    check_metadata_digests,
    frozen_normalizer,
    read_json,
    read_manifest,
    read_spaces,
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
from cryptofolio.envs.errors import DataError, RunFolderError, UserError
from cryptofolio.envs.files import read_text

CONFIG, METADATA, COMMAND = "config.yaml", "metadata.json", "command.txt"
Section = TypeVar("Section")


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _numbers(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value.values()
    )


def _texts(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


RECORD_ENTRIES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "market": (lambda value: isinstance(value, str), "a string"),
    "status": (lambda value: isinstance(value, str), "a string"),
    "timesteps": (_count, "a whole number >= 0"),
    "validation_baseline": (_numbers, "a mapping of metric names to numbers"),
    "versions": (_texts, "a mapping of package names to versions"),
}
"""``metadata.json``'s entries besides the data ones: what each must be, when present."""


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
        config: dict[str, Any] = configs.load(read_text(path, RunFolderError))
    except yaml.YAMLError as error:
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
    """The run's metadata (versions, data fingerprint, splits and their use, status), every entry it
    reads checked for type (:func:`~cryptofolio.agents.run_identity.check_metadata` for the data
    entries); not yet against the manifests (:func:`read_trusted_metadata`).

    :raises RunFolderError: naming the file, when it is missing, not a JSON object or an entry is wrong.
    """
    path = Path(run_folder) / METADATA
    if not path.is_file():
        raise RunFolderError(f"{run_folder}: not a trained run folder (no {METADATA})")
    metadata = check_metadata(read_json(path), path)
    for key, (valid, expected) in RECORD_ENTRIES.items():
        if key in metadata and not valid(metadata[key]):
            raise RunFolderError(f"{path}: {key} must be {expected}, got {metadata[key]!r:.80}")
    return metadata


def read_trusted_metadata(run_folder: str | Path) -> dict[str, Any]:
    """The run's metadata (:func:`read_run_metadata`), its data entries and record the ones the
    manifest of every snapshot the run has (best, final, checkpoint) digested.

    :raises RunFolderError: naming ``metadata.json`` when it changed since a snapshot was saved, a
        malformed manifest, or the run when it has no snapshot yet.
    """
    run = Path(run_folder)
    metadata = read_run_metadata(run)
    folders = _snapshot_folders(run)
    if not folders:
        raise RunFolderError(
            f"{run}: no snapshot (best/, final/ or checkpoint/) vouches for its {METADATA}: train it first"
        )
    for folder in folders:
        check_metadata_digests(folder, metadata)
    return metadata


def unvouched_note(run_folder: str | Path, label: str | None = None) -> str | None:
    """What to say of a run whose snapshots were saved before their manifests digested
    ``metadata.json`` (its data entries cannot be checked, so they are taken as written); None
    for a run whose every snapshot vouches for them."""
    run = Path(run_folder)
    for folder in _snapshot_folders(run):
        if "data" not in read_manifest(folder):
            return (
                f"run {label or run.name} was saved by a cryptofolio that did not digest its {METADATA}: the "
                "market, split dates and prices it names are taken as written, not checked."
            )
    return None


def _snapshot_folders(run: Path) -> list[Path]:
    """The run's snapshot folders that exist (best, final, checkpoint; a ``.old`` copy standing in)."""
    folders = []
    for which in SNAPSHOTS:
        try:
            folders.append(snapshot_folder(run, which))
        except FileNotFoundError:
            continue
    return folders


def check_run_market(
    run_folder: str | Path, market: MarketData, *, allow_other: bool, label: str | None = None
) -> str | None:
    """Whether ``market`` may be given to the run's agent, judged by content (never by its path).

    Other assets (or another order, or cash) or another bar length than the run trained on are
    refused. The run's own prices (same fingerprint) pass silently; its prices updated or cut to
    other dates (the recorded closes agree, the fingerprint does not) pass with a note. Other
    prices of the same assets (a synthetic market of another seed, another exchange's file) are
    refused unless ``allow_other`` (evaluate allows them: out-of-sample data; recommend and paper
    do not unless asked: today's orders from an agent that never saw these prices), then noted.

    :param label: the run's name in messages (default its folder's name).
    :returns: the note to print (with :func:`unvouched_note`'s), or None.
    :raises RunFolderError: for other assets or bar length, or a run folder that cannot be trusted.
    :raises DataError: for other prices without ``allow_other``.
    """
    name = label or Path(run_folder).name
    metadata = read_trusted_metadata(run_folder)
    market_note(metadata, market, name)  # refuses other assets or bar length
    notes = (unvouched_note(run_folder, name), _market_verdict(metadata, market, name, allow_other))
    return " ".join(n for n in notes if n) or None


def _market_verdict(metadata: dict[str, Any], market: MarketData, name: str, allow_other: bool) -> str | None:
    """:func:`check_run_market`'s verdict on the prices: None, a note, or :class:`DataError`."""
    fingerprint, trained = market.fingerprint(), metadata["market_fingerprint"]
    if fingerprint == trained:
        return None
    if metadata.get("anchors") is not None and same_prices(metadata, market):
        return (
            f"{market.source} holds the prices run {name} trained on, but not exactly its data (fingerprint "
            f"{fingerprint}, trained on {trained}): the same prices updated or cut to other dates."
        )
    said = f"{market.source} is not the data run {name} trained on"
    why = (
        "its closes at the bars the run recorded are other prices, or it has none of those bars"
        if metadata.get("anchors") is not None
        else "the run recorded no closes to compare (saved by an older cryptofolio)"
    )
    if not allow_other:
        raise DataError(f"{said}: {why}; give --other-market to use the agent on prices it never saw")
    return f"{said} (fingerprint {fingerprint}, trained on {trained}): {why}; other prices of its assets."


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
    spaces = None if env is None else (env.observation_space, env.action_space)
    model = load_snapshot_model(folder, config, spaces=spaces)
    normalizer = None
    if config.get("normalize", True):
        dimension = int(np.prod(model.observation_space.shape or ()))
        normalizer = frozen_normalizer(folder / NORMALIZATION, dimension)
    policy = TrainedPolicy(model, normalizer, name=run.name)
    if env is not None:
        policy.check_spaces(env.observation_space, env.action_space, described_as=f"run {run.name}")
    return policy


def load_snapshot_model(
    folder: Path,
    config: dict[str, Any],
    env: VecEnv | PortfolioEnv | None = None,
    seed: int | None = None,
    *,
    spaces: tuple[gym.Space, gym.Space] | None = None,
) -> Model:
    """The model of a snapshot folder, checked against its manifest, with nothing unpickled.

    :param config: the run's config (plain data): its algorithm, policy and hyperparameters
        rebuild what the archive would have unpickled.
    :param env: the envs to continue training on (None: prediction only), of the kind the run's
        learner trains on (:attr:`~cryptofolio.agents.learners.Learner.trains_on`).
    :param seed: the seed of what the learner draws itself when it continues.
    :param spaces: the (observation, action) spaces the model must have (an env's), compared with
        ``spaces.json`` before any network is built on it.
    """
    check_manifest(folder, config, read_run_metadata(folder.parent))
    if spaces is not None:
        read_spaces(folder / SPACES, spaces)
    normalized = (folder / NORMALIZATION).is_file()
    if normalized != bool(config.get("normalize", True)):
        state = "has" if normalized else "lacks"
        raise RunFolderError(
            f"{folder} {state} {NORMALIZATION}, but the run's config says normalize: {not normalized}"
        )
    return learner(config["algo"]).load(folder, config, env, seed)
