"""Training configuration: one frozen dataclass, resolved from the algorithm's YAML file.

Resolution order, later wins: the dataclass defaults; the ``default`` entry of
``configs/<algo>.yaml`` (or of a file given with ``--hyperparams``); the entry named after
the risk profile; ``--set key=value`` overrides (dotted keys reach into ``env`` and
``policy_kwargs``); explicit command-line options (``--timesteps``, ``--seed``, ...).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.utils import LinearSchedule

import configs
from agents.sb3 import ALGOS
from envs import PROFILE_NAMES, PortfolioEnv

VEC_ENVS = ("batched", "dummy", "subproc")
SELECTION_METRICS = ("sharpe", "sortino", "calmar", "total_return", "cagr")
"""Validation metrics a model may be selected on (higher is better for each)."""
ACTIVATIONS = {
    "tanh": torch.nn.Tanh,
    "relu": torch.nn.ReLU,
    "elu": torch.nn.ELU,
    "leaky_relu": torch.nn.LeakyReLU,
}


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on; saved as ``config.yaml`` in its run folder."""

    algo: str
    """Algorithm: ppo, sac, a2c or td3."""
    profile: str = "moderate"
    """Risk profile: sets the reward's drawdown tolerance and the baseline compared on validation."""
    market: str = "synthetic"
    """``synthetic``, or a path to a folder of per-asset CSVs or to a table of closes."""
    market_seed: int = 0
    """Seed of the synthetic market (ignored for real data)."""
    assets: tuple[str, ...] | None = None
    """Risky assets to use; None: all in the data (the moderate profile's on synthetic)."""
    ffill_limit: int = 0
    """Gap policy of the data loaders: longest gap filled, in bars (0: gaps are errors)."""
    cash: str | None = None
    """Cash asset; None: USDT for real data, USDC on synthetic."""
    cash_prices: str | None = None
    """Per-asset file of the cash asset's own prices (e.g. USDC with its depegs); None: priced 1.0."""
    start: str | None = None
    """First date of the data loaded (real data); None: the earliest."""
    end: str | None = None
    """Last date of the data loaded, inclusive (real data); None: the latest."""
    splits: dict[str, tuple[str, str]] | None = None
    """Inclusive date ranges of train, validation and test; None: 70/15/15% of the bars."""
    seed: int = 0
    """Seed of everything random in the run: Python, NumPy, torch, the envs and their starts."""
    n_timesteps: int = 100_000
    """Environment steps to train for, over all parallel envs."""
    n_envs: int = 8
    """Parallel training envs."""
    bootstrap_block: int = 0
    """Train on a block-bootstrap resample of the train split, blocks of this many bars (0: the data)."""
    bootstrap_bars: int = 20_000
    """Length of that resample, in bars."""
    vec_env: str = "batched"
    """``batched`` (all envs stepped in one vectorized call), ``dummy`` (one process) or ``subproc``."""
    normalize: bool = True
    """Normalize observations with running statistics (VecNormalize), frozen at evaluation."""
    env: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of PortfolioEnv (fee, window, episode_length, drawdown_penalty, ...)."""
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
    """Keyword arguments of the stable-baselines3 algorithm."""

    def __post_init__(self) -> None:
        if self.algo not in ALGOS:
            raise ValueError(f"unknown algo {self.algo!r}; choose from {', '.join(ALGOS)}")
        if self.profile not in PROFILE_NAMES:
            raise ValueError(f"unknown profile {self.profile!r}; choose from {', '.join(PROFILE_NAMES)}")
        if self.selection_metric not in SELECTION_METRICS:
            raise ValueError(f"selection_metric must be one of {', '.join(SELECTION_METRICS)}")
        if self.vec_env not in VEC_ENVS:
            raise ValueError(f"vec_env must be one of {', '.join(VEC_ENVS)}, got {self.vec_env!r}")
        for name in ("n_timesteps", "n_envs", "eval_freq", "checkpoint_freq", "torch_threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.bootstrap_block < 0:
            raise ValueError(
                f"bootstrap_block must be 0 (off) or a number of bars, got {self.bootstrap_block}"
            )
        env_options = set(inspect.signature(PortfolioEnv).parameters) - {
            "market",
            "split",
            "splits",
            "profile",
        }
        unknown_env = set(self.env) - env_options
        if unknown_env:
            raise ValueError(f"PortfolioEnv has no option {', '.join(sorted(unknown_env))} (env.*)")
        accepted = set(inspect.signature(ALGOS[self.algo]).parameters) | {"noise_type", "noise_std"}
        unknown = set(self.hyperparams) - accepted - {"policy", "env"}
        if unknown:
            raise ValueError(
                f"{ALGOS[self.algo].__name__} has no hyperparameter {', '.join(sorted(unknown))}"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain data (lists for tuples), for YAML."""
        data = dataclasses.asdict(self)
        data["assets"] = list(self.assets) if self.assets else None
        data["splits"] = {k: list(v) for k, v in self.splits.items()} if self.splits else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`."""
        values = dict(data)
        values["assets"] = tuple(values["assets"]) if values.get("assets") else None
        values["splits"] = (
            {k: tuple(v) for k, v in values["splits"].items()} if values.get("splits") else None
        )
        return cls(**values)


RUN_FIELDS = {f.name for f in dataclasses.fields(TrainConfig)} - {"algo", "profile", "hyperparams"}


def resolve_config(
    algo: str,
    profile: str = "moderate",
    *,
    hyperparams_file: str | Path | None = None,
    overrides: Sequence[str] = (),
    **explicit: Any,
) -> TrainConfig:
    """The config of a run: YAML ``default`` < profile entry < ``overrides`` < ``explicit`` values.

    :param hyperparams_file: a YAML file in the layout of ``configs/<algo>.yaml`` (default: that file).
    :param overrides: ``key=value`` strings; values are read as YAML (``3e-4`` as a number).
    :param explicit: run fields set by command-line options; None values are ignored.
    """
    if algo not in ALGOS:
        raise ValueError(f"unknown algo {algo!r}; choose from {', '.join(ALGOS)}")
    if hyperparams_file is None:
        document = configs.read(algo)
        source = f"configs/{algo}.yaml"
    else:
        source = str(hyperparams_file)
        with open(hyperparams_file) as f:
            document = yaml.safe_load(f) or {}
    if "default" not in document:
        raise ValueError(f"{source}: no `default` entry")
    merged = _merge(document["default"], document.get(profile) or {})
    for override in overrides:
        key, sep, value = override.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"override {override!r} must be key=value")
        merged = _merge(merged, _nested(key.strip().split("."), parse_value(value.strip())))
    run = {k: v for k, v in merged.items() if k in RUN_FIELDS}
    hyperparams = {k: v for k, v in merged.items() if k not in RUN_FIELDS}
    run.update({k: v for k, v in explicit.items() if v is not None})
    try:
        return TrainConfig(algo=algo, profile=profile, hyperparams=hyperparams, **run)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{source}: {error}") from None


def parse_value(text: str) -> Any:
    """A command-line value: a number (``3e-4`` too), ``true``/``false``, ``null``, or YAML (lists)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return yaml.safe_load(text)


def algo_kwargs(config: TrainConfig, n_actions: int) -> dict[str, Any]:
    """Keyword arguments for the SB3 class: schedules, activations and action noise built here."""
    kwargs = dict(config.hyperparams)
    for key in ("learning_rate", "clip_range"):
        value = kwargs.get(key)
        if isinstance(value, str) and value.startswith("lin_"):
            kwargs[key] = LinearSchedule(float(value[4:]), 0.0, 1.0)
    policy_kwargs = dict(kwargs.pop("policy_kwargs", None) or {})
    if isinstance(policy_kwargs.get("activation_fn"), str):
        name = policy_kwargs["activation_fn"]
        if name not in ACTIVATIONS:
            raise ValueError(f"unknown activation_fn {name!r}; choose from {', '.join(ACTIVATIONS)}")
        policy_kwargs["activation_fn"] = ACTIVATIONS[name]
    if policy_kwargs:
        kwargs["policy_kwargs"] = policy_kwargs
    noise_type, noise_std = kwargs.pop("noise_type", None), kwargs.pop("noise_std", 0.1)
    if noise_type == "normal":
        kwargs["action_noise"] = NormalActionNoise(np.zeros(n_actions), float(noise_std) * np.ones(n_actions))
    elif noise_type is not None:
        raise ValueError(f"unknown noise_type {noise_type!r}; use normal")
    return kwargs


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
