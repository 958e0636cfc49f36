"""What each learner's training budget buys on validation, from the results study's own units.

    .venv/bin/python benchmarks/study_budgets.py        # moderate, PPO and SAC, seeds 0-1, six folds
    .venv/bin/python benchmarks/study_budgets.py --root checkpoints/budgets --algos sac --seeds 0-4

Trains the units of a study (as ``cryptofolio study --workers N`` does, at the budgets of
configs/<algo>.yaml rather than the study's, into ``--root``; complete units there are kept)
and reads each run's validation history (``evaluations.csv``). Learning rates are constant, so
a run stopped at ``B`` steps would have had the same history up to ``B``: for each budget ``B``
among the evaluation steps, it prints the mean over units of the validation Sharpe of the model
validation would have selected by ``B`` (the best evaluation up to ``B``), its excess over the
profile rule, the share of units where that is the untrained policy, and the mean validation
Sharpe of the model at ``B`` itself. Only validation is read: a budget is a choice, and the test
windows stay unread. Needs ../shared/data.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import optuna
import pandas as pd

from cryptofolio.training.engine import run_workers
from cryptofolio.training.optuna_studies import parse_seeds, storage_url
from cryptofolio.training.study import TEST_SPAN, StudyPlan, open_units

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "binance-daily"


def budget_table(histories: list[pd.DataFrame]) -> pd.DataFrame:
    """Per budget (an evaluation step every history reached): the selection's and the last model's scores.

    :param histories: each run's ``evaluations.csv`` (columns timesteps, sharpe, excess_sharpe).
    """
    steps = sorted(set.intersection(*(set(history["timesteps"]) for history in histories)))
    rows = []
    for budget in steps:
        selected, last = [], []
        for history in histories:
            seen = history[history["timesteps"] <= budget]
            selected.append(seen.loc[seen["sharpe"].idxmax()])
            last.append(seen.iloc[-1])
        chosen = pd.DataFrame(selected)
        rows.append(
            {
                "budget": budget,
                "selected sharpe": chosen["sharpe"].mean(),
                "selected excess": chosen["excess_sharpe"].mean(),
                "untrained kept": (chosen["timesteps"] == 0).mean(),
                "last sharpe": pd.DataFrame(last)["sharpe"].mean(),
            }
        )
    return pd.DataFrame(rows).set_index("budget")


def unit_seconds(run: Path) -> float:
    """The run's wall time (seconds): from its config's writing to its last evaluation's."""
    return (run / "evaluations.csv").stat().st_mtime - (run / "config.yaml").stat().st_mtime


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profiles", default="moderate", help="comma-separated profiles (moderate)")
    parser.add_argument("--algos", default="ppo,sac", help="comma-separated learners (ppo,sac)")
    parser.add_argument("--seeds", default="0-1", help="seeds (0-1)")
    parser.add_argument("--test-span", default=":".join(TEST_SPAN), help="START:END (the study's six folds)")
    parser.add_argument("--root", type=Path, default=Path("checkpoints/budgets"), help="run folders")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    start, end = args.test_span.split(":")
    profiles, algos, seeds = args.profiles.split(","), args.algos.split(","), parse_seeds(args.seeds)
    plan = StudyPlan.on_market(str(SHARED), profiles, algos, seeds, (start, end), budgets={})
    args.root.mkdir(parents=True, exist_ok=True)
    url = storage_url(f"sqlite:///{args.root / 'optuna.db'}")
    open_units("budgets", url, plan)
    started = time.perf_counter()
    run_workers("budgets", url, plan.units, args.root, args.workers, (), progress=False)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; {len(plan.units)} units")
    print(f"trained in {time.perf_counter() - started:.0f} s with {args.workers} worker(s)\n")
    pd.set_option("display.width", 120)
    for algo in plan.algos:
        runs = [args.root / unit.key for unit in plan.units if unit.algo == algo]
        seconds = [unit_seconds(run) for run in runs]
        print(f"{algo}: {len(runs)} units, {sum(seconds) / len(seconds):.1f} s a unit of training")
        print(budget_table([pd.read_csv(run / "evaluations.csv") for run in runs]).round(3).to_string(), "\n")


if __name__ == "__main__":
    main()
