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
manifest.json       the SHA-256 of each file above, of the run settings the agent was made with
                    (``config.yaml`` but its budget), of ``metadata.json``'s data entries (market
                    fingerprint, symbols, bar length, split dates and use, anchor closes:
                    :func:`~cryptofolio.agents.run_identity.data_digest`) and of its record of the
                    run (market source, validation baseline, versions: :data:`RECORD_KEYS`)
==================  ==============================================================================

A snapshot holds exactly the files its manifest lists, each with its digest; ``metadata.json``'s
status and step count change as a run trains and are outside the digests. A manifest written
before it digested the metadata has nothing to check them against: the commands say so
(:func:`~cryptofolio.agents.sb3.unvouched_note`) and take its data and dates as written.

Reading trusts only parsers that run no code: ``json``, NumPy with ``allow_pickle=False``, and
``torch.load(weights_only=True)`` for the state dicts. stable-baselines3 would unpickle the
``:serialized:`` entries of ``model.zip``'s settings; :func:`load_model` gives every such entry a
known value instead (stable-baselines3's ``custom_objects``), built from the run's config the way
the algorithm's constructor builds it, and refuses an entry no attribute of the algorithm
accounts for. Sizes are checked before anything is allocated: an archive's members must be
stored uncompressed (as NumPy and stable-baselines3 write them), so no member is larger than its
file, and an ``.npz`` array's shape and type are read from its header and compared with what the
reader expects before its data is read. The manifest names a file that is missing or changed
since it was written; it guards against accidents, not against someone who rewrites the whole
folder (whose files still run no code and allocate no more than they hold).
"""

from __future__ import annotations

import hashlib
import json
import math
import pickle
import re
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
from cryptofolio.envs.files import read_json_object

MODEL, NORMALIZATION, SPACES = "model.zip", "normalization.json", "spaces.json"
REPLAY_BUFFER, STATE, MANIFEST = "replay_buffer.npz", "state.json", "manifest.json"
SNAPSHOTS = ("best", "final", "checkpoint")
BUFFER_ARRAYS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")
"""The arrays of stable-baselines3's ReplayBuffer that a checkpoint keeps (with ``pos`` and ``full``)."""
RECORD_KEYS = ("market", "validation_baseline", "versions")
"""``metadata.json``'s record of the run besides its data entries, digested into each manifest too."""
MAX_DIMENSION = 1_000_000
"""The longest observation or action a ``spaces.json`` may declare (a network is built over it)."""
_SHA256 = re.compile(r"[0-9a-f]{64}")


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


def record_digest(metadata: Mapping[str, Any]) -> str:
    """SHA-256 of the metadata's :data:`RECORD_KEYS` entries (absent ones as null)."""
    record = {key: metadata.get(key) for key in RECORD_KEYS}
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()


def write_manifest(folder: Path, config: Mapping[str, Any], metadata: dict[str, Any]) -> None:
    """Record the digest of every file in ``folder``, of the run settings, and of the run's data
    entries and record in its metadata, as ``manifest.json``."""
    files = {p.name: file_digest(p) for p in sorted(folder.iterdir()) if p.is_file() and p.name != MANIFEST}
    manifest = {
        "files": files,
        "settings": settings_digest(config),
        "data": data_digest(metadata),
        "record": record_digest(metadata),
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))


def read_manifest(folder: Path) -> dict[str, Any]:
    """A snapshot's manifest: ``files`` (name: SHA-256), ``settings`` and ``data`` digests (``record``
    too, unless written before it was kept).

    :raises RunFolderError: naming the manifest, when it is missing or malformed.
    """
    path = folder / MANIFEST
    if not path.is_file():
        raise RunFolderError(
            f"{folder}: no {MANIFEST}; not a snapshot written by this version of cryptofolio"
        )
    manifest = read_json(path)
    files = manifest.get("files")
    digests = [manifest.get("settings"), *(files.values() if isinstance(files, dict) else [None])]
    if not isinstance(files, dict) or not all(isinstance(d, str) and _SHA256.fullmatch(d) for d in digests):
        raise RunFolderError(f"{path}: not a manifest (expected files and settings as SHA-256 digests)")
    for key in [k for k in ("data", "record") if k in manifest]:
        if not isinstance(manifest[key], str) or not _SHA256.fullmatch(manifest[key]):
            raise RunFolderError(f"{path}: {key} must be a SHA-256 digest, got {manifest[key]!r:.80}")
    return manifest


def check_metadata_digests(folder: Path, metadata: Mapping[str, Any]) -> None:
    """Refuse ``metadata`` (the run's ``metadata.json``) unless its data entries and record are the
    ones ``folder``'s manifest digested.

    :raises RunFolderError: naming ``metadata.json`` and the snapshot, or the manifest
        (:func:`read_manifest`).
    """
    _check_digests(folder, read_manifest(folder), metadata)


def _check_digests(folder: Path, manifest: Mapping[str, Any], metadata: Mapping[str, Any]) -> None:
    if "data" not in manifest:  # written before the digest: nothing to check against (module docstring)
        return
    changed = data_digest(dict(metadata)) != manifest["data"]
    if not changed and "record" in manifest:
        changed = record_digest(metadata) != manifest["record"]
    if changed:
        raise RunFolderError(
            f"{folder.parent / 'metadata.json'} changed since {folder.name}/ was saved: its market, splits, "
            "prices or record are not the ones the agent trained with"
        )


def check_manifest(folder: Path, config: Mapping[str, Any], metadata: dict[str, Any]) -> None:
    """Refuse a snapshot whose files, run settings or run metadata (data entries and record) differ
    from what its manifest recorded, or that holds a file its manifest does not list.

    :raises RunFolderError: naming the missing, changed or unlisted file, or the changed config or metadata.
    """
    manifest = read_manifest(folder)
    path, files = folder / MANIFEST, manifest["files"]
    for name, digest in files.items():
        if Path(name).name != name or name == MANIFEST:
            raise RunFolderError(f"{path}: lists {name!r}, which is not a file of {folder}")
        if not (folder / name).is_file():
            raise RunFolderError(f"{folder / name} is missing; {MANIFEST} lists it")
        if file_digest(folder / name) != digest:
            raise RunFolderError(
                f"{folder / name} changed since it was saved (its SHA-256 is not the manifest's)"
            )
    unlisted = sorted(p.name for p in folder.iterdir() if p.name != MANIFEST and p.name not in files)
    if unlisted:
        raise RunFolderError(
            f"{folder / unlisted[0]} is not listed in {MANIFEST}: a snapshot holds only the files it was "
            "saved with (remove it)"
        )
    if settings_digest(config) != manifest["settings"]:
        raise RunFolderError(
            f"{folder.parent / 'config.yaml'} changed since {folder.name}/ was saved: the agent was made "
            "with other settings"
        )
    _check_digests(folder, manifest, metadata)


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``; ``RunFolderError`` naming the file if it is not one
    (:func:`~cryptofolio.envs.files.read_json_object`: a regular file of at most 16 MB)."""
    return read_json_object(path, RunFolderError)


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

    ``obs_rms`` holds (D,) means and variances, ``ret_rms`` scalars; means are finite, variances
    finite and >= 0, counts, ``epsilon``, ``clip_obs`` and ``clip_reward`` finite and > 0,
    ``gamma`` in [0, 1], ``norm_obs`` and ``norm_reward`` true or false.

    :param dimension: D, the observation length they must have.
    :raises RunFolderError: naming the file and what is wrong.
    """
    data = read_json(path)
    try:
        for name in ("norm_obs", "norm_reward"):
            if not isinstance(data[name], bool):
                raise ValueError(f"{name} is {data[name]!r:.40}, not true or false")
        for name in ("clip_obs", "clip_reward", "gamma", "epsilon"):
            data[name] = _number(data[name], name)
            gamma = name == "gamma"
            if not (0 <= data[name] <= 1 if gamma else 0 < data[name] < math.inf):
                raise ValueError(f"{name} is {data[name]}, outside {'[0, 1]' if gamma else '(0, inf)'}")
        for name, shape in (("obs_rms", (dimension,)), ("ret_rms", ())):
            rms = data[name]
            mean, var = np.asarray(rms["mean"], dtype=np.float64), np.asarray(rms["var"], dtype=np.float64)
            rms.update(mean=mean, var=var, count=_number(rms["count"], f"{name}.count"))
            if mean.shape != shape or var.shape != shape:
                raise ValueError(f"{name} has shapes {mean.shape} and {var.shape}, expected {shape}")
            if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(var)) and np.all(var >= 0)):
                raise ValueError(f"{name} holds non-finite means or negative variances")
            if not 0 < rms["count"] < math.inf:
                raise ValueError(f"{name}.count is {rms['count']}, not a positive number")
    except (KeyError, TypeError, ValueError) as error:
        reason = f"no {error}" if isinstance(error, KeyError) else str(error)
        raise RunFolderError(f"{path}: not normalization statistics ({reason})") from None
    return data


def _number(value: Any, name: str) -> float:
    """``value`` as a float if it is a JSON number (not a boolean); ``ValueError`` naming ``name`` if not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} is {value!r:.40}, not a number")
    return float(value)


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


def read_spaces(
    path: Path, expected: tuple[gym.Space, gym.Space] | None = None
) -> tuple[gym.spaces.Box, gym.spaces.Box]:
    """The (observation, action) spaces of ``spaces.json``: float32 vectors of at most
    :data:`MAX_DIMENSION` entries, bounds not NaN, ``low <= high`` (gymnasium's checks).

    :param expected: spaces they must equal (an env's), checked before any network is built on them.
    :raises RunFolderError: naming the file and what is wrong.
    """
    data = read_json(path)
    try:
        spaces = _box(data["observation"]), _box(data["action"])
    except (KeyError, TypeError, ValueError) as error:
        reason = f"no {error}" if isinstance(error, KeyError) else str(error)
        raise RunFolderError(f"{path}: not a description of two Box spaces ({reason})") from None
    for kind, mine, theirs in zip(("observation", "action"), spaces, expected or (), strict=False):
        shape = getattr(theirs, "shape", None)
        if not isinstance(theirs, gym.spaces.Box) or mine.shape != shape:
            other = f"of shape {mine.shape}, but the env's are {shape}"
        elif not (np.array_equal(mine.low, theirs.low) and np.array_equal(mine.high, theirs.high)):
            other = f"of shape {mine.shape}, but the env's have other bounds"
        else:
            continue
        raise RunFolderError(
            f"{path}: the model was trained with {kind}s {other}: check the assets, the window and the "
            "env options against the run's config.yaml"
        )
    return spaces


def _box_data(space: gym.Space) -> dict[str, Any]:
    if not isinstance(space, gym.spaces.Box):
        raise ValueError(f"only Box spaces are saved, got {space}")
    return {"low": space.low.tolist(), "high": space.high.tolist(), "dtype": str(space.dtype)}


def _box(data: dict[str, Any]) -> gym.spaces.Box:
    if data["dtype"] != "float32":
        raise ValueError(f"dtype {data['dtype']!r:.40} is not float32")
    for key in ("low", "high"):
        if not isinstance(data[key], list) or len(data[key]) > MAX_DIMENSION:
            raise ValueError(f"{key} must be a list of at most {MAX_DIMENSION:,} numbers")
        if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in data[key]):
            raise ValueError(f"{key} must hold numbers only")
    low, high = (np.asarray(data[k], dtype=np.float32) for k in ("low", "high"))
    if low.ndim != 1 or low.shape != high.shape or not low.size:
        raise ValueError("low and high must be vectors of one length")
    return gym.spaces.Box(low=low, high=high, dtype=np.float32)  # refuses NaN bounds and low > high


# --- archives ---------------------------------------------------------------------------------------


def stored_members(path: Path) -> list[zipfile.ZipInfo]:
    """The members of a zip archive, each stored uncompressed (as NumPy and stable-baselines3 write
    them): what reading one allocates is no larger than the file.

    :raises RunFolderError: naming the file and the member that is compressed or misdeclared.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (OSError, zipfile.BadZipFile) as error:
        raise RunFolderError(f"{path}: not a zip archive ({error})") from None
    size = path.stat().st_size
    for info in members:
        if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
            raise RunFolderError(f"{path}: {info.filename} is compressed; this program writes it stored")
        if info.file_size > size:
            raise RunFolderError(
                f"{path}: {info.filename} declares {info.file_size:,} bytes, more than the file holds"
            )
    return members


def npz_headers(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Each array's shape and dtype in an ``.npz`` file, read from its ``.npy`` header: no data is read.

    :raises RunFolderError: naming the file and array whose header is malformed, holds objects, or
        declares more (or fewer) bytes than the member stores.
    """
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    headers = {}
    members = stored_members(path)  # refuses a file that is not a zip archive, naming it
    with zipfile.ZipFile(path) as archive:
        for info in members:
            name = info.filename.removesuffix(".npy")
            try:
                if not info.filename.endswith(".npy"):
                    raise ValueError("not an .npy member")
                with archive.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    if version not in readers:
                        raise ValueError(f"format version {version}")
                    shape, _, dtype = readers[version](member)
                    offset = member.tell()
                if dtype.hasobject or dtype.fields is not None:
                    raise ValueError(f"dtype {dtype} holds objects or fields")
                nbytes = math.prod(shape) * dtype.itemsize
                if offset + nbytes != info.file_size:
                    raise ValueError(f"declares {dtype}{shape}, not what its {info.file_size:,} bytes hold")
            except (OSError, ValueError, TypeError) as error:
                raise RunFolderError(
                    f"{path}: not a NumPy archive of arrays ({name!r:.80}: {error})"
                ) from None
            headers[name] = (tuple(shape), dtype)
    return headers


def check_npz(
    path: Path,
    expected: Mapping[str, tuple[tuple[int, ...], np.dtype | str]],
    *,
    empty_too: bool = False,
) -> bool:
    """Refuse an ``.npz`` file unless its arrays' names, shapes and dtypes are ``expected``'s, read
    from their headers (no data is read); whether it holds any array.

    :param expected: name: (shape, dtype), or (shape, ``"float"``) for any float width.
    :param empty_too: also accept an archive of no array.
    :raises RunFolderError: naming the file and the missing, extra or misshapen array.
    """
    if not path.is_file():
        raise RunFolderError(f"{path} is missing")
    headers = npz_headers(path)
    if empty_too and not headers:
        return False

    def fits(name: str) -> bool:
        shape, dtype = headers[name]
        want_shape, want = expected[name]
        return shape == want_shape and (dtype.kind == "f" if want == "float" else dtype == np.dtype(want))

    wrong = sorted(set(headers) ^ set(expected)) or [n for n in expected if not fits(n)]
    if wrong:
        name = wrong[0]
        found = "absent" if name not in headers else f"{headers[name][1]}{headers[name][0]}"
        want = "absent" if name not in expected else f"{expected[name][1]}{expected[name][0]}"
        raise RunFolderError(
            f"{path}: holds arrays that do not fit: {name!r:.80} is {found}, expected {want}"
        )
    return True


def read_arrays(
    path: Path,
    expected: Mapping[str, tuple[tuple[int, ...], np.dtype | str]],
    *,
    empty_too: bool = False,
) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file, checked by :func:`check_npz` before any data is read.

    :raises RunFolderError: naming the file and the array.
    """
    if not check_npz(path, expected, empty_too=empty_too):
        return {}
    try:
        with np.load(path, allow_pickle=False) as saved:
            return {name: saved[name] for name in expected}
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise RunFolderError(f"{path}: its arrays cannot be read ({error})") from None


# --- the model -------------------------------------------------------------------------------------


def serialized_entries(path: Path) -> list[str]:
    """The keys of ``model.zip``'s settings that stable-baselines3 would unpickle (its members checked
    to be stored: :func:`stored_members`)."""
    stored_members(path)
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
    """Fill the model's replay buffer from :func:`save_replay_buffer`'s file, every array's shape and
    dtype checked against the buffer's before it is read; ``pos`` within the buffer.

    :raises RunFolderError: naming the file and the array.
    """
    buffer = model.replay_buffer
    assert buffer is not None
    mine = {name: getattr(buffer, name) for name in BUFFER_ARRAYS if getattr(buffer, name, None) is not None}
    expected: dict[str, tuple[tuple[int, ...], np.dtype | str]] = {
        name: (array.shape, array.dtype) for name, array in mine.items()
    }
    expected |= {"pos": ((), np.dtype(np.int64)), "full": ((), np.dtype(np.bool_))}
    arrays = read_arrays(path, expected)
    pos = int(arrays.pop("pos"))
    if not 0 <= pos < buffer.buffer_size:
        raise RunFolderError(f"{path}: pos is {pos}, outside the buffer's 0 to {buffer.buffer_size - 1}")
    for name, array in arrays.items():
        if name != "full":
            setattr(buffer, name, array)
    buffer.pos, buffer.full = pos, bool(arrays["full"])
