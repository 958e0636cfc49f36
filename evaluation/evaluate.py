"""The runner of ``cryptofolio evaluate``: trained agents against the baselines, with statistics.

Every run (its best model on validation) and every baseline goes through the same backtest
runner on the same split, start and costs: one :class:`~cryptofolio.envs.Costs` for every
policy (:func:`comparison_config`). Runs of the same algorithm and profile are a group;
groups are compared with their profile's baseline over the same bars. A split a run was
trained or selected on is refused (:func:`check_not_used_for_choices`).
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cryptofolio.agents import BASELINES, Policy, Rule, make_baseline
from cryptofolio.agents.ensemble import EnsemblePolicy
from cryptofolio.agents.own import OwnPolicy
from cryptofolio.agents.reference import GrowthOptimal
from cryptofolio.agents.run_identity import market_note, same_prices, used_ranges
from cryptofolio.agents.sb3 import (
    TrainedPolicy,
    load_policy,
    read_run_config,
    read_run_metadata,
    read_trusted_metadata,
    run_env,
    run_env_config,
    run_market_config,
    snapshot_folder,
    unvouched_note,
)
from cryptofolio.agents.snapshots import read_state
from cryptofolio.envs import (
    Costs,
    EnvConfig,
    MarketConfig,
    MarketData,
    PortfolioEnv,
    Splits,
    split_by_fractions,
)
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
NO_INTERVAL = (
    "there is no 95% interval: the bootstrap's replicates lie almost all on one side of the estimate "
    "(too biased to give one)"
)


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
    """Refuse a split whose bars overlap what the run trained or was selected on, when ``market`` holds
    the run's prices (by content: :func:`~cryptofolio.agents.run_identity.same_prices`, not by path)."""
    metadata = read_run_metadata(run)
    if not same_prices(metadata, market):
        return  # other prices: nothing of them was seen
    first, last = (market.timestamps[i] for i in (splits[split].start, splits[split].stop - 1))
    for start, end, purpose in used_ranges(metadata):
        if first <= end and start <= last:
            raise PlanError(
                f"run {run.name} used {start:%Y-%m-%d} to {end:%Y-%m-%d} of these prices for {purpose}; "
                f"the {split} split ({first:%Y-%m-%d} to {last:%Y-%m-%d}) of {market.source} overlaps it, so "
                "its numbers would not be out of sample. Evaluate on the test split"
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
    *,
    policies: Mapping[str, Policy | Rule] | None = None,
    compare_with: str = "moderate",
    config: EnvConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> Evaluation:
    """Backtest runs, your own policies and baselines on one split and compute every table of the report.

    :param costs: what every policy pays; None: the runs' own (see :func:`comparison_config`).
    :param ensemble: also backtest each group of two or more runs as one
        :class:`~cryptofolio.agents.ensemble.EnsemblePolicy` (the mean of its seeds' target
        weights), reported as its own group ``<algo>-<profile>-ensemble``.
    :param policies: your own policies by name: :class:`~cryptofolio.agents.Rule` instances, SB3
        models, :class:`~cryptofolio.agents.TrainedPolicy` (a model with its VecNormalize) or
        anything with ``predict``; each is a group of its own, compared with ``compare_with``.
    :param compare_with: the baseline (a spec, as in ``baselines``) your policies are compared with.
    :param config: the env your policies run on (observation window, features, action options);
        default the comparison's (:func:`comparison_config`). Its costs are replaced by the comparison's.
    :param progress: called with a line before each backtest and before the statistics.
    """
    say = progress or (lambda line: None)
    policies = dict(policies or {})
    rules_config = comparison_config(runs, costs)
    labels = run_labels(runs)
    _check_names(labels.values(), policies, baselines)
    results: dict[str, BacktestResult] = {}
    groups: dict[tuple[str, str], AgentGroup] = {}
    selection = {}
    members: dict[str, tuple[TrainedPolicy, PortfolioEnv]] = {}
    notes = []
    for run, label in labels.items():
        said = (unvouched_note(run, label), market_note(read_trusted_metadata(run), market, label))
        notes += [note for note in said if note]
        check_not_used_for_choices(run, market, splits, split)
        run_config = read_run_config(run)
        env = run_env(run, market, split=split, splits=splits, costs=rules_config.costs)
        policy = load_policy(run, which=which, env=env)  # its snapshot checked against its manifest
        selection[label] = _selection(run, which)
        say(f"backtest {label}")
        results[label] = run_backtest(policy, env, name=label)
        members[label] = (policy, env)
        groups.setdefault(
            (run_config["algo"], run_config["profile"]), AgentGroup(run_config["algo"], run_config["profile"])
        ).runs.append(label)
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
            say(f"backtest {together.name}")
            results[together.name] = run_backtest(mean, env, name=together.name)
            together.runs.append(together.name)
            groups[(together.name, "")] = together
    needed = [g.profile for g in groups.values() if g.profile not in baselines]
    if policies and compare_with not in baselines:
        needed.append(compare_with)
    specs = [*baselines, *dict.fromkeys(needed)]
    rules_env = PortfolioEnv(market, split=split, splits=splits, config=rules_config)
    rules = []
    for spec in specs:
        rule = make_baseline(spec)
        say(f"backtest {rule.name}")
        results[rule.name] = run_backtest(rule, rules_env)
        rules.append(rule.name)
    if policies:
        yours = replace(config or rules_config, costs=rules_config.costs)
        env = PortfolioEnv(market, split=split, splits=splits, config=yours)
        against = make_baseline(compare_with).name
        for name, yours_policy in policies.items():
            say(f"backtest {name}")
            results[name] = run_backtest(OwnPolicy(name, yours_policy, env), env, name=name)
            groups[(name, "own")] = AgentGroup(name, against, [name], own=True)
    reference = None
    if market.truth is not None:
        results["reference"] = run_backtest(GrowthOptimal(market.truth.model), rules_env)
        reference = "reference"
    _check_same_bars(results)
    say(f"statistics: {len(groups)} comparison(s), {resamples} bootstrap resamples each")
    table = metrics_table(list(results.values()))
    # The trials are the candidates: every seed of every learner trained, and your own policies; the rules,
    # the ensembles (made of those runs) and the reference were not candidates of a search.
    trials = np.array([per_bar_sharpe(returns_of(results[name].values)) for name in [*selection, *policies]])
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
        baselines=specs,
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
        claims=[*notes, *_claims(group_list, comparisons, split, pd.DataFrame(selection).T)],
    )


def run_labels(runs: Sequence[Path]) -> dict[Path, str]:
    """Each run folder's name in the report: its folder name, or ``parent/name`` where two share one.

    :raises RunFolderError: for the same folder given twice (through a link or another path).
    """
    resolved: dict[Path, Path] = {}
    for run in runs:
        real = run.resolve()
        if real in resolved:
            raise RunFolderError(f"{run} and {resolved[real]} are the same run folder; give it once")
        resolved[real] = run
    names = [run.name for run in runs]
    return {run: run.name if names.count(run.name) == 1 else f"{run.parent.name}/{run.name}" for run in runs}


def _check_names(runs: Iterable[str], policies: Mapping[str, Any], baselines: Sequence[str]) -> None:
    """Refuse a policy name that is empty, repeats a run's or a baseline's, or is a reserved one."""
    taken = {*runs, *(make_baseline(spec).name for spec in baselines), "reference"}
    for name in policies:
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"a policy name must be a non-empty string, got {name!r}")
        if name in taken:
            raise ConfigError(f"policy name {name!r} is already a run's, a baseline's or reserved; rename it")


def _selection(run: Path, which: str) -> dict[str, Any]:
    metadata = read_run_metadata(run)
    state = read_state(snapshot_folder(run, which))
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
        row["seeds"] = group.ensemble_of or len(group.runs)  # an ensemble: the seeds it averages
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
        if group.own:
            lines.append(
                f"{group.name} is your own policy: nothing here records the data it was designed or tuned "
                f"on. If that included the {split} split, its numbers below are not out of sample."
            )
        trained_runs = [r for r in group.runs if r in selection.index]  # an ensemble is none of them
        untrained = int((selection.loc[trained_runs, "selected_at_step"] == 0).sum()) if trained_runs else 0
        if untrained:
            lines.append(
                f"For {untrained} of {len(group.runs)} {group.name} run(s), validation selected the "
                "untrained policy (step 0): training did not improve on it on the validation split."
            )
        row = comparisons.loc[group.name]
        diff, lo, hi = row["sharpe_difference"], row["sharpe_difference_low"], row["sharpe_difference_high"]
        if not np.isfinite(lo):
            verdict = f"Not shown: the Sharpe difference is {diff:+.2f}, and {NO_INTERVAL}"
        elif lo > 0:
            verdict = f"Yes: its Sharpe ratio is higher by {diff:.2f} (95% interval {lo:.2f} to {hi:.2f})"
        elif hi < 0:
            verdict = f"No: its Sharpe ratio is lower by {-diff:.2f} (95% interval {lo:.2f} to {hi:.2f})"
        else:
            verdict = (
                f"Not shown: the Sharpe difference is {diff:+.2f}, and its 95% interval ({lo:.2f} to "
                f"{hi:.2f}) includes 0"
            )
        question = f"Does {group.name} ({group.seeds}) beat the {group.profile} baseline after fees"
        lines.append(f"{question} on the {split} split? {verdict}.")
        red, red_lo, red_hi = (
            row["drawdown_reduction"],
            row["drawdown_reduction_low"],
            row["drawdown_reduction_high"],
        )
        claim = f"The guidance claims AI-managed portfolios see {low:.0%}-{high:.0%} smaller drawdowns."
        size = f"{red:.0%} smaller than" if red >= 0 else f"{-red:.0%} larger than"
        reduction = f"{red:.0%}"
        if abs(red) < 0.005:  # rounds to 0%: no sign to read
            size, reduction = "within half a percent of", "0%"
        if not np.isfinite(red):
            found = f"{group.profile} had no drawdown on the {split} split: there is no reduction to measure."
        elif not np.isfinite(red_lo):
            found = (
                f"{group.name}'s maximum drawdown is {size} {group.profile}'s (reduction {reduction}), "
                f"and {NO_INTERVAL}: this cannot confirm or refute the claim."
            )
        else:
            if red_lo >= low:
                finding = "supports the claim"
            elif red_hi < low:
                finding = "contradicts the claim" + (" (its drawdowns are larger)" if red_hi < 0 else "")
            else:
                finding = "cannot confirm or refute the claim"
            found = (
                f"{group.name}'s maximum drawdown is {size} {group.profile}'s (reduction {reduction}, 95% "
                f"interval {red_lo:.0%} to {red_hi:.0%}): this {finding}."
            )
        lines.append(f"{claim} {found}")
        if "share_of_reference_growth" in row and np.isfinite(row["share_of_reference_growth"]):
            lines.append(
                f"{group.name} reached {row['share_of_reference_growth']:.0%} of the log growth of the "
                "known-parameter reference policy (which knows the true regime and the market's parameters)."
            )
    return lines


def evaluate_policies(
    policies: Mapping[str, Policy | Rule],
    out: str | Path | None = None,
    *,
    market: MarketConfig | MarketData | None = None,
    splits: Splits | None = None,
    baselines: Sequence[str] = tuple(BASELINES),
    compare_with: str = "moderate",
    split: str = "test",
    costs: Costs | None = None,
    config: EnvConfig | None = None,
    runs: Sequence[str | Path] = (),
    resamples: int = 2_000,
    seed: int = 0,
    title: str | None = None,
) -> Evaluation:
    """Your policies against the baselines (and trained runs), with the report ``cryptofolio evaluate``
    writes: one call.

        evaluation = evaluate_policies({"momentum": Momentum()}, "reports/momentum")

    :param policies: by name: :class:`~cryptofolio.agents.Rule` instances, stable-baselines3 models,
        :class:`~cryptofolio.agents.TrainedPolicy` (a model with its VecNormalize) or anything with
        ``predict``; checked at every bar (:class:`~cryptofolio.agents.own.OwnPolicy`).
    :param out: the report folder (report.html, report.md, figures, CSVs); None: no report.
    :param market: a :class:`~cryptofolio.envs.MarketConfig` (loaded), loaded data (split by
        ``splits``, default by fractions), or None: the runs' market, else the synthetic market.
    :param runs: trained run folders to include (:func:`evaluate`'s).
    The other parameters are :func:`evaluate`'s.
    """
    if not isinstance(policies, Mapping):
        raise ConfigError(
            "policies must map names to policies, e.g. {'momentum': Momentum()}; "
            f"got a {type(policies).__name__}"
        )
    folders = find_runs([str(run) for run in runs]) if runs else []
    if isinstance(market, MarketData):
        data, bars = market, splits or split_by_fractions(market)
    else:
        source = market or (runs_market(folders) if folders else MarketConfig())
        data, bars = source.load()
    evaluation = evaluate(
        folders,
        list(baselines),
        data,
        bars,
        split,
        costs,
        resamples=resamples,
        seed=seed,
        policies=policies,
        compare_with=compare_with,
        config=config,
    )
    if out is not None:
        from cryptofolio.evaluation.report import write_report  # figures load matplotlib: only when reporting

        write_report(evaluation, Path(out), title or f"Evaluation on the {split} split of {data.source}")
    return evaluation
