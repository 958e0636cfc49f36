"""Hyperparameters of every algorithm (SB3's, the gradient agent): checked, then built into arguments.

A hyperparameter file or ``--set`` gives plain values (numbers, strings, lists). :func:`check_hyperparameters`
refuses a value of the wrong kind or range before anything is built, naming the setting and
what it accepts; :func:`algo_kwargs` turns the checked values into the constructor's keyword
arguments ("lin_<x>" schedules, activation functions, action noise).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.utils import LinearSchedule

from cryptofolio.envs.errors import ConfigError

ACTIVATIONS = {
    "tanh": torch.nn.Tanh,
    "relu": torch.nn.ReLU,
    "elu": torch.nn.ELU,
    "leaky_relu": torch.nn.LeakyReLU,
}
MAX_WIDTH, MAX_LAYERS = 4_096, 16
"""The largest layer and the most layers a network setting may ask for (what a typo could allocate)."""
SET_BY_THE_PROJECT = (
    "policy",
    "env",
    "seed",
    "device",
    "verbose",
    "tensorboard_log",
    "_init_setup_model",
    "action_noise",
    "rollout_buffer_class",
    "rollout_buffer_kwargs",
    "replay_buffer_class",
    "replay_buffer_kwargs",
    "spaces",
)
"""Constructor arguments the trainer sets itself (action noise comes from ``noise_type``)."""
EXTRA = {"noise_type", "noise_std"}
"""Hyperparameters of the project's own, turned into constructor arguments by :func:`algo_kwargs`."""

Check = Callable[[Any], str | None]
"""A check of one value: None when it is accepted, else what is accepted."""


def _number(low: float, high: float = math.inf, *, open_low: bool = False, schedule: bool = False) -> Check:
    bound = f"({low}" if open_low else f"[{low}"

    def check(value: Any) -> str | None:
        if schedule and isinstance(value, str) and value.startswith("lin_"):
            value = _float(value[4:])
        number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
        ok = number is not None and math.isfinite(number)
        ok = ok and (number > low if open_low else number >= low) and number <= high  # type: ignore[operator]
        return None if ok else f"a number in {bound}, {high}]" + (" or lin_<number>" if schedule else "")

    return check


def _whole(low: int, *also: int, high: int | None = None) -> Check:
    """A whole number from ``low`` (or one of ``also``) to ``high``: a bound on what it allocates."""

    def check(value: Any) -> str | None:
        ok = isinstance(value, int) and not isinstance(value, bool) and (value >= low or value in also)
        ok = ok and (high is None or value <= high)
        span = f"from {low} to {high:,}" if high is not None else f"of at least {low}"
        return None if ok else f"a whole number {span}" + "".join(f" or {a}" for a in also)

    return check


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def _optional(check: Check) -> Check:
    return lambda value: None if value is None else check(value)


def _auto_or(check: Check) -> Check:
    def either(value: Any) -> str | None:
        if isinstance(value, str) and (
            value == "auto" or (value.startswith("auto_") and _float(value[5:]) > 0)
        ):
            return None
        reason = check(value)
        return None if reason is None else f"auto, auto_<number> or {reason}"

    return either


def _train_freq(value: Any) -> str | None:
    if _whole(1)(value) is None:
        return None
    ok = isinstance(value, list | tuple) and len(value) == 2 and _whole(1)(value[0]) is None
    ok = ok and value[1] in ("step", "episode")
    return None if ok else "a whole number of at least 1, or [n, step|episode]"


def _net_arch(value: Any) -> str | None:
    def layers(sizes: Any) -> bool:
        fits = isinstance(sizes, list) and len(sizes) <= MAX_LAYERS
        return fits and all(_whole(1, high=MAX_WIDTH)(size) is None for size in sizes)

    if layers(value) or (isinstance(value, dict) and value and all(layers(v) for v in value.values())):
        return None
    return (
        "a list of layer sizes such as [64, 64], or {pi: [...], vf: [...]}, "
        f"at most {MAX_LAYERS} layers of at most {MAX_WIDTH:,} units"
    )


POOLS = ("market", "own")
"""The eiie pools named by a word: every asset of the run's market source, or the run's own assets."""


def _pool(value: Any) -> str | None:
    words = isinstance(value, str) and value in POOLS
    symbols = isinstance(value, list) and value and all(isinstance(s, str) and s for s in value)
    return None if words or symbols else "market, own, or a list of symbols such as [BTC, ETH]"


CHECKS: dict[str, Check] = {
    "learning_rate": _number(0.0, open_low=True, schedule=True),
    "clip_range": _number(0.0, open_low=True, schedule=True),
    "clip_range_vf": _optional(_number(0.0, open_low=True, schedule=True)),
    "n_steps": _whole(1, high=1_000_000),
    "batch_size": _whole(2, high=1_000_000),
    "n_epochs": _whole(1, high=1_000),
    "gamma": _number(0.0, 1.0, open_low=True),
    "gae_lambda": _number(0.0, 1.0),
    "tau": _number(0.0, 1.0, open_low=True),
    "ent_coef": _auto_or(_number(0.0)),
    "target_entropy": _auto_or(_number(-math.inf)),
    "vf_coef": _number(0.0),
    "max_grad_norm": _number(0.0, open_low=True),
    "target_kl": _optional(_number(0.0, open_low=True)),
    "buffer_size": _whole(1, high=10_000_000),
    "learning_starts": _whole(0),
    "train_freq": _train_freq,
    "gradient_steps": _whole(1, -1),
    "policy_delay": _whole(1),
    "target_policy_noise": _number(0.0),
    "target_noise_clip": _number(0.0),
    "target_update_interval": _whole(1),
    "rms_prop_eps": _number(0.0, open_low=True),
    "sde_sample_freq": _whole(1, -1),
    "stats_window_size": _whole(1),
    "noise_type": _optional(lambda value: None if value == "normal" else "normal"),
    "noise_std": _number(0.0, open_low=True),
    "pool": _pool,
    "universe": _optional(_whole(1, high=10_000)),
}
"""Each hyperparameter with a range; the others are checked by the kind of their default."""
POLICY_CHECKS: dict[str, Check] = {
    "net_arch": _net_arch,
    "activation_fn": lambda value: None if value in ACTIVATIONS else f"one of {', '.join(ACTIVATIONS)}",
    "log_std_init": _number(-math.inf),
    "ortho_init": _flag,
    "lstm_hidden_size": _whole(1, high=MAX_WIDTH),
    "n_lstm_layers": _whole(1, high=MAX_LAYERS),
    "share_features_extractor": _flag,
    "shared_lstm": _flag,
    "enable_critic_lstm": _flag,
    "n_critics": _whole(1, high=MAX_LAYERS),
}
"""What ``policy_kwargs`` may hold."""


def hyperparameter_names(algo: type[Any]) -> list[str]:
    """The settings a config may give ``algo``, as dotted keys: its constructor's parameters but those
    the trainer sets, the project's own (:data:`EXTRA`), and ``policy_kwargs.<key>`` per policy setting."""
    names = [name for name in inspect.signature(algo).parameters if name not in SET_BY_THE_PROJECT]
    policy = [f"policy_kwargs.{key}" for key in POLICY_CHECKS] if "policy_kwargs" in names else []
    return [name for name in names if name != "policy_kwargs"] + sorted(EXTRA) + policy


def check_hyperparameters(algo: type[Any], hyperparams: Mapping[str, Any]) -> None:
    """Refuse a hyperparameter the algorithm does not have, or a value it cannot take.

    :raises ConfigError: ``<name>=<value>: expected <what is accepted>`` for the first fault.
    """
    parameters = inspect.signature(algo).parameters
    for name, value in hyperparams.items():
        if name in SET_BY_THE_PROJECT:
            raise ConfigError(f"{name} is set by cryptofolio, not as a hyperparameter")
        if name not in parameters and name not in EXTRA:
            raise ConfigError(f"{algo.__name__} has no hyperparameter {name}")
        if name == "policy_kwargs":
            _check_policy_kwargs(value)
            continue
        check = CHECKS.get(name) or _by_default(parameters[name].default)
        reason = check(value)
        if reason is not None:
            raise ConfigError(f"{name}={value!r}: expected {reason}")


def _check_policy_kwargs(value: Any) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f"policy_kwargs={value!r}: expected a mapping such as {{net_arch: [64, 64]}}")
    for name, item in value.items():
        if name not in POLICY_CHECKS:
            raise ConfigError(
                f"policy_kwargs.{name}: not a policy setting; known: {', '.join(POLICY_CHECKS)}"
            )
        reason = POLICY_CHECKS[name](item)
        if reason is not None:
            raise ConfigError(f"policy_kwargs.{name}={item!r}: expected {reason}")


def _by_default(default: Any) -> Check:
    """The check a constructor's default implies: a flag, a whole number, a number, or anything."""
    if isinstance(default, bool):
        return _flag
    if isinstance(default, int):
        return _whole(-(2**63))
    if isinstance(default, float):
        return _number(-math.inf)
    return lambda value: None


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def algo_kwargs(hyperparams: dict[str, Any], n_actions: int) -> dict[str, Any]:
    """Keyword arguments for the SB3 class: schedules, activations and action noise built here."""
    kwargs = dict(hyperparams)
    if isinstance(kwargs.get("train_freq"), list):  # YAML has no tuples; SB3 takes (n, "step")
        kwargs["train_freq"] = tuple(kwargs["train_freq"])
    for key in ("learning_rate", "clip_range", "clip_range_vf"):
        value = kwargs.get(key)
        if isinstance(value, str) and value.startswith("lin_"):
            kwargs[key] = LinearSchedule(float(value[4:]), 0.0, 1.0)
    policy_kwargs = dict(kwargs.pop("policy_kwargs", None) or {})
    if isinstance(policy_kwargs.get("activation_fn"), str):
        policy_kwargs["activation_fn"] = ACTIVATIONS[policy_kwargs["activation_fn"]]
    if policy_kwargs:
        kwargs["policy_kwargs"] = policy_kwargs
    noise_type, noise_std = kwargs.pop("noise_type", None), kwargs.pop("noise_std", 0.1)
    if noise_type == "normal":
        kwargs["action_noise"] = NormalActionNoise(np.zeros(n_actions), float(noise_std) * np.ones(n_actions))
    return kwargs
