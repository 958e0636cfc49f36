"""The runner of ``cryptofolio evaluate``: trained agents against the baselines, with statistics.

Every run (its best model on validation) and every baseline goes through the same backtest
runner on the same split, start and costs: one :class:`~cryptofolio.envs.Costs` for every
policy (:func:`comparison_config`). Runs of the same algorithm and profile are a group;
groups are compared with their profile's baseline over the same bars. A split a run was
trained or selected on is refused (:func:`check_not_used_for_choices`).
"""

from __future__ import annotations

import glob
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cryptofolio.agents import make_baseline
from cryptofolio.agents.ensemble import EnsemblePolicy
from cryptofolio.agents.reference import GrowthOptimal
from cryptofolio.agents.sb3 import (
    TrainedPolicy,
    load_policy,
    read_run_config,
    read_run_metadata,
    run_env,
    run_env_config,
    run_market_config,
    snapshot_folder,
)
from cryptofolio.agents.snapshots import STATE
from cryptofolio.envs import Costs, EnvConfig, MarketConfig, MarketData, PortfolioEnv, Splits
from cryptofolio.envs.errors import ConfigError, PlanError, RunFolderError
from cryptofolio.evaluation import metrics
from cryptofolio.evaluation.backtest import BacktestResult, metrics_table, run_backtest
from cryptofolio.evaluation.diagnostics import diversification
from cryptofolio.evaluation.results import AgentGroup, Evaluation
from cryptofolio.evaluation.statistics import (
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


def find_runs(patterns: Sequence[str]) -> list[Path]:
    """Run folders matching the patterns (folders or globs), in name order."""
    found: set[Path] = set()
    for pattern in patterns:
        matches = [Path(p) for p in glob.glob(pattern)] or ([Path(pattern)] if Path(pattern).exists() else [])
        runs = [m for m in matches if (m / "config.yaml").is_file()]
        if not runs:
            raise RunFolderError(
                f"{pattern}: no run folder (a folder with config.yaml written by cryptofolio train)"
            )
        found.update(runs)
    return sorted(found)


def runs_market(runs: Sequence[Path]) -> MarketConfig:
    """The market and splits the runs were trained on, which must be the same for all."""
    markets = {run: run_market_config(run) for run in runs}
    if len(set(markets.values())) > 1:
        raise RunFolderError(
            "the runs were trained on different markets or splits; choose one with --market and the split "
            "options"
        )
    return next(iter(markets.values()))


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
            raise PlanError(
                f"run {run.name} used {start:%Y-%m-%d} to {end:%Y-%m-%d} of {market.source} for {purpose}; "
                f"the {split} split ({first:%Y-%m-%d} to {last:%Y-%m-%d}) overlaps it, so its numbers would "
                "not be out of sample. Evaluate on the test split"
            )


def comparison_config(runs: Sequence[Path], costs: Costs | None = None) -> EnvConfig:
    """The env config every baseline of a comparison runs on, whose costs every agent pays too.

    The runs' own config with free actions (same costs, window, reward and episode), or the
    default config without runs; ``costs`` replace the costs. Runs trained at different costs
    need ``costs``: a comparison has one.
    """
    configs = {run: run_env_config(run) for run in runs}
    if costs is None:
        differing = {c.costs for c in configs.values()}
        if len(differing) > 1:
            listed = "; ".join(f"{run.name}: {c.costs}" for run, c in configs.items())
            raise RunFolderError(
                f"the runs were trained at different costs ({listed}); choose the comparison's costs with "
                "--fee, --slippage and --cash-yield"
            )
    base = next(iter(configs.values())) if configs else EnvConfig()
    return replace(base.for_rules(), costs=costs or base.costs)


def evaluate(
    runs: Sequence[Path],
    baselines: Sequence[str],
    market: MarketData,
    splits: Splits,
    split: str = "test",
    costs: Costs | None = None,
    which: str = "best",
    resamples: int = 2_000,
    seed: int = 0,
    ensemble: bool = False,
) -> Evaluation:
    """Backtest runs and baselines on one split and compute every table of the report.

    :param costs: what every policy pays; None: the runs' own (see :func:`comparison_config`).
    :param ensemble: also backtest each group of two or more runs as one
        :class:`~cryptofolio.agents.ensemble.EnsemblePolicy` (the mean of its seeds' target
        weights), reported as its own group ``<algo>-<profile>-ensemble``.
    """
    rules_config = comparison_config(runs, costs)
    results: dict[str, BacktestResult] = {}
    groups: dict[tuple[str, str], AgentGroup] = {}
    selection = {}
    members: dict[str, tuple[TrainedPolicy, PortfolioEnv]] = {}
    for run in runs:
        check_not_used_for_choices(run, market, splits, split)
        config = read_run_config(run)
        selection[run.name] = _selection(run, which)
        env = run_env(run, market, split=split, splits=splits, costs=rules_config.costs)
        policy = load_policy(run, which=which, env=env)
        results[run.name] = run_backtest(policy, env, name=run.name)
        members[run.name] = (policy, env)
        groups.setdefault(
            (config["algo"], config["profile"]), AgentGroup(config["algo"], config["profile"])
        ).runs.append(run.name)
    if ensemble:
        for group in [g for g in groups.values() if len(g.runs) > 1]:
            together = AgentGroup(group.algo, group.profile, ensemble_of=len(group.runs))
            policy_envs = [members[r] for r in group.runs]
            own = policy_envs[0][1]  # the group's observation; every member's spaces are checked against it
            env = PortfolioEnv(
                market, split=split, splits=splits, profile=own.profile, config=own.config.for_rules()
            )
            mean = EnsemblePolicy(
                [p for p, _ in policy_envs], [e for _, e in policy_envs], env, together.name
            )
            results[together.name] = run_backtest(mean, env, name=together.name)
            together.runs.append(together.name)
            groups[(together.name, "")] = together
    needed = [g.profile for g in groups.values() if g.profile not in baselines]
    env = PortfolioEnv(market, split=split, splits=splits, config=rules_config)
    rules = []
    for spec in [*baselines, *dict.fromkeys(needed)]:
        rule = make_baseline(spec)
        results[rule.name] = run_backtest(rule, env)
        rules.append(rule.name)
    reference = None
    if market.truth is not None:
        results["reference"] = run_backtest(GrowthOptimal(market.truth.model), env)
        reference = "reference"
    _check_same_bars(results)
    table = metrics_table(list(results.values()))
    # The trials are the agent runs trained (every seed of every learner here); the rules, the ensembles
    # (made of those runs) and the reference were not candidates of a search.
    trials = np.array([per_bar_sharpe(returns_of(results[run].values)) for run in selection])
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
        costs=rules_config.costs,
        results=results,
        baselines=[*baselines, *dict.fromkeys(needed)],
        rules=rules,
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
            raise ConfigError(
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
    agents = [results[r].values for r in group.runs]
    row: dict[str, Any] = {"baseline": group.profile}
    row |= paired_comparison(agents, baseline.values, baseline.periods_per_year, resamples, seed)
    if reference is not None:
        reference_growth = np.log(results[reference].values[-1] / results[reference].values[0])
        growth = np.mean([np.log(results[r].values[-1] / results[r].values[0]) for r in group.runs])
        row["share_of_reference_growth"] = (
            float(growth / reference_growth) if reference_growth > 0 else float("nan")
        )
    return row


def paired_comparison(
    agents: Sequence[np.ndarray],
    baseline: np.ndarray,
    periods_per_year: float,
    resamples: int = 2_000,
    seed: int = 0,
) -> dict[str, float]:
    """The agents' (mean over seeds) Sharpe, CAGR and max drawdown minus the baseline's, and the
    drawdown reduction ``1 - DD_agents / DD_baseline``, each with a 95% paired block-bootstrap interval.

    :param agents: (n+1,) value paths of the seeds, over the same bars as ``baseline``'s (n+1,).
    """
    paired = returns_of(np.column_stack([*agents, baseline]))

    def difference(metric: str) -> Callable[[np.ndarray], float]:
        def statistic(returns: np.ndarray) -> float:
            values = values_of(returns)
            scores = [_metric(metric, values[:, j], periods_per_year) for j in range(values.shape[1])]
            return float(np.mean(scores[:-1]) - scores[-1])

        return statistic

    def drawdown_reduction(returns: np.ndarray) -> float:
        values = values_of(returns)
        drawdowns = [metrics.max_drawdown(values[:, j]) for j in range(values.shape[1])]
        return 1.0 - float(np.mean(drawdowns[:-1])) / drawdowns[-1] if drawdowns[-1] > 0 else float("nan")

    row: dict[str, float] = {}
    for metric in ("sharpe", "cagr", "max_drawdown"):
        interval = paired_interval(difference(metric), paired, resamples=resamples, seed=seed)
        row |= _columns(f"{metric}_difference", interval)
    return row | _columns(
        "drawdown_reduction", paired_interval(drawdown_reduction, paired, resamples=resamples, seed=seed)
    )


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
        trained_runs = [r for r in group.runs if r in selection.index]  # an ensemble is none of them
        untrained = int((selection.loc[trained_runs, "selected_at_step"] == 0).sum())
        if untrained:
            lines.append(
                f"For {untrained} of {len(group.runs)} {group.name} run(s), validation selected the "
                "untrained policy (step 0): training did not improve on it on the validation split."
            )
        row = comparisons.loc[group.name]
        diff, lo, hi = row["sharpe_difference"], row["sharpe_difference_low"], row["sharpe_difference_high"]
        seeds = group.seeds
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
