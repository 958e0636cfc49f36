"""Wall time of the results study's training with 1 and with 2 workers, measured in one run.

    .venv/bin/python benchmarks/study_workers.py                  # moderate, PPO, seeds 0-1, two folds
    .venv/bin/python benchmarks/study_workers.py --seeds 0-3 --algos ppo,direct
    .venv/bin/python benchmarks/study_workers.py --market synthetic --seeds 0 \
        --test-span 2024-01-01:2024-06-30                       # the smallest: one unit

Each measurement is a fresh study (its own SQLite storage and run folders in a temporary
folder) of the same units at the study's budgets, trained by ``run_workers`` as
``cryptofolio study --workers N`` does, each of N workers with its share of the cores' threads (the
report step is not timed). ``--market`` defaults to ../shared/data/binance-daily.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import optuna

from cryptofolio.training.engine import run_workers
from cryptofolio.training.optuna_studies import parse_seeds, storage_url
from cryptofolio.training.study import StudyPlan, open_units

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "binance-daily"


def measure(study: StudyPlan, workers: int, folder: Path) -> float:
    url = storage_url(f"sqlite:///{folder / 'optuna.db'}")
    open_units("bench", url, study)
    start = time.perf_counter()
    run_workers("bench", url, study.units, folder / "runs", workers, (), progress=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--market", default=str(SHARED), help="daily CSVs, or synthetic (../shared/data)")
    parser.add_argument("--algos", default="ppo", help="comma-separated learners (ppo)")
    parser.add_argument("--seeds", default="0-1", help="seeds (0-1)")
    parser.add_argument("--test-span", default="2023-07-01:2024-06-30", help="START:END (two folds)")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    start, end = args.test_span.split(":")
    study = StudyPlan.on_market(
        args.market, ["moderate"], args.algos.split(","), parse_seeds(args.seeds), (start, end)
    )
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; {len(study.units)} units")
    times = {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as folder:
            times[workers] = measure(study, workers, Path(folder))
        print(f"{workers} worker(s): {times[workers]:8.1f} s")
    print(f"speed-up with 2 workers: {times[1] / times[2]:.2f}x")


if __name__ == "__main__":
    main()
