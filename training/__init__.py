"""Training of stable-baselines3 agents (and the project's own learners) from config files, with
validation-based model selection.

    from cryptofolio.training import RunFolder, resolve_config
    from cryptofolio.training.train import train

    config = resolve_config("ppo", "moderate", overrides=["n_timesteps=20000"])
    outcome = train(config, RunFolder.create("checkpoints", config))

The names below load their modules on first use (they import torch). ``train`` is not among them:
the package's attribute of that name is its module, :mod:`cryptofolio.training.train`.
"""

from importlib import import_module
from typing import Any

_MODULES = {
    "Outcome": "train",
    "RunFolder": "run_folder",
    "TrainConfig": "config",
    "resolve_config": "config",
}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return getattr(import_module(f"cryptofolio.training.{_MODULES[name]}"), name)
    raise AttributeError(f"module 'cryptofolio.training' has no attribute {name!r}")


__all__ = ["Outcome", "RunFolder", "TrainConfig", "resolve_config"]
