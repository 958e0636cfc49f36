"""Wall time per unit of a study that ran, per learner, read from its Optuna storage.

    .venv/bin/python benchmarks/study_unit_times.py --storage sqlite:////tmp/study/h.db

Each unit is one trial of the study's queue: its time is the trial's, from the worker taking it to
its run folder complete (training, validation, saving; a unit found complete already takes about
nothing and is left out below a second). Prints, per learner, the units timed, their median and
mean seconds, and the machine. Units trained by N workers at once share the cores: the figures are
those of the study as it ran, not of one unit alone.
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np
import optuna
from optuna.trial import TrialState

SKIPPED = 1.0
"""Seconds below which a unit was found complete rather than trained."""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--storage", required=True, help="the study's Optuna storage URL")
    parser.add_argument("--study", help="the study's name (default: the storage's only study)")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name = args.study or optuna.get_all_study_names(args.storage)[0]
    study = optuna.load_study(study_name=name, storage=args.storage)
    seconds: dict[str, list[float]] = {}
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        key = trial.user_attrs.get("key")
        if key is None or trial.datetime_start is None or trial.datetime_complete is None:
            continue
        took = (trial.datetime_complete - trial.datetime_start).total_seconds()
        if took >= SKIPPED:
            algo = key.split("/")[2].rsplit("-s", 1)[0]
            seconds.setdefault(algo, []).append(took)
    print(f"study {name}; {os.cpu_count()} cores, {platform.processor() or platform.machine()}")
    print(f"{'learner':<16}{'units':>6}{'median s':>10}{'mean s':>9}")
    for algo, times in seconds.items():
        print(f"{algo:<16}{len(times):>6}{np.median(times):>10.1f}{np.mean(times):>9.1f}")


if __name__ == "__main__":
    main()
