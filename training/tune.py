"""Hyperparameter search with Optuna, scored on the validation split only (``cryptofolio tune``).

Each trial samples the settings of a search space (``configs/search.yaml``), trains a normal
run folder and is scored by the model selected on validation; the test split is never read.
:func:`export_best` writes the best trial's settings as a hyperparameter file that
``cryptofolio train --hyperparams`` takes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import optuna
import yaml

from cryptofolio import configs
from cryptofolio.envs.config import to_data
from cryptofolio.training.config import TrainConfig
from cryptofolio.training.run_folder import RunFolder, write_text


def read_space(algo: str, path: Path | None = None) -> dict[str, dict[str, Any]]:
    """The search space of ``algo``: from ``path`` (the layout of configs/search.yaml) or the project's."""
    if path is None:
        document = configs.read("search")
        source = "configs/search.yaml"
    else:
        source = str(path)
        with path.open() as f:
            document = yaml.safe_load(f) or {}
    if algo not in document:
        raise ValueError(f"{source}: no search space for {algo}")
    space: dict[str, dict[str, Any]] = document[algo]
    for key, spec in space.items():
        if not isinstance(spec, dict) or not ("choices" in spec or {"low", "high"} <= set(spec)):
            raise ValueError(f"{source}: {algo}.{key} needs choices, or low and high")
    return space


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
        raise ValueError(f"study {study.study_name} has no complete trial to export yet") from None
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
