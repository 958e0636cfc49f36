"""Hyperparameter search with Optuna, scored on the validation split only (``cryptofolio tune``).

Each trial samples the settings of a search space (``configs/search.yaml``), trains a normal
run folder and is scored by the model selected on validation; the test split is never read.
:func:`export_best` writes the best trial's settings as a hyperparameter file that
``cryptofolio train --hyperparams`` takes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import optuna
import yaml

from cryptofolio import configs
from cryptofolio.envs.config import to_data
from cryptofolio.envs.errors import ConfigError, StorageError
from cryptofolio.training.config import TrainConfig, read_yaml
from cryptofolio.training.run_folder import RunFolder, write_text


def read_space(algo: str, path: Path | None = None) -> dict[str, dict[str, Any]]:
    """The search space of ``algo``: from ``path`` (the layout of configs/search.yaml) or the project's.

    :raises ConfigError: naming the file and the setting whose range or choices cannot be searched.
    """
    if path is None:
        document, source = configs.read("search"), "configs/search.yaml"
    else:
        document, source = read_yaml(path), str(path)
    space = document.get(algo)
    if not isinstance(space, dict) or not space:
        raise ConfigError(f"{source}: no search space for {algo}")
    for key, spec in space.items():
        problem = _range_problem(spec)
        if problem:
            raise ConfigError(f"{source}: {algo}.{key}: {problem}")
    return space


def _range_problem(spec: Any) -> str | None:
    """What makes one setting's search range unusable, or None."""
    if not isinstance(spec, dict):
        return "expected {choices: [...]} or {low: ..., high: ..., log: ...}"
    if "choices" in spec:
        unknown = set(spec) - {"choices"}
        choices = spec["choices"]
        if unknown:
            return f"choices take no {', '.join(sorted(unknown))}"
        if not isinstance(choices, list | dict) or not choices:
            return "choices must be a non-empty list, or a mapping of labels to values"
        return None
    unknown = set(spec) - {"low", "high", "log"}
    if unknown or not {"low", "high"} <= set(spec):
        return "expected choices, or low and high (and log)"
    low, high, log = spec["low"], spec["high"], spec.get("log", False)
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high))
    if not numbers or not all(math.isfinite(v) for v in (low, high)):
        return f"low and high must be finite numbers, got {low!r} and {high!r}"
    if low > high:
        return f"low {low} is above high {high}"
    if not isinstance(log, bool):
        return f"log must be true or false, got {log!r}"
    if log and low <= 0:
        return f"a log range needs low > 0, got {low}"
    return None


def space_values(space: dict[str, dict[str, Any]]) -> dict[str, list[Any]]:
    """The values a search may try at the edges of each setting: its bounds, or each choice."""
    values = {}
    for key, spec in space.items():
        choices = spec.get("choices")
        if choices is None:
            values[key] = [spec["low"], spec["high"]]
        else:
            values[key] = list(choices.values()) if isinstance(choices, dict) else list(choices)
    return values


def sample_settings(trial: optuna.Trial, space: dict[str, dict[str, Any]]) -> list[str]:
    """``key=value`` overrides drawn for ``trial`` from ``space``."""
    overrides = []
    for key, spec in space.items():
        value: Any
        if "choices" in spec:
            choices = spec["choices"]
            if isinstance(choices, dict):
                value = choices[trial.suggest_categorical(key, list(choices))]
            else:
                value = trial.suggest_categorical(key, choices)
        elif isinstance(spec["low"], int) and isinstance(spec["high"], int):
            value = trial.suggest_int(key, spec["low"], spec["high"], log=spec.get("log", False))
        else:
            value = trial.suggest_float(
                key, float(spec["low"]), float(spec["high"]), log=spec.get("log", False)
            )
        overrides.append(f"{key}={json.dumps(value)}")
    return overrides


def hyperparameter_file(config: TrainConfig) -> dict[str, Any]:
    """A run's settings in the layout of configs/<algo>.yaml: one ``default`` entry, the data left out."""
    data = to_data(config)
    settings = {
        k: v for k, v in data.items() if k not in ("market", "seed", "algo", "profile", "hyperparams")
    }
    return {"default": {**settings, **data["hyperparams"]}}


def export_best(study: optuna.Study, path: Path) -> Path:
    """Write the best complete trial's config as a hyperparameter file; return its path."""
    try:
        best = study.best_trial  # complete trials only: surplus ones are pruned
    except ValueError:
        raise StorageError(f"study {study.study_name} has no complete trial to export yet") from None
    config = RunFolder(best.user_attrs["run"]).read_config()
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f"# Best trial {best.number} of study {study.study_name}: validation "
        f"{config.selection_metric} {best.value:.4f}.\n# Use: cryptofolio train --hyperparams {path}\n"
    )
    write_text(
        path, header + yaml.safe_dump(hyperparameter_file(config), sort_keys=False)
    )  # workers may race
    return path
