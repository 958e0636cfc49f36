"""A snapshot folder (``best/``, ``final/``, ``checkpoint/``): plain formats, read without running its code.

==================  ==============================================================================
file                what it holds
==================  ==============================================================================
model.zip           stable-baselines3's archive: JSON settings and torch state dicts
model.npz           instead, for the gradient agent: its network's weights (and optimizer.npz in
                    ``checkpoint/``: Adam's state), NumPy arrays
normalization.json  the observation-normalization statistics (VecNormalize's), as numbers
spaces.json         the observation and action spaces, their bounds as numbers
replay_buffer.npz   ``checkpoint/`` of SAC and TD3 only: the replay buffer's arrays
state.json          timesteps, and the selection score and validation metrics of ``best/``
manifest.json       the SHA-256 of each file above, and of the run settings the agent was made with
==================  ==============================================================================

Reading trusts only parsers that run no code: ``json``, NumPy with ``allow_pickle=False``, and
``torch.load(weights_only=True)`` for the state dicts. stable-baselines3 would unpickle the
``:serialized:`` entries of ``model.zip``'s settings; :func:`load_model` gives every such entry a
known value instead (stable-baselines3's ``custom_objects``), built from the run's config the way
the algorithm's constructor builds it, and refuses an entry no attribute of the algorithm
accounts for. The manifest names a file that is missing or changed since it was written; it
guards against accidents, not against someone who rewrites the whole folder (whose files still
run no code).
"""

from __future__ import annotations

import hashlib
import json
import pickle
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from cryptofolio.agents.run_identity import data_digest
from cryptofolio.envs.errors import RunFolderError

MODEL, NORMALIZATION, SPACES = "model.zip", "normalization.json", "spaces.json"
REPLAY_BUFFER, STATE, MANIFEST = "replay_buffer.npz", "state.json", "manifest.json"
SNAPSHOTS = ("best", "final", "checkpoint")
BUFFER_ARRAYS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")
"""The arrays of stable-baselines3's ReplayBuffer that a checkpoint keeps (with ``pos`` and ``full``)."""


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def settings_digest(config: Mapping[str, Any]) -> str:
    """SHA-256 of the run settings an agent is made with: the run's config but its training budget."""
    settings = {k: v for k, v in config.items() if k != "n_timesteps"}
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


def write_manifest(folder: Path, config: Mapping[str, Any], metadata: dict[str, Any]) -> None:
    """Record the digest of every file in ``folder``, of the run settings and of the run's data
    entries in its metadata (:func:`~cryptofolio.agents.run_identity.data_digest`), as ``manifest.json``."""
    files = {p.name: file_digest(p) for p in sorted(folder.iterdir()) if p.is_file() and p.name != MANIFEST}
    manifest = {"files": files, "settings": settings_digest(config), "data": data_digest(metadata)}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))


def check_manifest(folder: Path, config: Mapping[str, Any], metadata: dict[str, Any]) -> None:
    """Refuse a snapshot whose files, run settings or run data entries (``metadata``'s) differ from
    what its manifest recorded (a manifest written before it recorded data entries has none to check).

    :raises RunFolderError: naming the missing or changed file, or the changed config or metadata.
    """
    path = folder / MANIFEST
    if not path.is_file():
        raise RunFolderError(
            f"{folder}: no {MANIFEST}; not a snapshot written by this version of cryptofolio"
        )
    manifest = read_json(path)
    files = manifest.get("files")
    if not isinstance(files, dict) or not isinstance(manifest.get("settings"), str):
        raise RunFolderError(f"{path}: not a manifest (expected files and settings)")
    for name, digest in files.items():
        if Path(name).name != name:
            raise RunFolderError(f"{path}: lists {name!r}, which is not a file of {folder}")
        if not (folder / name).is_file():
            raise RunFolderError(f"{folder / name} is missing; {MANIFEST} lists it")
        if file_digest(folder / name) != digest:
            raise RunFolderError(
                f"{folder / name} changed since it was saved (its SHA-256 is not the manifest's)"
            )
    if settings_digest(config) != manifest["settings"]:
        raise RunFolderError(
            f"{folder.parent / 'config.yaml'} changed since {folder.name}/ was saved: the agent was made "
            "with other settings"
        )
    if "data" in manifest and data_digest(metadata) != manifest["data"]:
        raise RunFolderError(
            f"{folder.parent / 'metadata.json'} changed since {folder.name}/ was saved: its market, splits "
            "or prices are not the ones the agent trained on"
        )


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``; ``RunFolderError`` naming the file if it is not one."""
    try:
        data = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RunFolderError(f"{path}: not JSON ({error})") from None
    if not isinstance(data, dict):
        raise RunFolderError(f"{path}: expected a JSON object")
    return data


def read_state(folder: Path) -> dict[str, Any]:
    """A snapshot's ``state.json``: ``timesteps`` a whole number >= 0, ``score`` (if any) a number.

    :raises RunFolderError: naming the file and the entry.
    """
    path = folder / STATE
    if not path.is_file():
        raise RunFolderError(f"{folder}: no {STATE}")
    state = read_json(path)
    steps = state.get("timesteps")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise RunFolderError(f"{path}: timesteps must be a whole number >= 0, got {steps!r:.80}")
    score = state.get("score", float("nan"))
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise RunFolderError(f"{path}: score must be a number, got {score!r:.80}")
    return state


# --- observation normalization ----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ObservationNormalizer:
    """VecNormalize's observation normalization with its statistics frozen, read from plain numbers.

    :param mean: (D,) running mean of the observations; :param var: (D,) their running variance.
    :param epsilon: added to the variance; :param clip: normalized values are clipped to ``[-clip, clip]``.
    """

    mean: np.ndarray
    var: np.ndarray
    epsilon: float
    clip: float

    def normalize_obs(self, observation: np.ndarray) -> np.ndarray:
        """``clip((obs - mean) / sqrt(var + epsilon))`` as float32: VecNormalize.normalize_obs, exactly."""
        scaled = (observation - self.mean) / np.sqrt(self.var + self.epsilon)
        return np.clip(scaled, -self.clip, self.clip).astype(np.float32)

    def data(self) -> dict[str, Any]:
        """These statistics in :func:`normalization_data`'s layout (no reward normalization)."""
        return {
            "norm_obs": True,
            "norm_reward": False,
            "clip_obs": float(self.clip),
            "clip_reward": 10.0,
            "gamma": 1.0,
            "epsilon": float(self.epsilon),
            "obs_rms": {"mean": self.mean.tolist(), "var": self.var.tolist(), "count": 1.0},
            "ret_rms": {"mean": 0.0, "var": 1.0, "count": 1.0},
        }


def normalization_data(normalizer: VecNormalize) -> dict[str, Any]:
    """VecNormalize's settings and running statistics as plain numbers (JSON keeps float64 exactly)."""
    rms: dict[str, Any] = {"obs_rms": normalizer.obs_rms, "ret_rms": normalizer.ret_rms}
    return {
        "norm_obs": bool(normalizer.norm_obs),
        "norm_reward": bool(normalizer.norm_reward),
        "clip_obs": float(normalizer.clip_obs),
        "clip_reward": float(normalizer.clip_reward),
        "gamma": float(normalizer.gamma),
        "epsilon": float(normalizer.epsilon),
        **{
            name: {
                "mean": np.asarray(r.mean).tolist(),
                "var": np.asarray(r.var).tolist(),
                "count": float(r.count),
            }
            for name, r in rms.items()
        },
    }


def read_normalization(path: Path, dimension: int) -> dict[str, Any]:
    """Normalization statistics written by :func:`normalization_data`, checked.

    :param dimension: D, the observation length they must have.
    :raises RunFolderError: naming the file and what is wrong.
    """
    data = read_json(path)
    try:
        for name in ("clip_obs", "clip_reward", "gamma", "epsilon"):
            data[name] = float(data[name])
        for name, size in (("obs_rms", dimension), ("ret_rms", None)):
            rms = data[name]
            mean, var = np.asarray(rms["mean"], dtype=np.float64), np.asarray(rms["var"], dtype=np.float64)
            rms.update(mean=mean, var=var, count=float(rms["count"]))
            if (size is not None and mean.shape != (size,)) or var.shape != mean.shape:
                raise ValueError(f"{name} has shape {mean.shape}, expected ({size},)")
            if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(var)) and np.all(var >= 0)):
                raise ValueError(f"{name} holds non-finite means or negative variances")
    except (KeyError, TypeError, ValueError) as error:
        raise RunFolderError(f"{path}: not normalization statistics ({error})") from None
    return data


def frozen_normalizer(path: Path, dimension: int) -> ObservationNormalizer:
    """The observation normalizer a policy applies, from ``normalization.json``."""
    data = read_normalization(path, dimension)
    obs = data["obs_rms"]
    return ObservationNormalizer(obs["mean"], obs["var"], data["epsilon"], data["clip_obs"])


def restore_normalization(path: Path, venv: VecEnv) -> VecNormalize:
    """A VecNormalize over ``venv`` continuing from ``normalization.json``'s statistics (for resuming)."""
    data = read_normalization(path, int(np.prod(venv.observation_space.shape or ())))
    keys = ("norm_obs", "norm_reward", "clip_obs", "clip_reward", "gamma", "epsilon")
    normalizer = VecNormalize(venv, training=True, **{k: data[k] for k in keys})
    for name in ("obs_rms", "ret_rms"):
        rms = getattr(normalizer, name)
        rms.mean, rms.var, rms.count = data[name]["mean"], data[name]["var"], data[name]["count"]
    return normalizer


# --- spaces -----------------------------------------------------------------------------------------


def spaces_data(observation_space: gym.Space, action_space: gym.Space) -> dict[str, Any]:
    """The model's Box spaces as numbers."""
    return {
        name: _box_data(space)
        for name, space in (("observation", observation_space), ("action", action_space))
    }


def read_spaces(path: Path) -> tuple[gym.spaces.Box, gym.spaces.Box]:
    """The (observation, action) spaces of ``spaces.json``."""
    data = read_json(path)
    try:
        return _box(data["observation"]), _box(data["action"])
    except (KeyError, TypeError, ValueError) as error:
        raise RunFolderError(f"{path}: not a description of two Box spaces ({error})") from None


def _box_data(space: gym.Space) -> dict[str, Any]:
    if not isinstance(space, gym.spaces.Box):
        raise ValueError(f"only Box spaces are saved, got {space}")
    return {"low": space.low.tolist(), "high": space.high.tolist(), "dtype": str(space.dtype)}


def _box(data: dict[str, Any]) -> gym.spaces.Box:
    if data["dtype"] != "float32":
        raise ValueError(f"dtype {data['dtype']!r} is not float32")
    low, high = (np.asarray(data[k], dtype=np.float32) for k in ("low", "high"))
    if low.ndim != 1 or low.shape != high.shape:
        raise ValueError("low and high must be vectors of one length")
    return gym.spaces.Box(low=low, high=high, dtype=np.float32)


# --- the model -------------------------------------------------------------------------------------


def serialized_entries(path: Path) -> list[str]:
    """The keys of ``model.zip``'s settings that stable-baselines3 would unpickle."""
    try:
        with zipfile.ZipFile(path) as archive:
            data = json.loads(archive.read("data"))
    except (OSError, KeyError, zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RunFolderError(f"{path}: not a stable-baselines3 model archive ({error})") from None
    if not isinstance(data, dict):
        raise RunFolderError(f"{path}: its settings are not a JSON object")
    return sorted(k for k, v in data.items() if isinstance(v, dict) and ":serialized:" in v)


def load_model(
    path: Path,
    algo: type[BaseAlgorithm],
    template: BaseAlgorithm,
    spaces: tuple[gym.spaces.Box, gym.spaces.Box],
    env: VecEnv | None = None,
) -> BaseAlgorithm:
    """The model of ``model.zip``, with no entry unpickled.

    :param template: the algorithm as the run's config constructs it (``_init_setup_model=False``):
        each serialized entry of the archive takes the template's value of that attribute, as
        the constructor would have made it.
    :param spaces: the (observation, action) spaces of ``spaces.json``.
    :param env: the envs to continue training on (None: prediction only).
    :raises RunFolderError: for an archive with a serialized entry the algorithm has no attribute for.
    """
    entries = serialized_entries(path)
    # lr_schedule is rebuilt from learning_rate by stable-baselines3's _setup_model when it loads.
    known = {"observation_space": spaces[0], "action_space": spaces[1], "lr_schedule": None}
    unexpected = [k for k in entries if k not in known and not hasattr(template, k)]
    if unexpected:
        raise RunFolderError(
            f"{path}: holds serialized entries {', '.join(unexpected)} that {algo.__name__} does not have; "
            "refusing to unpickle them"
        )
    custom_objects = {k: known[k] if k in known else getattr(template, k) for k in entries}
    try:
        return algo.load(path, env=env, device="cpu", custom_objects=custom_objects)
    except (pickle.UnpicklingError, RuntimeError, KeyError, zipfile.BadZipFile) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RunFolderError(f"{path}: its weights cannot be read as plain tensors ({reason})") from None


def save_replay_buffer(model: OffPolicyAlgorithm, path: Path) -> None:
    """The replay buffer's arrays as ``.npz`` (no pickle)."""
    buffer = model.replay_buffer
    assert buffer is not None
    arrays = {
        name: getattr(buffer, name) for name in BUFFER_ARRAYS if getattr(buffer, name, None) is not None
    }
    np.savez(path, pos=np.int64(buffer.pos), full=np.bool_(buffer.full), **arrays)


def load_replay_buffer(model: OffPolicyAlgorithm, path: Path) -> None:
    """Fill the model's replay buffer from :func:`save_replay_buffer`'s file, checking every shape."""
    buffer = model.replay_buffer
    assert buffer is not None
    try:
        with np.load(path, allow_pickle=False) as saved:
            for name in BUFFER_ARRAYS:
                mine = getattr(buffer, name, None)
                if mine is None:
                    continue
                array = saved[name]
                if array.shape != mine.shape or array.dtype != mine.dtype:
                    raise ValueError(
                        f"{name} is {array.dtype}{array.shape}, expected {mine.dtype}{mine.shape}"
                    )
                setattr(buffer, name, array.copy())
            buffer.pos, buffer.full = int(saved["pos"]), bool(saved["full"])
    except (OSError, KeyError, ValueError) as error:
        raise RunFolderError(f"{path}: not this run's replay buffer ({error})") from None
