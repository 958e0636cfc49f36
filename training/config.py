"""Training configuration: one frozen dataclass nesting the market and env configs, resolved from YAML.

Resolution order, later wins: the dataclass defaults; the ``default`` entry of the learner's
config file (``configs/<algo>.yaml``, :attr:`~cryptofolio.agents.learners.Learner.config`; or of a
file given with ``--hyperparams``); the entry named after
the risk profile; ``--set key=value`` overrides (dotted keys reach into ``env`` and
``policy_kwargs``: ``env.actions.residual=true``); explicit command-line options
(``--timesteps``, ``--seed``, the market options, ...). Saved with
:func:`~cryptofolio.envs.config.to_data`, read back with :func:`~cryptofolio.envs.config.from_data`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cryptofolio import configs
from cryptofolio.agents.hyperparameters import check_hyperparameters
from cryptofolio.agents.learners import learner
from cryptofolio.envs import PROFILE_NAMES, EnvConfig, MarketConfig
from cryptofolio.envs.config import check_choice, from_data
from cryptofolio.envs.errors import ConfigError, UserError
from cryptofolio.envs.files import read_text

VEC_ENVS = ("batched", "dummy", "subproc")
SELECTION_METRICS = ("sharpe", "sortino", "calmar", "total_return", "cagr")
"""Validation metrics a model may be selected on (higher is better for each)."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on; saved as ``config.yaml`` in its run folder."""

    algo: str
    """The learner: a name in the registry (:mod:`cryptofolio.agents.learners`), such as ppo or sac."""
    profile: str = "moderate"
    """Risk profile: the reward's drawdown tolerance, the residual anchor, the baseline on validation."""
    seed: int = 0
    """Seed of everything random in the run: Python, NumPy, torch, the envs and their starts."""
    market: MarketConfig = field(default_factory=MarketConfig)
    """The market and its splits."""
    env: EnvConfig = field(default_factory=EnvConfig)
    """Costs, reward, action mapping, observation and episode of the training and validation envs."""
    n_timesteps: int = 100_000
    """Environment steps to train for, over all parallel envs. Every learner's config file sets its own
    (``resolve_config``), and the study and demo take theirs from the learner registry's ``Budgets``:
    this default holds only for a ``TrainConfig`` built by hand."""
    n_envs: int = 8
    """Parallel training envs."""
    bootstrap_block: int = 0
    """Train on a block-bootstrap resample of the train split, blocks of this many bars (0: the data)."""
    bootstrap_bars: int = 20_000
    """Length of that resample, in bars."""
    bootstrap_history: int = 365
    """Bars an asset that lists during the train split must have traded by its end to be resampled;
    newer assets stay unlisted in the resample, so that its blocks come from at least this many bars."""
    vec_env: str = "batched"
    """``batched`` (all envs stepped in one vectorized call), ``dummy`` (one process) or ``subproc``."""
    normalize: bool = True
    """Normalize observations with running statistics (VecNormalize), frozen at evaluation."""
    eval_freq: int = 10_000
    """Environment steps between evaluations on the validation split."""
    checkpoint_freq: int = 50_000
    """Environment steps between resumable checkpoints (also written at the end and on a signal)."""
    selection_metric: str = "sharpe"
    """Validation metric that picks the best model: sharpe, sortino, calmar, total_return or cagr."""
    torch_threads: int = 1
    """Threads torch may use."""
    policy: str = "MlpPolicy"
    """stable-baselines3 policy class."""
    hyperparams: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of the learner's model class (a stable-baselines3 algorithm's)."""

    def __post_init__(self) -> None:
        entry = learner(self.algo)
        check_choice("profile", self.profile, PROFILE_NAMES)
        check_choice("selection_metric", self.selection_metric, SELECTION_METRICS)
        check_choice("vec_env", self.vec_env, VEC_ENVS)
        for name, most in UPPER_BOUNDS.items():
            value = getattr(self, name)
            if not 1 <= value <= most:
                raise ConfigError(f"{name} must be from 1 to {most:,}, got {value:,}")
        if not 0 <= self.seed < 2**32:
            raise ConfigError(f"seed must be from 0 to {2**32 - 1:,}, got {self.seed:,}")
        if self.bootstrap_history < 0:
            raise ConfigError(f"bootstrap_history must be a number of bars, got {self.bootstrap_history}")
        if self.bootstrap_block < 0:
            raise ConfigError(
                f"bootstrap_block must be 0 (off) or a number of bars, got {self.bootstrap_block}"
            )
        check_hyperparameters(entry.algorithm, self.hyperparams)


UPPER_BOUNDS = {
    "n_timesteps": 1_000_000_000,
    "n_envs": 1_024,
    "eval_freq": 1_000_000_000,
    "checkpoint_freq": 1_000_000_000,
    "torch_threads": 1_024,
    "bootstrap_bars": 10_000_000,
}
"""The most each count of a run may be: what a typo could otherwise allocate (envs, steps, threads, bars)."""
RUN_FIELDS = {f.name for f in dataclasses.fields(TrainConfig)} - {"algo", "profile", "hyperparams"}


def resolve_config(
    algo: str,
    profile: str = "moderate",
    *,
    hyperparams_file: str | Path | None = None,
    overrides: Sequence[str] = (),
    market: MarketConfig | None = None,
    **explicit: Any,
) -> TrainConfig:
    """The config of a run: YAML ``default`` < profile entry < ``overrides`` < ``explicit`` values.

    Each layer is checked before the next is added, so a fault is blamed on the file, on
    ``--set`` or on the command-line options, whichever brought it.

    :param hyperparams_file: a YAML file in the layout of ``configs/<algo>.yaml`` (default: the
        learner's config file).
    :param overrides: ``key=value`` strings; dotted keys reach into sections (``env.costs.fee=0.002``);
        values are read as YAML (``3e-4`` as a number).
    :param market: the market and splits (default: the synthetic market); not a hyperparameter.
    :param explicit: top-level run fields set by command-line options; None values are ignored.
    :raises FileNotFoundError: naming the learner's missing config file (when no ``hyperparams_file``).
    """
    registered = learner(algo)
    if hyperparams_file is not None:
        document, source = read_yaml(Path(hyperparams_file)), str(hyperparams_file)
    elif not registered.config_path.is_file():
        raise FileNotFoundError(
            f"learner {algo!r} has no config file: {registered.config_path} does not exist "
            "(register the learner with config=PATH, or give --hyperparams)"
        )
    elif registered.config is None:
        document, source = configs.read(algo), f"configs/{algo}.yaml"
    else:
        document, source = read_yaml(registered.config_path), str(registered.config_path)
    unknown = [str(key) for key in document if key not in ("default", *PROFILE_NAMES)]
    if unknown:
        raise ConfigError(
            f"{source}: {unknown[0]}: not an entry; a config holds default and the profiles' entries "
            f"({', '.join(PROFILE_NAMES)})"
        )
    default, entry = document.get("default"), document.get(profile) or {}
    if not isinstance(default, Mapping):
        raise ConfigError(
            f"{source}: no `default` entry" if default is None else f"{source}: default: not a mapping"
        )
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{source}: {profile}: not a mapping")
    merged = _merge(default, entry)
    _build(algo, profile, merged, {}, source)
    if overrides:
        for override in overrides:
            key, sep, value = override.partition("=")
            if not sep or not key.strip():
                raise ConfigError(f"--set {override!r}: expected key=value")
            try:
                parsed = parse_value(value.strip())
            except yaml.YAMLError as error:
                raise ConfigError(
                    f"--set {key.strip()}: {value.strip()!r:.80} is {_yaml_fault(error)}"
                ) from None
            merged = _merge(merged, _nested(key.strip().split("."), parsed))
        _build(algo, profile, merged, {}, "--set")
    config = _build(algo, profile, merged, explicit, "the command-line options")
    return config if market is None else dataclasses.replace(config, market=market)


def _build(
    algo: str, profile: str, merged: Mapping[str, Any], explicit: Mapping[str, Any], blame: str
) -> TrainConfig:
    if "market" in merged:
        raise ConfigError(
            f"{blame}: the market is set by the market options (--market, --assets, --train, ...), "
            "not by hyperparameters"
        )
    run = {k: v for k, v in merged.items() if k in RUN_FIELDS}
    hyperparams = {k: v for k, v in merged.items() if k not in RUN_FIELDS}
    run.update({k: v for k, v in explicit.items() if v is not None})
    try:
        return from_data(TrainConfig, {"algo": algo, "profile": profile, **run, "hyperparams": hyperparams})
    except UserError as error:
        raise ConfigError(f"{blame}: {error}") from None


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML mapping from a user's file; ``ValueError`` naming the file and line if it is not one."""
    try:
        document = configs.load(read_text(path, ConfigError))
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: {_yaml_fault(error, line=True)}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping of entries, got {type(document).__name__}")
    return document


def _yaml_fault(error: yaml.YAMLError, line: bool = False) -> str:
    """``not valid YAML at line 3, column 5 (found ...)``: where and what, from PyYAML's error."""
    mark = getattr(error, "problem_mark", None)
    where = (
        ""
        if mark is None
        else f" at line {mark.line + 1}, column {mark.column + 1}"
        if line
        else f" at column {mark.column + 1}"
    )
    return f"not valid YAML{where} ({getattr(error, 'problem', None) or 'not YAML'})"


def parse_value(text: str) -> Any:
    """A command-line value: a number (``3e-4`` too), ``true``/``false``, ``null``, or YAML (lists)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return configs.load(text)


def _nested(keys: list[str], value: Any) -> dict[str, Any]:
    return {keys[0]: _nested(keys[1:], value) if len(keys) > 1 else value}


def _merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``update``; nested mappings merge rather than replace."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out
