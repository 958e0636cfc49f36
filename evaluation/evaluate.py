"""`cryptofolio evaluate`: trained agents against the baselines, with honest statistics and a report.

    cryptofolio evaluate --runs "checkpoints/ppo-moderate-*" "checkpoints/sac-moderate-*" \\
        --baselines all --split test --out reports/moderate

Every run (its best model on validation) and every baseline goes through the same backtest
runner on the same split, fees and start. Runs of the same algorithm and profile are a
group: its metrics get a mean and a 95% bootstrap interval over seeds. Each group is
compared with its profile's baseline over the same bars, with paired block-bootstrap
intervals of the differences. A split a run was trained or selected on is refused.
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agents import BASELINES, make_baseline
from agents.reference import GrowthOptimal
from agents.sb3 import STATE, load_policy, read_run_config, read_run_metadata, run_env, snapshot_folder
from envs import SPLIT_NAMES, DataError, MarketData, PortfolioEnv, Splits
from envs.market_args import SPEC_FIELDS, add_market_arguments, market_from_args, market_from_spec, spec_of
from evaluation import metrics
from evaluation.backtest import BacktestResult, metrics_table, run_backtest
from evaluation.diagnostics import diversification
from evaluation.statistics import (
    Interval,
    deflated_sharpe_ratio,
    paired_interval,
    per_bar_sharpe,
    probabilistic_sharpe_ratio,
    returns_of,
    seed_interval,
    values_of,
)

GROUP_METRICS = ("total_return", "cagr", "sharpe", "sortino", "max_drawdown", "turnover", "fees")
CLAIMED_DRAWDOWN_REDUCTION = (0.30, 0.40)  # "AI-managed portfolios see 30-40% smaller drawdowns"


@dataclass
class AgentGroup:
    """Runs of one algorithm and profile (one per seed), and the baseline they are compared with."""

    algo: str
    profile: str
    runs: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.algo}-{self.profile}"


@dataclass
class Evaluation:
    """Everything a report shows; tables are pandas DataFrames indexed by policy or group."""

    market: MarketData
    split: str
    bars: range
    fee: float
    results: dict[str, BacktestResult]
    baselines: list[str]
    groups: list[AgentGroup]
    reference: str | None
    metrics: pd.DataFrame
    selection: pd.DataFrame
    """Per run: steps trained, the step of the model selected on validation, and its validation score."""
    group_summary: pd.DataFrame
    comparisons: pd.DataFrame
    diversification: pd.DataFrame
    claims: list[str]


def find_runs(patterns: Sequence[str]) -> list[Path]:
    """Run folders matching the patterns (folders or globs), in name order."""
    found: set[Path] = set()
    for pattern in patterns:
        matches = [Path(p) for p in glob.glob(pattern)] or ([Path(pattern)] if Path(pattern).exists() else [])
        runs = [m for m in matches if (m / "config.yaml").is_file()]
        if not runs:
            raise ValueError(
                f"{pattern}: no run folder (a folder with config.yaml written by cryptofolio train)"
            )
        found.update(runs)
    return sorted(found)


def check_not_used_for_choices(run: Path, market: MarketData, splits: Splits, split: str) -> None:
    """Refuse a split whose bars overlap what the run trained or was selected on, on the same data."""
    metadata = read_run_metadata(run)
    if metadata.get("market") != market.source:
        return  # another market: nothing of it was seen
    first, last = (market.timestamps[i] for i in (splits[split].start, splits[split].stop - 1))
    for used in ("train", "validation"):
        start, end = (pd.Timestamp(d) for d in metadata["splits"][used]["dates"])
        if first <= end and start <= last:
            purpose = metadata["splits"][used]["used_for"]
            raise ValueError(
                f"run {run.name} used {start:%Y-%m-%d} to {end:%Y-%m-%d} of {market.source} for {purpose}; "
                f"the {split} split ({first:%Y-%m-%d} to {last:%Y-%m-%d}) overlaps it, so its numbers would "
                "not be out of sample. Evaluate on the test split"
            )


def evaluate(
    runs: Sequence[Path],
    baselines: Sequence[str],
    market: MarketData,
    splits: Splits,
    split: str = "test",
    fee: float = 0.001,
    which: str = "best",
    resamples: int = 2_000,
    seed: int = 0,
) -> Evaluation:
    """Backtest runs and baselines on one split and compute every table of the report."""
    results: dict[str, BacktestResult] = {}
    groups: dict[tuple[str, str], AgentGroup] = {}
    selection = {}
    for run in runs:
        check_not_used_for_choices(run, market, splits, split)
        config = read_run_config(run)
        selection[run.name] = _selection(run, which)
        env = run_env(run, market, split=split, splits=splits, fee=fee)
        policy = load_policy(run, which=which, env=env)
        results[run.name] = run_backtest(policy, env, name=run.name)
        groups.setdefault(
            (config["algo"], config["profile"]), AgentGroup(config["algo"], config["profile"])
        ).runs.append(run.name)
    needed = [g.profile for g in groups.values() if g.profile not in baselines]
    env = PortfolioEnv(market, split=split, splits=splits, fee=fee)
    for spec in [*baselines, *dict.fromkeys(needed)]:
        rule = make_baseline(spec)
        results[rule.name] = run_backtest(rule, env)
    reference = None
    if market.truth is not None:
        results["reference"] = run_backtest(GrowthOptimal(market.truth.model), env)
        reference = "reference"
    _check_same_bars(results)
    table = metrics_table(list(results.values()))
    trials = np.array([per_bar_sharpe(returns_of(r.values)) for r in results.values()])
    table["psr"] = [probabilistic_sharpe_ratio(returns_of(r.values)) for r in results.values()]
    table["dsr"] = [deflated_sharpe_ratio(returns_of(r.values), trials) for r in results.values()]
    group_list = list(groups.values())
    comparisons = pd.DataFrame(
        [_compare(g, results, reference, resamples, seed) for g in group_list],
        index=[g.name for g in group_list],
    )
    return Evaluation(
        market=market,
        split=split,
        bars=splits[split],
        fee=fee,
        results=results,
        baselines=[*baselines, *dict.fromkeys(needed)],
        groups=group_list,
        reference=reference,
        metrics=table,
        selection=pd.DataFrame(selection).T,
        group_summary=_group_summary(group_list, table),
        comparisons=comparisons,
        diversification=pd.DataFrame(
            {name: diversification(r, market, splits[split]) for name, r in results.items()}
        ).T,
        claims=_claims(group_list, comparisons, split, pd.DataFrame(selection).T),
    )


def _selection(run: Path, which: str) -> dict[str, Any]:
    metadata = read_run_metadata(run)
    state = json.loads((snapshot_folder(run, which) / STATE).read_text())
    metric = read_run_config(run)["selection_metric"]
    return {
        "trained_steps": metadata.get("timesteps"),
        "model": which,
        "selected_at_step": state["timesteps"],
        f"validation_{metric}": state.get("score", float("nan")),
        f"baseline_validation_{metric}": metadata.get("validation_baseline", {}).get(metric, float("nan")),
    }


def _check_same_bars(results: dict[str, BacktestResult]) -> None:
    first = next(iter(results.values()))
    for name, result in results.items():
        if not result.timestamps.equals(first.timestamps):
            raise ValueError(
                f"{name} ran from {result.timestamps[0]} but {first.name} from {first.timestamps[0]}: "
                "a window longer than the bars before the split moves the first bar; use a shorter window"
            )


def _group_summary(groups: list[AgentGroup], table: pd.DataFrame) -> pd.DataFrame:
    rows = {}
    for group in groups:
        row: dict[str, float] = {}
        for metric in GROUP_METRICS:
            values = table.loc[group.runs, metric].to_numpy(dtype=np.float64)
            interval = seed_interval(values)
            spread = float(np.std(values, ddof=1)) if len(values) > 1 else np.nan
            row |= {metric: interval.estimate, f"{metric}_std": spread}
            row |= {f"{metric}_low": interval.low, f"{metric}_high": interval.high}
        row["seeds"] = len(group.runs)
        rows[group.name] = row
    return pd.DataFrame(rows).T


def _compare(
    group: AgentGroup, results: dict[str, BacktestResult], reference: str | None, resamples: int, seed: int
) -> dict[str, Any]:
    """Differences between the group (mean over its runs) and its profile baseline, over the same bars."""
    baseline = results[group.profile]
    ppy = baseline.periods_per_year
    paired = returns_of(np.column_stack([*(results[r].values for r in group.runs), baseline.values]))

    def difference(metric: str) -> Callable[[np.ndarray], float]:
        def statistic(returns: np.ndarray) -> float:
            values = values_of(returns)
            scores = [_metric(metric, values[:, j], ppy) for j in range(values.shape[1])]
            return float(np.mean(scores[:-1]) - scores[-1])

        return statistic

    def drawdown_reduction(returns: np.ndarray) -> float:
        values = values_of(returns)
        drawdowns = [metrics.max_drawdown(values[:, j]) for j in range(values.shape[1])]
        return 1.0 - float(np.mean(drawdowns[:-1])) / drawdowns[-1] if drawdowns[-1] > 0 else float("nan")

    row: dict[str, Any] = {"baseline": group.profile}
    for metric in ("sharpe", "cagr", "max_drawdown"):
        interval = paired_interval(difference(metric), paired, resamples=resamples, seed=seed)
        row |= _columns(f"{metric}_difference", interval)
    row |= _columns(
        "drawdown_reduction", paired_interval(drawdown_reduction, paired, resamples=resamples, seed=seed)
    )
    if reference is not None:
        reference_growth = np.log(results[reference].values[-1] / results[reference].values[0])
        growth = np.mean([np.log(results[r].values[-1] / results[r].values[0]) for r in group.runs])
        row["share_of_reference_growth"] = (
            float(growth / reference_growth) if reference_growth > 0 else float("nan")
        )
    return row


def _metric(name: str, values: np.ndarray, periods_per_year: float) -> float:
    if name == "sharpe":
        return metrics.sharpe_ratio(values, periods_per_year)
    if name == "cagr":
        return metrics.cagr(values, periods_per_year)
    return metrics.max_drawdown(values)


def _columns(prefix: str, interval: Interval) -> dict[str, float]:
    return {prefix: interval.estimate, f"{prefix}_low": interval.low, f"{prefix}_high": interval.high}


def _claims(
    groups: list[AgentGroup], comparisons: pd.DataFrame, split: str, selection: pd.DataFrame
) -> list[str]:
    """The questions the report answers, in words, with the numbers."""
    lines = []
    low, high = CLAIMED_DRAWDOWN_REDUCTION
    for group in groups:
        untrained = int((selection.loc[group.runs, "selected_at_step"] == 0).sum())
        if untrained:
            lines.append(
                f"For {untrained} of {len(group.runs)} {group.name} run(s), validation selected the "
                "untrained policy (step 0): training did not improve on it on the validation split."
            )
        row = comparisons.loc[group.name]
        diff, lo, hi = row["sharpe_difference"], row["sharpe_difference_low"], row["sharpe_difference_high"]
        seeds = f"{len(group.runs)} seed{'s' if len(group.runs) > 1 else ''}"
        if lo > 0:
            verdict = f"Yes: its Sharpe ratio is higher by {diff:.2f} (95% interval {lo:.2f} to {hi:.2f})"
        elif hi < 0:
            verdict = f"No: its Sharpe ratio is lower by {-diff:.2f} (95% interval {lo:.2f} to {hi:.2f})"
        else:
            verdict = (
                f"Not shown: the Sharpe difference is {diff:+.2f}, and its 95% interval ({lo:.2f} to "
                f"{hi:.2f}) includes 0"
            )
        question = (
            f"Does {group.name} ({seeds}) beat the {group.profile} baseline after fees on the {split} split?"
        )
        lines.append(f"{question} {verdict}.")
        red, red_lo, red_hi = (
            row["drawdown_reduction"],
            row["drawdown_reduction_low"],
            row["drawdown_reduction_high"],
        )
        if red_lo >= low:
            finding = "supports the claim"
        elif red_hi < low:
            finding = "contradicts the claim" + (" (its drawdowns are larger)" if red_hi < 0 else "")
        else:
            finding = "cannot confirm or refute the claim"
        size = f"{red:.0%} smaller" if red >= 0 else f"{-red:.0%} larger"
        lines.append(
            f"The guidance claims AI-managed portfolios see {low:.0%}-{high:.0%} smaller drawdowns. "
            f"{group.name}'s maximum drawdown is {size} than {group.profile}'s (reduction {red:.0%}, 95% "
            f"interval {red_lo:.0%} to {red_hi:.0%}): this {finding}."
        )
        if "share_of_reference_growth" in row and np.isfinite(row["share_of_reference_growth"]):
            lines.append(
                f"{group.name} reached {row['share_of_reference_growth']:.0%} of the log growth of the "
                "known-parameter reference policy (which knows the true regime and the market's parameters)."
            )
    return lines


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--runs", nargs="*", default=[], metavar="RUN", help="run folders or globs (quote globs)"
    )
    parser.add_argument(
        "--baselines", default="all", help=f"comma-separated baselines, or all: {', '.join(BASELINES)}"
    )
    parser.add_argument(
        "--split", default="test", choices=SPLIT_NAMES, help="split to report on (default test)"
    )
    add_market_arguments(parser)
    parser.set_defaults(market=None)
    parser.add_argument(
        "--fee", type=float, default=0.001, help="fee per unit traded, for every policy (0.001)"
    )
    parser.add_argument(
        "--which", choices=("best", "final"), default="best", help="model of each run (best on validation)"
    )
    parser.add_argument("--resamples", type=int, default=2_000, help="bootstrap resamples (2000)")
    parser.add_argument(
        "--out", type=Path, default=Path("reports/evaluation"), help="report folder (reports/evaluation)"
    )
    parser.add_argument("--title", default=None, help="report title")
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    from evaluation.report import write_report  # figures load matplotlib: only when reporting

    parser = build_parser(prog)
    args = parser.parse_args(argv)
    try:
        runs = find_runs(args.runs)
        baselines = (
            list(BASELINES)
            if args.baselines.strip() == "all"
            else [b.strip() for b in args.baselines.split(",") if b.strip()]
        )
        market, splits = _market(args, runs)
        evaluation = evaluate(
            runs, baselines, market, splits, args.split, args.fee, args.which, args.resamples
        )
    except (ValueError, KeyError, FileNotFoundError, DataError) as error:
        parser.error(str(error).strip("'\""))
    command = " ".join([prog or "python -m evaluation.evaluate", *(sys.argv[1:] if argv is None else argv)])
    title = args.title or f"Evaluation on the {args.split} split of {market.source}"
    report = write_report(evaluation, args.out, title, command)
    columns = ["total_return", "sharpe", "max_drawdown", "turnover", "fees", "psr"]
    shown = [
        *(r for g in evaluation.groups for r in g.runs),
        *evaluation.baselines,
        *([evaluation.reference] if evaluation.reference else []),
    ]
    from evaluation.backtest import format_table

    print(format_table(evaluation.metrics.loc[shown, columns]))
    for claim in evaluation.claims:
        print(f"- {claim}")
    print(f"report: {report} (and report.md, figures and CSVs in {args.out})")
    return 0


def _market(args: argparse.Namespace, runs: Sequence[Path]) -> tuple[MarketData, Splits]:
    """The market the options name, or else the one the runs were trained on (which must agree)."""
    if args.market is not None or not runs:
        args.market = args.market or "synthetic"
        return market_from_args(args)
    configs = [read_run_config(run) for run in runs]
    if len({tuple(str(c.get(k)) for k in (*SPEC_FIELDS, "splits")) for c in configs}) > 1:
        raise ValueError(
            "the runs were trained on different markets or splits; choose one with --market and the split "
            "options"
        )
    return market_from_spec(**spec_of(configs[0]), splits=configs[0]["splits"])


if __name__ == "__main__":
    sys.exit(main())
