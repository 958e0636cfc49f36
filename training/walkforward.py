"""Walk-forward: train, select and test on rolling folds, then aggregate the test folds.

Fold k trains on ``train-days`` of bars, selects on the next ``val-days`` and tests on the
``test-days`` after them; the next fold starts ``step-days`` later (default: the test
length, so the test folds tile the period). Each fold is evaluated like ``cryptofolio
evaluate`` (agents against their profile baseline, equal weight and BTC). The test folds are
then chained, each starting from 1 and fresh cash, into one out-of-sample path per policy
(per seed for agents), whose metrics the report gives with the per-fold ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from cryptofolio.envs import MarketData, SplitDates, Splits
from cryptofolio.evaluation import metrics
from cryptofolio.evaluation.evaluate import evaluate
from cryptofolio.evaluation.report import (
    Section,
    formatted,
    render_html,
    render_markdown,
    with_intervals,
)
from cryptofolio.evaluation.results import Evaluation
from cryptofolio.evaluation.statistics import returns_of, seed_interval, values_of
from cryptofolio.training.config import TrainConfig
from cryptofolio.training.run_folder import RunFolder
from cryptofolio.training.train import train

CONTEXT_BASELINES = ("equal_weight", "btc_only")


@dataclass(frozen=True)
class Fold:
    """Bar ranges of one fold."""

    index: int
    splits: Splits

    def dates(self, market: MarketData) -> SplitDates:
        """Inclusive dates of the fold's splits, as a market config takes them."""
        dates = {name: span for name, span in self.splits.dates(market).items() if span is not None}
        return SplitDates(**{name: (start[:10], end[:10]) for name, (start, end) in dates.items()})


def make_folds(
    market: MarketData, train_days: int, val_days: int, test_days: int, step_days: int | None = None
) -> list[Fold]:
    """Rolling folds over the whole market, in time order."""
    per_day = pd.Timedelta(days=1) / market.freq
    train, val, test = (max(2, round(d * per_day)) for d in (train_days, val_days, test_days))
    step = max(1, round((step_days or test_days) * per_day))
    folds: list[Fold] = []
    start = 0
    while start + train + val + test <= market.n_bars:
        t, v = start + train, start + train + val
        folds.append(Fold(len(folds), Splits(range(start, t), range(t, v), range(v, v + test))))
        start += step
    if not folds:
        raise ValueError(
            f"{market.n_bars} bars of {market.source} hold no fold of {train_days} + {val_days} + "
            f"{test_days} days"
        )
    return folds


def chained(evaluations: Sequence[Evaluation], name_of: dict[int, str]) -> np.ndarray:
    """(n+1,) value path of one policy across the test folds; ``name_of`` maps fold index to its result."""
    returns = [returns_of(e.results[name_of[i]].values) for i, e in enumerate(evaluations)]
    return values_of(np.concatenate(returns))


def walk_forward(
    config: TrainConfig,
    folds: Sequence[Fold],
    seeds: Sequence[int],
    checkpoints: Path,
    progress_bar: bool = False,
    command: Sequence[str] = (),
) -> list[Evaluation]:
    """Train ``config`` on every fold and seed, and evaluate each fold's test split; the per-fold evaluations.

    Each run is ``config`` with the fold's split dates and the seed; every policy of a fold's
    test pays ``config``'s costs.
    """
    market, _ = replace(config.market, splits=None).load()
    evaluations = []
    for fold in folds:
        runs = []
        dates = fold.dates(market)
        for seed in seeds:
            run_config = replace(config, seed=seed, market=replace(config.market, splits=dates))
            train_dates, test_dates = " to ".join(dates.train), " to ".join(dates.test or ())
            print(f"fold {fold.index + 1}/{len(folds)}, seed {seed}: train {train_dates}, test {test_dates}")
            run = RunFolder.create(checkpoints / f"fold{fold.index}", run_config)
            train(run_config, run, progress_bar=progress_bar, command=command)
            runs.append(run.path)
        baselines = [config.profile, *CONTEXT_BASELINES]
        evaluations.append(evaluate(runs, baselines, market, fold.splits, "test", config.env.costs))
    return evaluations


def summarize_folds(
    market: MarketData, folds: Sequence[Fold], evaluations: Sequence[Evaluation], profile: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-fold table, chained table): Sharpe and return per fold; every metric of the chained paths."""
    per_fold = []
    for fold, evaluation in zip(folds, evaluations, strict=True):
        test = fold.dates(market).test or ("", "")
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
    rows = {}
    for name in (profile, *CONTEXT_BASELINES):
        rows[name] = _chained_metrics(chained(evaluations, dict.fromkeys(range(len(folds)), name)), ppy)
    for g, group in enumerate(evaluations[0].groups):
        per_seed = [
            _chained_metrics(
                chained(evaluations, {i: e.groups[g].runs[s] for i, e in enumerate(evaluations)}), ppy
            )
            for s in range(len(group.runs))
        ]
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
