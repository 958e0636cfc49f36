"""Walk-forward (``cryptofolio walkforward``): train, select and test on rolling folds, then aggregate
the test folds; a plan of units fed to the experiment engine.

Fold k trains on ``train-days`` of bars, selects on the next ``val-days`` and tests on the
``test-days`` after them (:func:`~cryptofolio.training.folds.rolling_folds`); the next fold starts
``step-days`` later (default: the test length, so the test folds tile the period). Each unit (fold,
seed) trains into ``<checkpoints>/fold<k>/<algo>-s<seed>/`` by the engine's rule (complete: kept;
cut short: resumed). Each fold is evaluated like ``cryptofolio evaluate`` (agents against their
profile baseline, equal weight and BTC). The test folds are then chained, each starting from 1 and
fresh cash, into one out-of-sample path per policy (per seed for agents), whose metrics the report
gives with the per-fold ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from cryptofolio.envs import MarketConfig, MarketData
from cryptofolio.evaluation import metrics
from cryptofolio.evaluation.evaluate import evaluate
from cryptofolio.evaluation.rendering import Section, render_html, render_markdown
from cryptofolio.evaluation.results import Evaluation
from cryptofolio.evaluation.statistics import seed_interval
from cryptofolio.evaluation.tables import formatted, with_intervals
from cryptofolio.training.engine import Unit, check_units, train_units
from cryptofolio.training.folds import Fold, chains

CONTEXT_BASELINES = ("equal_weight", "btc_only")


@dataclass(frozen=True)
class WalkForwardPlan:
    """What a walk-forward trains: one learner's seeds on every fold of one market."""

    algo: str
    """The learner, with its configs/<algo>.yaml defaults."""
    profile: str
    """The risk profile."""
    market: MarketConfig
    """The market (its splits: each fold's)."""
    folds: tuple[Fold, ...]
    """The rolling folds, in time order."""
    seeds: tuple[int, ...]
    """The seeds trained on every fold."""
    timesteps: int
    """Training steps per fold and seed."""
    overrides: tuple[str, ...] = ()
    """``key=value`` settings over the learner's config (``--set``, the cost options)."""

    @property
    def units(self) -> list[Unit]:
        """Every fold's seeds, fold by fold in time order."""
        units = []
        for fold in self.folds:
            train, test = " to ".join(fold.dates.train), " to ".join(fold.test)
            for seed in self.seeds:
                units.append(
                    Unit(
                        key=f"fold{fold.index}/{self.algo}-s{seed}",
                        algo=self.algo,
                        profile=self.profile,
                        seed=seed,
                        market=replace(self.market, splits=fold.dates),
                        timesteps=self.timesteps,
                        overrides=self.overrides,
                        note=f"fold {fold.index + 1}/{len(self.folds)} (train {train}, test {test})",
                    )
                )
        return units


def walk_forward(
    plan: WalkForwardPlan, checkpoints: Path, progress_bar: bool = False, command: Sequence[str] = ()
) -> list[Evaluation]:
    """Train every unit of ``plan`` (after checking every fold's market loads) and evaluate each fold's
    test split; the per-fold evaluations. Every policy of a fold's test pays the runs' costs."""
    units = plan.units
    check_units(units)
    train_units(units, checkpoints, command=command, progress_bar=progress_bar)
    costs = units[0].config().env.costs
    evaluations = []
    for fold in plan.folds:
        market, splits = replace(plan.market, splits=fold.dates).load()
        runs = [checkpoints / unit.key for unit in units if unit.market.splits == fold.dates]
        baselines = [plan.profile, *CONTEXT_BASELINES]
        evaluations.append(evaluate(runs, baselines, market, splits, "test", costs))
    return evaluations


def summarize_folds(
    market: MarketData, folds: Sequence[Fold], evaluations: Sequence[Evaluation], profile: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-fold table, chained table): Sharpe and return per fold; every metric of the chained paths."""
    per_fold = []
    for fold, evaluation in zip(folds, evaluations, strict=True):
        test = fold.test
        row = {"fold": fold.index + 1, "test": f"{test[0]} to {test[1]}"}
        for group in evaluation.groups:
            row[f"{group.name} sharpe (mean of seeds)"] = evaluation.metrics.loc[group.runs, "sharpe"].mean()
            row[f"{group.name} return (mean of seeds)"] = evaluation.metrics.loc[
                group.runs, "total_return"
            ].mean()
        for name in (profile, *CONTEXT_BASELINES):
            row[f"{name} sharpe"] = evaluation.metrics.loc[name, "sharpe"]
            row[f"{name} return"] = evaluation.metrics.loc[name, "total_return"]
        per_fold.append(row)
    ppy = market.periods_per_year
    paths = chains(evaluations)
    rows = {}
    for name in (profile, *CONTEXT_BASELINES):
        rows[name] = _chained_metrics(paths[name][0], ppy)
    for group in evaluations[0].groups:
        per_seed = [_chained_metrics(path, ppy) for path in paths[group.name]]
        for metric in per_seed[0]:
            interval = seed_interval(np.array([p[metric] for p in per_seed]))
            rows.setdefault(group.name, {})[metric] = interval.estimate
            rows[group.name][f"{metric}_low"], rows[group.name][f"{metric}_high"] = (
                interval.low,
                interval.high,
            )
    return pd.DataFrame(per_fold).set_index("fold"), pd.DataFrame(rows).T


def _chained_metrics(values: np.ndarray, ppy: float) -> dict[str, float]:
    return {
        "total_return": metrics.total_return(values),
        "cagr": metrics.cagr(values, ppy),
        "sharpe": metrics.sharpe_ratio(values, ppy),
        "max_drawdown": metrics.max_drawdown(values),
    }


def write_walkforward_report(
    market: MarketData,
    folds: Sequence[Fold],
    evaluations: Sequence[Evaluation],
    profile: str,
    out: Path,
    command: str,
) -> Path:
    """report.md and report.html of the walk-forward, with its tables as CSV."""
    out.mkdir(parents=True, exist_ok=True)
    per_fold, chain = summarize_folds(market, folds, evaluations, profile)
    per_fold.to_csv(out / "folds.csv")
    chain.to_csv(out / "chained.csv", index_label="policy")
    fold_claims = [
        f"Fold {f.index + 1}: {claim}" for f, e in zip(folds, evaluations, strict=True) for claim in e.claims
    ]
    sections = [
        Section(
            "Summary",
            [
                f"{len(folds)} folds on {market.source}; each trains, selects on validation, and is tested "
                "on the following bars. Chained: the test folds joined into one out-of-sample path per "
                "policy (agents: mean over seeds, 95% interval over seeds in brackets).",
                formatted(with_intervals(chain, chain.columns)),
            ],
        ),
        Section(
            "Test folds",
            ["Sharpe ratio and total return on each fold's test split.", formatted(per_fold), *fold_claims],
        ),
        Section("How this was made", [f"Command: `{command}`", "Numbers: folds.csv, chained.csv."]),
    ]
    (out / "report.md").write_text(render_markdown(f"Walk-forward: {profile} on {market.source}", sections))
    (out / "report.html").write_text(
        render_html(f"Walk-forward: {profile} on {market.source}", sections, out)
    )
    return out / "report.html"
