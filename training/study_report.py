"""The results study's report: per fold evaluations, chained out-of-sample paths, aggregates in
rliable's style, the probability of backtest overfitting, and ``results.md``.

The risk budget comes first: per profile, every policy's max drawdown over the chained test
windows against the profile's tolerance (:mod:`cryptofolio.evaluation.budget`), per fold too.
Scores of the aggregates are fold-level excess Sharpe ratios: a seed's test Sharpe ratio on a
fold minus the rule it is anchored on (the profile rule, or the budget rule of the ``_budget``
learners) on the same bars. Tasks (the strata of the bootstrap) are the
(profile, fold) pairs, runs the seeds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cryptofolio.agents import BASELINES, make_baseline
from cryptofolio.agents.baselines import anchor_rule_spec
from cryptofolio.agents.sb3 import read_run_config
from cryptofolio.evaluation import metrics
from cryptofolio.evaluation.aggregates import (
    interquartile_mean,
    performance_profile,
    probability_of_improvement_interval,
    stratified_bootstrap,
)
from cryptofolio.evaluation.budget import Budget, budget_table, kept_sentence, target_sentence
from cryptofolio.evaluation.evaluate import evaluate, paired_comparison
from cryptofolio.evaluation.figures import RULE_ZORDER, log_value_axis
from cryptofolio.evaluation.overfitting import probability_of_backtest_overfitting
from cryptofolio.evaluation.rendering import Block, Section
from cryptofolio.evaluation.results import Evaluation
from cryptofolio.evaluation.statistics import PAIRED_COVERAGE, returns_of
from cryptofolio.evaluation.tables import formatted, with_intervals
from cryptofolio.training.folds import chained, chains
from cryptofolio.training.report_pages import Page, render_page
from cryptofolio.training.study import StudyPlan, unit_key

RESAMPLES = 2_000
CHOSEN = "rule_chosen_on_validation"
"""The policy that follows, on each fold, the rule with the best Sharpe ratio on the fold's validation
half-year (the rules every fold evaluates, the reference excepted)."""
PBO_GROUPS = 16
BUDGET_RULES = ("{p}+voltarget", "{p}+ddbrake", "{p}+voltarget+ddbrake", "{p}_regime+voltarget+ddbrake")
"""The rules on the risk budget every fold evaluates beside the baselines (``{p}``: the profile)."""
SCORES = (
    "Scores: each seed's test Sharpe ratio on a fold minus the rule it is anchored on (the profile rule, "
    "also for eiie, whose actions are free; for the _budget learners, <profile>+voltarget+ddbrake; for "
    "hedge, the Hedge allocator); tasks: the (profile, fold) pairs (a path "
    "held in cash for a whole window scores a Sharpe ratio of 0). IQM: the mean of the middle half of the "
    "scores; P(improvement): the probability that a seed beats the rule on a fold. Their 95% intervals "
    "resample the tasks, then the seeds within each (rliable's stratified bootstrap with its task "
    "bootstrap: the folds are a sample of half-years, and an ensemble has one run per task)."
)
"""What the aggregates score, and how their intervals resample."""
COMPARISON_TEXT = (
    "Per profile, the IQM of each learner's fold-level excess Sharpe ratio (test, its seeds) over the "
    "profile rule, its regime-aware variant and the rule chosen on validation (on each fold, the rule with "
    "the best Sharpe ratio on the half-year before the test window, among every rule evaluated), with 95% "
    "stratified-bootstrap intervals over the folds and the seeds within them. Then whether each learner "
    "learned anything: the mean distance of its test weights to the rule it is anchored on and to equal "
    "weights (total variation: 0 the same weights, 1 nothing in common) and its annualized turnover."
)
"""What the per-profile comparison and the collapse detector show."""
PBO_TEXT = (
    "The probability of backtest overfitting (Bailey et al., CSCV, {groups} groups) over this "
    "study's candidates per profile (every learner's seeds and ensemble, every rule), on their chained "
    "daily returns: the share of half-splits where the best candidate of one half falls to or below the "
    "median of the other. Near 0.5: choosing by backtest is a coin toss; near 0: the best stays good."
)
"""What the probability of backtest overfitting measures (``groups``: the CSCV's)."""


@dataclass
class ProfileResults:
    """One profile's study: its folds' evaluations and its chained out-of-sample paths."""

    profile: str
    evaluations: list[Evaluation]
    """One per fold, in time order: every policy on the fold's test window."""
    chains: dict[str, list[np.ndarray]]
    """Per policy (a learner, its ensemble, a rule): its chained value paths, one per seed (rules: one)."""
    periods_per_year: float
    anchors: dict[str, str]
    """Per learner: the name of the rule its residual actions are anchored on (by default the profile's)."""
    chosen: list[str] = field(default_factory=list)
    """Per fold: the rule with the best validation Sharpe ratio (chosen on the half-year before the test)."""


def evaluate_folds(plan: StudyPlan, root: Path) -> dict[str, ProfileResults]:
    """Evaluate every profile's folds on their test windows (agents, their ensembles, every rule)."""
    results = {}
    for profile in plan.profiles:
        evaluations = []
        anchor_specs = {
            algo: anchor_spec(root / unit_key(profile, plan.folds[0].index, algo, plan.seeds[0]), profile)
            for algo in plan.algos
        }
        anchors = {algo: make_baseline(spec).name for algo, spec in anchor_specs.items()}
        rules = list(
            dict.fromkeys([*BASELINES, *(r.format(p=profile) for r in BUDGET_RULES), *anchor_specs.values()])
        )
        chosen = []
        for fold in plan.folds:
            market, splits = plan.profile_market(profile, fold.dates).load()
            runs = [root / unit_key(profile, fold.index, a, s) for a in plan.algos for s in plan.seeds]
            evaluations.append(evaluate(runs, rules, market, splits, "test", ensemble=True))
            chosen.append(chosen_rule(evaluate([], rules, market, splits, "validation")))
        paths = chains(evaluations) | {CHOSEN: [chained(evaluations, chosen)]}
        results[profile] = ProfileResults(
            profile, evaluations, paths, evaluations[0].market.periods_per_year, anchors, chosen
        )
    return results


def chosen_rule(validation: Evaluation) -> str:
    """The rule with the best Sharpe ratio on a fold's validation split (the reference, which knows the
    market's parameters, is no candidate)."""
    sharpe = fold_sharpe(validation).loc[validation.rules].dropna()
    return str(sharpe.idxmax())


def anchor_spec(run: Path, profile: str) -> str:
    """The spec of the rule a run's residual actions are anchored on (``env.actions.anchor``)."""
    anchor = ((read_run_config(run).get("env") or {}).get("actions") or {}).get("anchor")
    return anchor_rule_spec(anchor, profile)


def rule_of(results: ProfileResults, group: str) -> str:
    """The rule a learner group is compared with: the one its runs are anchored on."""
    return results.anchors[learner_of(group, results.profile).removesuffix("-ensemble")]


def learner_groups(results: ProfileResults) -> list[str]:
    """The agent groups' names (learners and their ensembles), in the evaluations' order."""
    return [group.name for group in results.evaluations[0].groups]


def learner_of(group: str, profile: str) -> str:
    """``ppo`` of the group ``ppo-moderate``, ``ppo-ensemble`` of ``ppo-moderate-ensemble``."""
    return group.replace(f"-{profile}", "")


def chained_table(results: ProfileResults) -> pd.DataFrame:
    """Metrics of every chained path (agents: mean over seeds), and for agents the paired differences to
    the rule they are anchored on over the whole path with 95% block-bootstrap intervals."""
    ppy = results.periods_per_year
    agents = learner_groups(results)
    rows = {}
    for policy, paths in results.chains.items():
        row: dict[str, float] = {
            "sharpe": float(np.mean([metrics.sharpe_ratio(v, ppy) for v in paths])),
            "cagr": float(np.mean([metrics.cagr(v, ppy) for v in paths])),
            "max_drawdown": float(np.mean([metrics.max_drawdown(v) for v in paths])),
        }
        if policy in agents:
            rule = results.chains[rule_of(results, policy)][0]
            compared = paired_comparison(paths, rule, ppy, RESAMPLES)
            row |= {
                k: v
                for k, v in compared.items()
                if k.startswith(("sharpe_diff", "cagr_diff", "drawdown_red"))
            }
        rows[policy] = row
    return pd.DataFrame(rows).T


def excess_scores(results: ProfileResults, group: str, against: str | None = None) -> np.ndarray:
    """(seeds, folds) test Sharpe ratio of each seed of ``group`` minus a rule's, per fold.

    :param against: the rule (default: the one the group is anchored on; :data:`CHOSEN`: each fold's
        rule chosen on validation).
    """
    columns = []
    for k, evaluation in enumerate(results.evaluations):
        runs = next(g.runs for g in evaluation.groups if g.name == group)
        sharpe = fold_sharpe(evaluation)
        rule = results.chosen[k] if against == CHOSEN else against or rule_of(results, group)
        columns.append(sharpe.loc[runs].to_numpy() - sharpe.loc[rule])
    return np.column_stack(columns)


def comparison_table(results: ProfileResults, seed: int = 0) -> pd.DataFrame:
    """Per learner group of one profile: the IQM of its fold-level excess Sharpe ratios over the profile
    rule, the regime-aware rule and the rule chosen on validation, with 95% stratified-bootstrap
    intervals (tasks: the folds; runs: the seeds)."""
    rng = np.random.default_rng(seed)
    p = results.profile
    rows = {}
    for group in learner_groups(results):
        row: dict[str, float] = {}
        for against, column in ((p, "over_profile"), (f"{p}_regime", "over_regime"), (CHOSEN, "over_chosen")):
            scores = excess_scores(results, group, against)
            iqm, low, high = stratified_bootstrap(
                scores, interquartile_mean, RESAMPLES, rng, task_bootstrap=True
            )
            row |= {column: iqm, f"{column}_low": low, f"{column}_high": high}
        rows[learner_of(group, p)] = row
    return pd.DataFrame(rows).T


def collapse_table(results: ProfileResults) -> pd.DataFrame:
    """Per learner of one profile, over its test windows (mean over folds and seeds): the distance of its
    weights to the rule it is anchored on and to equal weights, and its annualized turnover
    (:func:`cryptofolio.evaluation.metrics.collapse`): near 0 from its rule, it is the rule."""
    rows: dict[str, list[dict[str, float]]] = {}
    for evaluation in results.evaluations:
        for group in evaluation.groups:
            if group.ensemble_of:
                continue
            rule = evaluation.results[rule_of(results, group.name)]
            for run in group.runs:
                result = evaluation.results[run]
                first = evaluation.bars.start - 1
                available = evaluation.market.available[first : first + len(result.values)]
                rows.setdefault(group.algo, []).append(metrics.collapse(result, rule, available))
    return pd.DataFrame({algo: pd.DataFrame(cells).mean() for algo, cells in rows.items()}).T


def learners_sentence(results: ProfileResults, comparison: pd.DataFrame) -> str:
    """Which learners beat the profile rule with an interval above zero, and whether any loses to the
    regime-aware rule or the rule chosen on validation with an interval below zero."""
    p = results.profile
    above = [str(n) for n, r in comparison.iterrows() if r["over_profile_low"] > 0]
    below = {
        column: [str(n) for n, r in comparison.iterrows() if r[f"{column}_high"] < 0]
        for column in ("over_regime", "over_chosen")
    }
    beats = (
        f"{', '.join(above)} beat the {p} rule (IQM of fold-level excess Sharpe with a 95% interval above 0)"
        if above
        else f"no learner beat the {p} rule with a 95% interval above 0"
    )
    loses = [
        f"{', '.join(names)} lost to the {what} with an interval below 0"
        for column, what in (
            ("over_regime", f"{p}_regime rule"),
            ("over_chosen", "rule chosen on validation"),
        )
        if (names := below[column])
    ]
    none = "none lost to the regime-aware rule or the rule chosen on validation with an interval below 0"
    return f"{beats}; {'; '.join(loses) if loses else none}."


def fold_sharpe(evaluation: Evaluation) -> pd.Series:
    """Each policy's test Sharpe ratio on a fold, 0 for a path that never moved (held in cash all along,
    as a drawdown brake can be for a whole half-year): its excess return is 0, its ratio undefined."""
    sharpe = evaluation.metrics["sharpe"].astype(float)
    flat = evaluation.metrics["volatility"].astype(float) == 0.0
    return sharpe.mask(flat & sharpe.isna(), 0.0)


def aggregate_table(profiles: dict[str, ProfileResults], seed: int = 0) -> pd.DataFrame:
    """Per learner (its groups across profiles): IQM of fold-level excess Sharpe and the probability of
    improvement over the rule, with bootstrap intervals over tasks and the seeds within them."""
    rng = np.random.default_rng(seed)
    learners: dict[str, list[np.ndarray]] = {}
    for results in profiles.values():
        for group in learner_groups(results):
            learners.setdefault(learner_of(group, results.profile), []).append(excess_scores(results, group))
    rows = {}
    for name, blocks in learners.items():
        scores = np.column_stack(blocks)  # (seeds, profile-fold tasks)
        iqm, low, high = stratified_bootstrap(scores, interquartile_mean, RESAMPLES, rng, task_bootstrap=True)
        zero = np.zeros((1, scores.shape[1]))  # the rule's excess over itself
        improvement, p_low, p_high = probability_of_improvement_interval(
            scores, zero, RESAMPLES, rng, task_bootstrap=True
        )
        rows[name] = {
            "iqm_excess_sharpe": iqm,
            "iqm_excess_sharpe_low": low,
            "iqm_excess_sharpe_high": high,
            "p_improvement": improvement,
            "p_improvement_low": p_low,
            "p_improvement_high": p_high,
            "tasks": scores.shape[1],
            "runs": scores.shape[0],
        }
    return pd.DataFrame(rows).T


def overfitting_table(profiles: dict[str, ProfileResults]) -> pd.DataFrame:
    """Per profile: PBO by CSCV over the chained daily returns of every candidate (each learner's seeds
    and ensemble, and every rule): does the best over half the path stay above the median on the rest?"""
    rows = {}
    for profile, results in profiles.items():
        candidates = [
            (f"{policy} {s}", path)
            for policy, paths in results.chains.items()
            for s, path in enumerate(paths)
        ]
        returns = np.column_stack([returns_of(path) for _, path in candidates])
        varying = returns.std(axis=0) > 0  # cash has no Sharpe ratio
        result = probability_of_backtest_overfitting(returns[:, varying], groups=PBO_GROUPS)
        rows[profile] = {
            "pbo": result.pbo,
            "candidates": int(varying.sum()),
            "combinations": result.combinations,
            "degradation_slope": result.performance_degradation_slope,
        }
    return pd.DataFrame(rows).T


def performance_profile_figure(profiles: dict[str, ProfileResults], path: Path) -> Path:
    """The fraction of (seed, fold) excess Sharpe ratios above each threshold, one line per learner, its
    ensemble dashed in the same colour (thresholds spanning the scores, symmetric about 0)."""
    learners: dict[str, list[np.ndarray]] = {}
    for results in profiles.values():
        for group in learner_groups(results):
            learners.setdefault(learner_of(group, results.profile), []).append(
                excess_scores(results, group).ravel()
            )
    scores = {name: np.concatenate(blocks)[:, None] for name, blocks in learners.items()}
    bound = 1.1 * max(0.1, *(float(np.abs(s).max()) for s in scores.values()))
    thresholds = np.linspace(-bound, bound, 201)
    figure, axis = plt.subplots(figsize=(9, 4))
    names = list(dict.fromkeys(name.removesuffix("-ensemble") for name in scores))
    for name, score in scores.items():
        colour = plt.get_cmap("tab10")(names.index(name.removesuffix("-ensemble")) % 10)
        style = "--" if name.endswith("-ensemble") else "-"
        axis.plot(thresholds, performance_profile(score, thresholds), style, color=colour, label=name)
    axis.axvline(0.0, color="grey", lw=0.8)
    axis.set_xlabel("fold-level test Sharpe ratio minus the rule the learner is anchored on")
    axis.set_ylabel("fraction of (seed, fold) runs above")
    axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")  # beside: no line hidden
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def equity_figure(results: ProfileResults, dates: pd.DatetimeIndex, path: Path) -> Path:
    """Chained out-of-sample value paths of one profile (log scale): each learner's mean over seeds (solid),
    the rules (dashed; the profile's own black, above every other line); the ensembles are in the tables."""
    learners = [g for g in learner_groups(results) if not g.endswith("-ensemble")]
    policies = [*learners, *shown_rules(results), *([CHOSEN] if CHOSEN in results.chains else [])]
    colours = [plt.get_cmap("tab20")(i) for i in range(20)]
    figure, axis = plt.subplots(figsize=(10, 4.8))
    for k, policy in enumerate(policies):
        mean = np.vstack(results.chains[policy]).mean(axis=0)
        style = "-" if policy in learners else "--"
        label = learner_of(policy, results.profile)
        if policy == results.profile:  # what every learner is compared with: never hidden
            axis.plot(dates, mean, style, color="black", label=label, lw=1.8, zorder=RULE_ZORDER)
        else:
            axis.plot(dates, mean, style, color=colours[(2 * k) % 20 + (k >= 10)], label=label, lw=1.2)
    log_value_axis(axis)
    axis.set_ylabel("value (chained test windows, from 1; log scale)")
    axis.set_title(f"{results.profile}: chained test windows")
    axis.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def untrained_units(profiles: dict[str, ProfileResults]) -> str:
    """``ppo 15 of 90, ...``: per learner, the units whose selected model is the untrained policy."""
    kept: dict[str, list[bool]] = {}
    for results in profiles.values():
        for evaluation in results.evaluations:
            for group in evaluation.groups:
                if not group.ensemble_of:
                    steps = evaluation.selection.loc[group.runs, "selected_at_step"]
                    kept.setdefault(group.algo, []).extend((steps == 0).tolist())
    return ", ".join(f"{algo} {sum(flags)} of {len(flags)}" for algo, flags in kept.items())


def shown_rules(results: ProfileResults) -> list[str]:
    """The rules the figures and fold tables show: the profile's, its regime-aware variant, BTC alone,
    equal weights, and the known-parameter reference on a synthetic market."""
    p = results.profile
    rules = [p, f"{p}_regime", f"{p}+voltarget+ddbrake", "btc_only", "equal_weight", "reference"]
    return [rule for rule in rules if rule in results.chains]


def chained_dates(results: ProfileResults) -> pd.DatetimeIndex:
    """The dates of a chained path: each window's first bar's previous close, then its bars."""
    first = results.evaluations[0]
    stamps = [first.market.timestamps[first.bars.start - 1]]
    for evaluation in results.evaluations:
        stamps += list(evaluation.market.timestamps[evaluation.bars])
    return pd.DatetimeIndex(stamps)


def verdict(results: ProfileResults, table: pd.DataFrame, group: str) -> str:
    """One sentence: the learner's chained Sharpe and drawdown against its anchor rule, with intervals."""
    name = rule_of(results, group)
    row, rule = table.loc[group], table.loc[name]
    low, high = row["sharpe_difference_low"], row["sharpe_difference_high"]
    sharpe_words = "beats" if low > 0 else "trails" if high < 0 else "cannot be told apart from"
    reduction, r_low, r_high = (
        row["drawdown_reduction"],
        row["drawdown_reduction_low"],
        row["drawdown_reduction_high"],
    )
    return (
        f"{learner_of(group, results.profile)} {sharpe_words} the {name} rule over the chained "
        f"test windows: Sharpe {row['sharpe']:.2f} against {rule['sharpe']:.2f} (difference "
        f"{row['sharpe_difference']:+.2f} [{low:+.2f}, {high:+.2f}]), max drawdown {row['max_drawdown']:.1%} "
        f"against {rule['max_drawdown']:.1%} (reduction {reduction:.0%} [{r_low:.0%}, {r_high:.0%}])."
    )


def budget_rules_of(results: ProfileResults) -> list[str]:
    """The rules the budget's verdict weighs: the profile's and its regime variant, and the budget rules."""
    p = results.profile
    return [r for r in [p, f"{p}_regime", *(r.format(p=p) for r in BUDGET_RULES)] if r in results.chains]


def keepers_against_rule(results: ProfileResults, budget: pd.DataFrame) -> str:
    """The keepers of the budget with the best Sharpe ratio and growth against the budget-keeping rule
    ``<profile>+voltarget+ddbrake``: paired 95% block-bootstrap intervals over the chained path."""
    rule = BUDGET_RULES[2].format(p=results.profile)
    sharpe = {str(k): float(v) for k, v in budget["sharpe"].items()}
    growth = {str(k): float(v) for k, v in budget["cagr"].items()}
    kept = [str(k) for k, v in budget["kept"].items() if bool(v)]
    kept = [k for k in kept if np.isfinite(sharpe[k]) and k != rule]
    if rule not in results.chains or not kept:
        return ""
    best = dict.fromkeys([max(kept, key=sharpe.__getitem__), max(kept, key=growth.__getitem__)])
    words = []
    for name in best:
        row = paired_comparison(
            results.chains[name], results.chains[rule][0], results.periods_per_year, RESAMPLES
        )
        words.append(
            f"{name} {row['sharpe_difference']:+.2f} [{row['sharpe_difference_low']:+.2f}, "
            f"{row['sharpe_difference_high']:+.2f}] in Sharpe ratio and {row['cagr_difference']:+.1%} "
            f"[{row['cagr_difference_low']:+.1%}, {row['cagr_difference_high']:+.1%}] in growth"
        )
    return f"Against the budget-keeping rule {rule} over the chained path: {'; '.join(words)}."


def fold_budget_table(results: ProfileResults) -> pd.DataFrame:
    """Per fold: each budget rule's and learner's test max drawdown (learners: mean over seeds), marked
    ``broken`` beyond the profile's tolerance."""
    tolerance = Budget.of(results.profile).tolerance
    rows = []
    for evaluation in results.evaluations:
        drawdown = evaluation.metrics["max_drawdown"].astype(float)
        cells = {rule: drawdown.loc[rule] for rule in budget_rules_of(results)}
        cells |= {learner_of(g.name, results.profile): drawdown.loc[g.runs].mean() for g in evaluation.groups}
        rows.append({name: f"{dd:.1%}" + (" broken" if dd > tolerance else "") for name, dd in cells.items()})
    return pd.DataFrame(rows, index=pd.Index(range(1, len(rows) + 1), name="fold"))


def budget_learner_sentence(
    results: ProfileResults, budget: pd.DataFrame, chained: pd.DataFrame, group: str
) -> str:
    """A learner anchored on a rule other than the profile's: did it keep the budget, and did it beat its
    rule's Sharpe ratio or growth with a 95% interval above zero?"""
    rule = rule_of(results, group)
    row = {str(k): float(v) for k, v in chained.T[group].items()}
    drawdown = float(budget["max_drawdown"].astype(float).to_dict()[group])
    kept = "kept" if drawdown <= Budget.of(results.profile).tolerance else "broke"
    findings = []
    for metric, words, fmt in (("sharpe", "Sharpe ratio", "{:+.2f}"), ("cagr", "growth", "{:+.1%}")):
        low, high = row[f"{metric}_difference_low"], row[f"{metric}_difference_high"]
        value = row[f"{metric}_difference"]
        verb = "beat" if low > 0 else "trailed" if high < 0 else "could not be told apart from"
        interval = f"{fmt.format(value)} [{fmt.format(low)}, {fmt.format(high)}]"
        findings.append(f"{verb} the rule's {words} ({interval})")
    return (
        f"{learner_of(group, results.profile)}, anchored on {rule}, {kept} the budget (max drawdown "
        f"{drawdown:.1%}) and {findings[0]} and {findings[1]} over the chained test windows."
    )


def fold_table(results: ProfileResults) -> pd.DataFrame:
    """Per fold: its test window, each learner's mean test Sharpe over seeds, the rules', and the rule chosen
    on validation."""
    rows: list[dict[str, object]] = []
    for evaluation in results.evaluations:
        sharpe = evaluation.metrics["sharpe"].astype(float)
        first, last = (
            evaluation.market.timestamps[i] for i in (evaluation.bars.start, evaluation.bars.stop - 1)
        )
        row: dict[str, object] = {"test": f"{first:%Y-%m-%d} to {last:%Y-%m-%d}"}
        for group in evaluation.groups:
            row[learner_of(group.name, results.profile)] = f"{sharpe.loc[group.runs].mean():.2f}"
        for rule in shown_rules(results):
            row[rule] = f"{sharpe.loc[rule]:.2f}"
        if results.chosen:
            chosen = results.chosen[len(rows)]
            row["chosen on validation"] = f"{chosen} {sharpe.loc[chosen]:.2f}"
        rows.append(row)
    return pd.DataFrame(rows, index=pd.Index(range(1, len(rows) + 1), name="fold"))


def results_markdown(
    plan: StudyPlan, profiles: dict[str, ProfileResults], record: dict[str, Any], figures: str
) -> tuple[str, dict[str, Path]]:
    """``results.md`` and the figures it shows (name -> where to write them, under ``figures``)."""
    aggregates = aggregate_table(profiles)
    overfitting = overfitting_table(profiles)
    commands = record.get("commands") or [record["command"]]
    first, last = plan.folds[0].test[0], plan.folds[-1].test[1]
    synthetic = plan.synthetic
    first_evaluation = next(iter(profiles.values())).evaluations[0]
    costs, cash = first_evaluation.costs, first_evaluation.market.symbols[0]  # every policy's, every fold
    data = (
        f"the built-in regime-switching synthetic market, {cash} as cash"
        if synthetic
        else f"daily closes in {cash} of {Path(plan.source.source).name}, {cash} as cash"
    )
    title = f"Results on {'the synthetic market' if synthetic else 'real crypto prices'}: walk-forward"
    opening: list[Block] = [
        "Commands: "
        + ", then ".join(f"`{c}`" for c in commands)
        + f". Wall time: {record['seconds'] / 60:.1f} minutes in all on {record['cores']}-core machines "
        f"with {record.get('workers', 1)} worker(s), {record['date']}.",
        f"Protocol: for each profile on its own assets ({data}, fee {costs.fee:.1%} through the ledger), "
        f"{len(plan.folds)} folds whose test half-years tile {first} to {last}. "
        "Each fold selects on the half-year before its test window and trains on every day before that "
        f"(an expanding window from {plan.first_day}). Learners: {', '.join(plan.algos)}, with their"
        " configs' defaults and budgets of "
        + ", ".join(f"{steps:,} steps ({algo})" for algo, steps in plan.timesteps().items())
        + f", seeds {', '.join(map(str, plan.seeds))}; each learner's ensemble averages its"
        " seeds' target weights. Test windows are read for this report only.",
    ]
    verdicts: list[Block] = []
    tables, comparisons = {}, {}
    budget_blocks: list[Block] = [
        "Each profile's promise (configs/profiles.yaml) against every policy over the chained test windows: "
        "max drawdown and its excess over the tolerance (points; positive: broken), conditional drawdown at "
        "risk (the mean of the worst 5% of days' drawdowns), realized volatility and its ratio to the "
        "expected one, the longest time under water (agents: mean over seeds; seeds_kept: how many kept it). "
        "Then per fold, the test max drawdown of the budget rules and learners."
    ]
    for profile, results in profiles.items():
        table = chained_table(results)
        tables[profile] = table
        budget = Budget.of(profile)
        paths = {name: p for name, p in results.chains.items() if name != "reference"}
        kept = budget_table(paths, results.periods_per_year, budget)
        verdicts.append(
            f"- **{profile}**: {kept_sentence(kept, budget)} {keepers_against_rule(results, kept)}"
        )
        verdicts.append(
            f"- **{profile}**: {target_sentence(kept, budget, profile, budget_rules_of(results))}"
        )
        verdicts += [
            f"- **{profile}**: {budget_learner_sentence(results, kept, table, g)}"
            for g in learner_groups(results)
            if rule_of(results, g) != profile
        ]
        shown = kept.drop(columns=["sharpe", "cagr", "tolerance"])
        budget_blocks += [
            f"**{profile.capitalize()}** ({budget.describe()}):",
            formatted(
                shown.assign(kept=shown["kept"].astype(bool), seeds_kept=shown["seeds_kept"].astype(int))
            ),
            fold_budget_table(results),
        ]
        verdicts += [f"- **{profile}**: {verdict(results, table, g)}" for g in learner_groups(results)]
        comparisons[profile] = comparison_table(results)
        verdicts.append(f"- **{profile}**: {learners_sentence(results, comparisons[profile])}")
        rules = table.drop(index=[*learner_groups(results), "reference"], errors="ignore")
        sharpe, drawdown = rules["sharpe"].astype(float), rules["max_drawdown"].astype(float)
        best = str(sharpe.idxmax())
        reference = (
            f" The known-parameter reference, which knows the true regime and the market's parameters, "
            f"reached {table['sharpe'].astype(float)['reference']:.2f}."
            if "reference" in table.index
            else ""
        )
        verdicts.append(
            f"- **{profile}**: the best rule over the chained test windows was {best} (Sharpe "
            f"{float(sharpe[best]):.2f}, max drawdown {float(drawdown[best]):.1%}) against the {profile} "
            f"rule's {float(sharpe[profile]):.2f} (reported, not chosen: nothing here is chosen on test "
            f"windows).{reference}"
        )
    sections = [
        Section("Verdicts", verdicts),
        Section("Risk budgets", budget_blocks),
        Section(
            "Across profiles and folds (rliable-style)",
            [
                SCORES,
                formatted(with_intervals(aggregates, ["iqm_excess_sharpe", "p_improvement"])).join(
                    aggregates[["tasks", "runs"]].astype(int)
                ),
                f"![performance profile]({figures}/performance-profile.png)",
                "Units whose validation kept the untrained policy (the rule it is anchored on with the "
                f"learner's band, tilts at zero): {untrained_units(profiles)}. There, training did not beat "
                "the rule on the half-year before the test window.",
            ],
        ),
        Section(
            "Learners against the rules, per profile",
            [
                COMPARISON_TEXT,
                *[
                    block
                    for profile, results in profiles.items()
                    for block in (
                        f"**{profile.capitalize()}** (rules chosen on validation, fold by fold: "
                        f"{', '.join(results.chosen)}):",
                        formatted(
                            with_intervals(
                                comparisons[profile], ["over_profile", "over_regime", "over_chosen"]
                            )
                        ),
                        formatted(collapse_table(results)),
                    )
                ],
            ],
        ),
        Section(
            "Overfitting",
            [
                PBO_TEXT.format(groups=PBO_GROUPS),
                formatted(overfitting).assign(**overfitting[["candidates", "combinations"]].astype(int)),
            ],
        ),
    ]
    figure_paths = {"performance-profile.png": Path(figures) / "performance-profile.png"}
    for profile, results in profiles.items():
        name = f"{profile}-equity.png"
        figure_paths[name] = Path(figures) / name
        groups = learner_groups(results)
        agents, rules = tables[profile].loc[groups], tables[profile].drop(index=groups)
        sections.append(
            Section(
                profile.capitalize(),
                [
                    "Chained test windows, agents (mean over seeds; differences to the rule each is anchored "
                    "on, the profile rule or for the _budget learners its +voltarget+ddbrake rule, with 95% "
                    f"paired block-bootstrap intervals over the whole path; {PAIRED_COVERAGE}):",
                    formatted(with_intervals(agents, agents.columns)),
                    "Chained test windows, rules:",
                    formatted(rules[["sharpe", "cagr", "max_drawdown"]]),
                    "Per fold, test Sharpe ratios (agents: mean over seeds):",
                    fold_table(results),
                    f"![{profile} equity]({figures}/{name})",
                ],
            )
        )
    return render_page(Page(title, opening, sections)), figure_paths


def write_results(
    plan: StudyPlan, profiles: dict[str, ProfileResults], record: dict[str, Any], out: Path
) -> Path:
    """``out/results.md`` with its figures in ``out/results/``."""
    text, figures = results_markdown(plan, profiles, record, "results")
    out.mkdir(parents=True, exist_ok=True)
    performance_profile_figure(profiles, out / figures["performance-profile.png"])
    for profile, results in profiles.items():
        equity_figure(results, chained_dates(results), out / figures[f"{profile}-equity.png"])
    (out / "results.md").write_text(text)
    return out / "results.md"
