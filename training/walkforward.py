"""`cryptofolio walkforward`: train, select and test on rolling folds, then aggregate the test folds.

    cryptofolio walkforward --algo ppo --profile moderate --market synthetic \\
        --train-days 730 --val-days 180 --test-days 180 --timesteps 50000 --seeds 0,1

Fold k trains on ``train-days`` of bars, selects on the next ``val-days`` and tests on the
``test-days`` after them; the next fold starts ``step-days`` later (default: the test
length, so the test folds tile the period). Each fold is evaluated like ``cryptofolio
evaluate`` (agents against their profile baseline, equal weight and BTC). The test folds are
then chained, each starting from 1 and fresh cash, into one out-of-sample path per policy
(per seed for agents), whose metrics the report gives with the per-fold ones.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from envs import DataError, MarketData, Splits
from envs.market_args import MarketSpec, add_market_arguments, market_from_spec, spec_from_args
from evaluation import metrics
from evaluation.evaluate import Evaluation, evaluate
from evaluation.report import (
    Section,
    formatted,
    label,
    markdown_table,
    render_html,
    render_markdown,
    with_intervals,
)
from evaluation.statistics import returns_of, seed_interval, values_of
from training.config import resolve_config
from training.run_folder import RunFolder
from training.train import train

CONTEXT_BASELINES = ("equal_weight", "btc_only")


@dataclass(frozen=True)
class Fold:
    """Bar ranges of one fold."""

    index: int
    splits: Splits

    def dates(self, market: MarketData) -> dict[str, tuple[str, str]]:
        """Inclusive date ranges of the fold's splits, as a TrainConfig takes them."""
        return {name: (start[:10], end[:10]) for name, (start, end) in self.splits.dates(market).items()}


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
    algo: str,
    profile: str,
    spec: MarketSpec,
    folds: Sequence[Fold],
    timesteps: int,
    seeds: Sequence[int],
    overrides: Sequence[str],
    checkpoints: Path,
    fee: float = 0.001,
    progress_bar: bool = False,
) -> list[Evaluation]:
    """Train every fold and seed, and evaluate each fold's test split; return the per-fold evaluations."""
    market, _ = market_from_spec(**spec)
    evaluations = []
    for fold in folds:
        runs = []
        dates = fold.dates(market)
        for seed in seeds:
            config = resolve_config(
                algo, profile, overrides=overrides, n_timesteps=timesteps, seed=seed, splits=dates, **spec
            )
            train_dates, test_dates = " to ".join(dates["train"]), " to ".join(dates["test"])
            print(f"fold {fold.index + 1}/{len(folds)}, seed {seed}: train {train_dates}, test {test_dates}")
            run = RunFolder.create(checkpoints / f"fold{fold.index}", config)
            train(config, run, progress_bar=progress_bar)
            runs.append(run.path)
        evaluations.append(evaluate(runs, [profile, *CONTEXT_BASELINES], market, fold.splits, "test", fee))
    return evaluations


def summarize_folds(
    market: MarketData, folds: Sequence[Fold], evaluations: Sequence[Evaluation], profile: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-fold table, chained table): Sharpe and return per fold; every metric of the chained paths."""
    per_fold = []
    for fold, evaluation in zip(folds, evaluations, strict=True):
        test = fold.dates(market)["test"]
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


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--algo", required=True, choices=("ppo", "sac", "a2c", "td3"))
    parser.add_argument("--profile", default="moderate", choices=("conservative", "moderate", "aggressive"))
    add_market_arguments(parser)
    for name, default in (("train", 730), ("val", 180), ("test", 180)):
        parser.add_argument(
            f"--{name}-days", type=int, default=default, help=f"days of {name} per fold ({default})"
        )
    parser.add_argument("--step-days", type=int, help="days between folds (default: --test-days)")
    parser.add_argument(
        "--timesteps", type=int, default=20_000, help="training steps per fold and seed (20000)"
    )
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (0)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a training setting"
    )
    parser.add_argument("--fee", type=float, default=0.001, help="fee for the test evaluations (0.001)")
    parser.add_argument("--out", type=Path, default=Path("reports/walkforward"), help="report folder")
    parser.add_argument(
        "--checkpoints", type=Path, default=Path("checkpoints/walkforward"), help="run folders"
    )
    parser.add_argument("--no-progress-bar", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.train or args.val or args.test:
        parser.error("walkforward makes its own splits: use --train-days, --val-days and --test-days")
    spec = spec_from_args(args)
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
        market, _ = market_from_spec(**spec)
        folds = make_folds(market, args.train_days, args.val_days, args.test_days, args.step_days)
        evaluations = walk_forward(
            args.algo,
            args.profile,
            spec,
            folds,
            args.timesteps,
            seeds,
            args.set,
            args.checkpoints,
            args.fee,
            progress_bar=not args.no_progress_bar,
        )
    except (ValueError, KeyError, FileNotFoundError, DataError) as error:
        parser.error(str(error).strip("'\""))
    command = " ".join([prog or "python -m training.walkforward", *(sys.argv[1:] if argv is None else argv)])
    report = write_walkforward_report(market, folds, evaluations, args.profile, args.out, command)
    _, chain = summarize_folds(market, folds, evaluations, args.profile)
    print(
        markdown_table(
            formatted(chain[["total_return", "cagr", "sharpe", "max_drawdown"]].rename(index=label))
        )
    )
    print(f"report: {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
