"""The ablation (``cryptofolio ablation``): which generalization levers help a learned policy.

Each variant of ``configs/ablation.yaml`` is its setup's ``base`` (every lever off) plus its
own overrides (:func:`variant_overrides`); the variant chosen has the best mean validation
Sharpe ratio (:func:`chosen_variant`), and the test split is read for the report only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cryptofolio.agents.sb3 import METADATA, read_run_metadata, snapshot_folder
from cryptofolio.agents.snapshots import STATE
from cryptofolio.envs import MarketConfig
from cryptofolio.envs.config import from_data, to_data
from cryptofolio.envs.errors import ConfigError, RunFolderError
from cryptofolio.envs.files import read_json_object
from cryptofolio.evaluation.evaluate import evaluate
from cryptofolio.evaluation.rendering import Block, Section
from cryptofolio.evaluation.results import Evaluation
from cryptofolio.evaluation.statistics import PAIRED_COVERAGE
from cryptofolio.evaluation.tables import formatted, with_intervals
from cryptofolio.training.budgets import (
    ABLATION_QUICK_OVERRIDES,
    ABLATION_QUICK_SEEDS,
    ABLATION_QUICK_TIMESTEPS,
)
from cryptofolio.training.engine import Unit, check_units, train_units
from cryptofolio.training.report_pages import Page, render_page
from cryptofolio.training.run_folder import RunFolder

RECORD = "ablation.json"
ENSEMBLE = " (ensemble)"
"""The suffix of an ensemble's row: ``<variant> (ensemble)``."""


def profile_setup(setup: dict[str, Any], profile: str | None = None) -> dict[str, Any]:
    """The setup of ``configs/ablation.yaml`` for one profile (default: the setup's): that profile's
    assets, and its baselines (``{profile}`` in a baseline's name is the profile's)."""
    profile = profile or setup["profile"]
    if profile not in setup["assets"]:
        raise ConfigError(
            f"--profile: configs/ablation.yaml lists assets for {', '.join(setup['assets'])}, not {profile!r}"
        )
    baselines = [name.format(profile=profile) for name in setup["baselines"]]
    return {**setup, "profile": profile, "assets": setup["assets"][profile], "baselines": baselines}


def setup_market(source: MarketConfig | str, setup: dict[str, Any]) -> MarketConfig:
    """The setup's market: ``source`` (its data and options: gaps, cash, column mapping) on the setup's
    assets and splits."""
    source = MarketConfig(source=source) if isinstance(source, str) else source
    data = {**to_data(source), "assets": setup["assets"], "splits": setup["splits"]}
    return from_data(MarketConfig, data, "configs/ablation.yaml: setup")


def variant_overrides(setup: dict[str, Any], variant: dict[str, Any]) -> list[str]:
    """``key=value`` overrides of a variant: the setup's ``base`` (every lever off), its algorithm's
    ``algo_base`` (levers of that algorithm's own settings), then its own."""
    algo_base = setup.get("algo_base", {}).get(variant.get("algo", setup["algo"]), {})
    settings = {**setup["base"], **algo_base, **variant["set"]}
    return [f"{key}={json.dumps(value)}" for key, value in settings.items()]


def variant_unit(
    source: MarketConfig, setup: dict[str, Any], name: str, variant: dict[str, Any], seed: int, quick: bool
) -> Unit:
    """One run of a variant: its algorithm and overrides, its budget (or the setup's), ``seed``; its run
    folder ``<name>/<algo>-s<seed>``."""
    algo = variant.get("algo", setup["algo"])
    return Unit(
        key=f"{name}/{algo}-s{seed}",
        algo=algo,
        profile=setup["profile"],
        seed=seed,
        market=setup_market(source, setup),
        timesteps=ABLATION_QUICK_TIMESTEPS if quick else variant.get("timesteps", setup["timesteps"]),
        overrides=(*variant_overrides(setup, variant), *(ABLATION_QUICK_OVERRIDES if quick else ())),
        note=name,
    )


def ablation_units(
    source: MarketConfig, setup: dict[str, Any], variants: dict[str, dict[str, Any]], quick: bool = False
) -> list[Unit]:
    """Every variant's every seed (``--quick``: its two seeds), variant by variant."""
    seeds = ABLATION_QUICK_SEEDS if quick else setup["seeds"]
    return [
        variant_unit(source, setup, name, variant, seed, quick)
        for name, variant in variants.items()
        for seed in seeds
    ]


def complete_runs(folder: Path) -> list[Path]:
    """The run folders under ``folder`` that trained all their steps, in name order."""
    return [run for run in _runs(folder) if RunFolder(run).progress() == "complete"]


def _runs(folder: Path) -> list[Path]:
    """The run folders under ``folder`` that got as far as their metadata, in name order."""
    return sorted(p.parent for p in folder.glob(f"*/{METADATA}"))


def train_variants(
    source: MarketConfig,
    setup: dict[str, Any],
    variants: dict[str, dict[str, Any]],
    root: Path,
    quick: bool = False,
    progress_bar: bool = False,
    command: Sequence[str] = (),
    workers: int = 1,
) -> None:
    """Train every variant and seed into ``root/<variant>/<algo>-s<seed>`` by the engine's rule (complete:
    skipped; cut short: resumed), after checking the setup's market and splits load.

    :param workers: runs trained at once, each in its own process (1: one after another, here).
    """
    units = ablation_units(source, setup, variants, quick)
    check_units(units)
    train_units(units, root, workers, command, progress_bar and workers == 1)


def evaluate_variants(
    source: MarketConfig, setup: dict[str, Any], variants: Sequence[str], root: Path
) -> dict[str, Evaluation]:
    """Each variant's complete runs and their ensemble on the test split, against the setup's baselines."""
    market, splits = setup_market(source, setup).load()
    return {
        name: evaluate(complete_runs(root / name), setup["baselines"], market, splits, "test", ensemble=True)
        for name in variants
    }


def validation_row(runs: Sequence[str], root: Path) -> dict[str, Any]:
    """Validation metrics of the selected models (mean and std over seeds), their turnover as a
    multiple of the profile rule's on validation, and how many runs kept the untrained policy."""
    states = [selected_state(snapshot_folder(root / run, "best") / STATE) for run in runs]
    row: dict[str, Any] = {}
    for metric in ("sharpe", "max_drawdown"):
        values = np.array([s["validation"][metric] for s in states])
        row |= {
            f"val_{metric}": values.mean(),
            f"val_{metric}_std": values.std(ddof=1) if len(values) > 1 else np.nan,
        }
    rule = read_run_metadata(root / runs[0])["validation_baseline"]["turnover"]
    row["val_turnover_x_rule"] = np.mean([s["validation"]["turnover"] for s in states]) / rule
    row["untrained_selected"] = f"{sum(s['timesteps'] == 0 for s in states)} of {len(states)}"
    return row


def selected_state(path: Path) -> dict[str, Any]:
    """A selected model's ``state.json``, checked to hold what :func:`validation_row` reads: ``timesteps``
    a whole number, ``validation`` an object of numbers ``sharpe``, ``max_drawdown`` and ``turnover``.

    :raises RunFolderError: naming the file and the entry.
    """
    state = read_json_object(path, RunFolderError)
    steps, validation = state.get("timesteps"), state.get("validation")
    if isinstance(steps, bool) or not isinstance(steps, int):
        raise RunFolderError(f"{path}: timesteps must be a whole number, got {steps!r:.80}")
    if not isinstance(validation, dict):
        raise RunFolderError(f"{path}: validation must be an object of metrics, got {validation!r:.80}")
    for metric in ("sharpe", "max_drawdown", "turnover"):
        value = validation.get(metric)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RunFolderError(f"{path}: validation {metric} must be a number, got {value!r:.80}")
    return state


def ablation_table(evaluations: dict[str, Evaluation], root: Path, profile: str) -> pd.DataFrame:
    """Per variant: validation, test (95% intervals over seeds), and the differences to the baseline;
    then a row ``<variant> (ensemble)`` per variant, the policy averaging its seeds' weights (test only)."""
    rows, ensembles = {}, {}
    for name, evaluation in evaluations.items():
        baseline = evaluation.metrics.loc[profile]
        for group in evaluation.groups:
            summary = evaluation.group_summary.loc[group.name]
            comparison = evaluation.comparisons.loc[group.name]
            runs = evaluation.metrics.loc[group.runs]
            beats = (runs["sharpe"] > baseline["sharpe"]) & (runs["max_drawdown"] < baseline["max_drawdown"])
            row = {} if group.ensemble_of else validation_row(group.runs, root / name)
            for metric in ("sharpe", "max_drawdown", "total_return", "turnover", "fees"):
                row |= {f"test_{metric}{s}": summary[f"{metric}{s}"] for s in ("", "_std", "_low", "_high")}
            for metric in ("sharpe", "max_drawdown"):
                row |= {
                    f"{metric}_vs_{profile}{s}": comparison[f"{metric}_difference{s}"]
                    for s in ("", "_low", "_high")
                }
            multiples = runs["turnover"].to_numpy(dtype=float) / baseline["turnover"]
            if group.ensemble_of:
                row["beats_on_both"] = "yes" if beats.all() else "no"
                row[f"turnover_x_{profile}"] = f"{multiples[0]:.1f}x"
                ensembles[f"{name}{ENSEMBLE}"] = row
            else:
                row["seeds_meeting_target"] = f"{int(beats.sum())} of {len(runs)}"
                row[f"turnover_x_{profile}"] = (
                    f"{multiples.mean():.1f}x ({multiples.min():.1f}x to {multiples.max():.1f}x)"
                )
                rows[name] = row
    return pd.DataFrame({**rows, **ensembles}).T


def chosen_variant(table: pd.DataFrame, turnover_limit: float = np.inf) -> str:
    """The variant with the best mean validation Sharpe ratio (the test columns play no part).

    Turnover beyond ``turnover_limit`` times the rule's (on validation) must pay for itself: such a
    variant is chosen only if its validation Sharpe ratio minus its std over seeds still beats the
    best of the variants within the limit.
    """
    validated = table.dropna(subset=["val_sharpe"])
    sharpe = validated["val_sharpe"].astype(float)
    within = validated["val_turnover_x_rule"].astype(float) <= turnover_limit
    if not within.any():
        return str(sharpe.idxmax())
    best = float(sharpe[within].max())
    paying = (sharpe - validated["val_sharpe_std"].astype(float).fillna(0.0))[~within]
    paying = paying[paying > best]
    return str(sharpe[paying.index].idxmax() if len(paying) else sharpe[within].idxmax())


def baseline_rows(evaluation: Evaluation, setup: dict[str, Any]) -> pd.DataFrame:
    """The baselines' test metrics."""
    table = evaluation.metrics.loc[
        setup["baselines"], ["sharpe", "max_drawdown", "total_return", "turnover", "fees"]
    ]
    return table.rename(columns=lambda c: f"test_{c}")


def summary_markdown(
    evaluations: dict[str, Evaluation],
    variants: dict[str, dict[str, Any]],
    setup: dict[str, Any],
    root: Path,
    record: dict[str, Any],
) -> str:
    """The ablation's report: what ran, the table, the chosen variant and the verdict on the target."""
    profile = setup["profile"]
    table = ablation_table(evaluations, root, profile)
    limit = float(setup["turnover_limit"])
    chosen = chosen_variant(table, limit)
    algos = {name: variants[name].get("algo", setup["algo"]) for name in evaluations}
    first = next(iter(evaluations.values()))
    baseline = first.metrics.loc[profile]
    any_run = first.groups[0].runs[0]
    baseline_validation = read_run_metadata(root / next(iter(evaluations)) / any_run)["validation_baseline"]
    validated = table.dropna(subset=["val_sharpe"])
    validation = with_intervals(validated, [c for c in table.columns if c.startswith("val_")])
    validation["val_turnover_x_rule"] = [f"{x:.1f}x" for x in validated["val_turnover_x_rule"]]
    test_columns = [c for c in table.columns if c.startswith("test_")]
    test = with_intervals(validated, test_columns)
    versus_columns = [c for c in table.columns if "_vs_" in c]
    versus = with_intervals(validated, versus_columns)
    ensembles = table.loc[[n for n in table.index if n.endswith(ENSEMBLE)]]
    ensemble_lines: list[Block] = ["With one seed per variant, there are no ensembles."]
    if len(ensembles):
        together = formatted(
            ensembles[[c for c in test_columns if not c.endswith(("_std", "_low", "_high"))]]
        )
        together = together.join(formatted(with_intervals(ensembles, versus_columns)))
        together = together.join(ensembles[["beats_on_both", f"turnover_x_{profile}"]])
        ensemble_lines = [
            "Each variant's ensemble of its seeds on test: its metrics, its differences to the baseline (95% "
            "paired block-bootstrap interval), whether it beats the baseline's Sharpe with a smaller max "
            "drawdown, and its turnover as a multiple of the rule's:",
            together,
        ]
    picks = per_learner(table, algos, limit)
    row = table.loc[chosen]
    steps, seeds = record.get("timesteps", setup["timesteps"]), record.get("seeds", setup["seeds"])
    commands = record.get("commands", [record["command"]])
    costs, cash = first.costs, first.market.symbols[0]
    source = first.market.source
    data = (
        "the built-in synthetic market"
        if source.startswith("synthetic")
        else f"daily closes of {Path(source).name}"
    )
    opening: list[Block] = [
        "Command"
        + ("s" if len(commands) > 1 else "")
        + ": "
        + ", then ".join(f"`{c}`" for c in commands)
        + f". Wall time: {record['seconds'] / 60:.1f} minutes"
        + (" in all" if len(commands) > 1 else "")
        + f", {record.get('workers', 1)} run(s) at once on a {record['cores']}-core machine, "
        + f"{record['date']}. "
        "Versions: "
        + ", ".join(f"{k} {v}" for k, v in record["versions"].items() if k != "git_commit")
        + ". Code: "
        + ", ".join(
            f"{commit[:7]}{commit[40:]} ({n} runs)" for commit, n in run_commits(evaluations, root).items()
        )
        + ".",
        f"Setup: {setup['algo'].upper()} (unless a variant names another) for the {profile} profile on "
        f"{', '.join(setup['assets'])} plus {cash} "
        f"as cash ({data}), fee {costs.fee:.1%} through the ledger; {steps:,} steps per run, "
        f"seeds {', '.join(map(str, seeds))}; train "
        f"{' to '.join(map(str, setup['splits']['train']))}, validation (model selection, and the choice of "
        f"variant) {' to '.join(map(str, setup['splits']['validation']))}, test "
        f"{' to '.join(map(str, setup['splits']['test']))}, read only for this report. Every run's "
        "candidates include its untrained policy, so validation can keep it.",
    ]
    variant_lines: list[Block] = [
        *[
            f"- `{name}`: {variants[name]['what']}"
            + ("" if record.get("quick") else _budget(variants[name], steps))
            for name in evaluations
        ],
        "Each variant's ensemble is the policy whose target weights are the mean of its seeds' "
        "(`cryptofolio evaluate --ensemble`), through the same ledger; it is reported on test beside the "
        "seeds, and plays no part in the choice.",
    ]
    validation_lines: list[Block] = [
        f"The {profile} baseline's validation Sharpe ratio: {baseline_validation['sharpe']:.2f}, "
        f"max drawdown {baseline_validation['max_drawdown']:.1%}. Per variant, mean ± std over seeds of the "
        "selected models, their turnover as a multiple of the rule's on validation, and how many runs kept "
        "the untrained policy:",
        formatted(validation).join(validated[["untrained_selected"]]),
        f"The choice: the best mean validation Sharpe ratio among the variants whose validation turnover is "
        f"within {limit:g} times the rule's; one beyond it only if its Sharpe minus its std over seeds still "
        f"beats that (validation pays for the trading). Chosen: `{chosen}` (validation Sharpe "
        f"{row['val_sharpe']:.2f}, turnover {row['val_turnover_x_rule']:.1f}x the rule's). Per learner, "
        "by the same rule:",
        *[
            f"- {algo}: `{pick}` (validation Sharpe {table['val_sharpe'].astype(float)[pick]:.2f})"
            for algo, pick in picks.items()
        ],
    ]
    test_lines: list[Block] = [
        f"The {profile} baseline on test: Sharpe {baseline['sharpe']:.2f}, max drawdown "
        f"{baseline['max_drawdown']:.1%}, return {baseline['total_return']:.1%}. Per variant, mean ± std "
        "[95% interval over seeds]:",
        formatted(test),
        f"Differences to the {profile} baseline over the same bars (mean of the seeds minus the baseline, "
        f"95% paired block-bootstrap interval; {PAIRED_COVERAGE}), the seeds whose test Sharpe beats the "
        "baseline's with a "
        f"smaller max drawdown, and each variant's turnover as a multiple of the {profile} rule's (mean, "
        "and the lowest to highest seed):",
        formatted(versus.join(validated[["seeds_meeting_target", f"turnover_x_{profile}"]])),
        *ensemble_lines,
        "Baselines on test:",
        formatted(baseline_rows(first, setup)),
    ]
    verdict_lines: list[Block] = [
        *verdict(table, chosen, profile, first.metrics.loc[setup["baselines"], "sharpe"]),
        "Each learner's variant chosen on validation (among its own variants, by the same rule), on test:",
        learner_table(table, picks, profile),
        *drawdown_verdict(table, profile, baseline),
    ]
    sections = [
        Section("Variants", variant_lines),
        Section("Validation (the only basis of choice)", validation_lines),
        Section("Test", test_lines),
        Section("Verdict", verdict_lines),
    ]
    return render_page(Page("Ablation: levers for agents that generalize", opening, sections))


def run_commits(evaluations: dict[str, Evaluation], root: Path) -> dict[str, int]:
    """How many of the runs each git commit trained, as each run folder recorded it."""
    commits = [
        read_run_metadata(root / name / run)["versions"]["git_commit"]
        for name, evaluation in evaluations.items()
        for group in evaluation.groups
        if not group.ensemble_of
        for run in group.runs
    ]
    return {commit: commits.count(commit) for commit in dict.fromkeys(commits)}


def _budget(variant: dict[str, Any], steps: int) -> str:
    """`` (N steps per run)`` for a variant with a budget of its own, else nothing."""
    own = variant.get("timesteps", steps)
    return f" ({own:,} steps per run)" if own != steps else ""


def per_learner(table: pd.DataFrame, algos: dict[str, str], turnover_limit: float) -> dict[str, str]:
    """Each algorithm's variant chosen by :func:`chosen_variant` among its own variants."""
    return {
        algo: chosen_variant(table.loc[[n for n, a in algos.items() if a == algo]], turnover_limit)
        for algo in dict.fromkeys(algos.values())
    }


def learner_table(table: pd.DataFrame, picks: dict[str, str], profile: str) -> pd.DataFrame:
    """Per learner: its chosen variant's test Sharpe ratio and max drawdown, seeds and ensemble."""
    rows = {}
    for algo, pick in picks.items():
        seeds = table.loc[pick]
        rows[algo] = {
            "variant": f"`{pick}`",
            "test_sharpe": f"{seeds['test_sharpe']:.2f} ± {seeds['test_sharpe_std']:.2f}",
            "test_max_drawdown": f"{seeds['test_max_drawdown']:.1%} ± {seeds['test_max_drawdown_std']:.1%}",
            "seeds_meeting_target": seeds["seeds_meeting_target"],
        }
        if f"{pick}{ENSEMBLE}" in table.index:  # (one seed has no ensemble)
            together = table.loc[f"{pick}{ENSEMBLE}"]
            rows[algo] |= {
                "ensemble_sharpe": f"{together['test_sharpe']:.2f}",
                "ensemble_max_drawdown": f"{together['test_max_drawdown']:.1%}",
                "ensemble_beats_on_both": together["beats_on_both"],
            }
    return pd.DataFrame(rows).T


COMPARABLE_SHARPE = 0.1
"""A test Sharpe ratio at most this far below the profile's counts as comparable."""


def drawdown_verdict(table: pd.DataFrame, profile: str, baseline: pd.Series) -> list[str]:
    """The second target: a max drawdown at least 30% smaller than the profile's at comparable Sharpe."""
    sharpe = table["test_sharpe"].astype(float)
    reduction = 1.0 - table["test_max_drawdown"].astype(float) / baseline["max_drawdown"]
    comparable = sharpe >= baseline["sharpe"] - COMPARABLE_SHARPE
    met = reduction[comparable & (reduction >= 0.3)]
    closest = reduction[comparable].idxmax() if comparable.any() else None
    lines = [
        f"The second target: a test max drawdown at least 30% smaller than the {profile} baseline's "
        f"({baseline['max_drawdown']:.1%}) at a comparable Sharpe ratio (mean test Sharpe at least "
        f"{baseline['sharpe'] - COMPARABLE_SHARPE:.2f}, the baseline's minus {COMPARABLE_SHARPE})."
    ]
    if len(met):
        lines.append("- Met by " + ", ".join(f"`{n}` ({reduction[n]:.0%} smaller)" for n in met.index) + ".")
    elif closest is not None:
        lines.append(
            f"- Not met. Closest at comparable Sharpe: `{closest}`, {reduction[closest]:.0%} smaller "
            f"(Sharpe {sharpe[closest]:.2f})."
        )
    else:
        lines.append("- Not met: no variant had a comparable Sharpe ratio.")
    return lines


def verdict(table: pd.DataFrame, chosen: str, profile: str, baseline_sharpes: pd.Series) -> list[str]:
    """The target, in words: met across seeds? with 95% confidence? which baselines did better?"""
    row = table.loc[chosen]
    met, seeds = (int(x) for x in str(row["seeds_meeting_target"]).split(" of "))
    confident = [
        name
        for name in table.index
        if table.loc[name, f"sharpe_vs_{profile}_low"] > 0
        and table.loc[name, f"max_drawdown_vs_{profile}_high"] < 0
    ]
    better = [
        f"{n} ({v:.2f})" for n, v in baseline_sharpes.items() if n != profile and v > row["test_sharpe"]
    ]
    sharpe, drawdown = f"sharpe_vs_{profile}", f"max_drawdown_vs_{profile}"
    return [
        f"The target: a test Sharpe ratio above the {profile} baseline's with a smaller max drawdown, across "
        f"seeds, after fees, for a variant chosen without looking at test. The chosen `{chosen}`: Sharpe "
        f"difference {row[sharpe]:+.2f} [{row[f'{sharpe}_low']:+.2f}, {row[f'{sharpe}_high']:+.2f}], max "
        f"drawdown difference {row[drawdown]:+.1%} [{row[f'{drawdown}_low']:+.1%}, "
        f"{row[f'{drawdown}_high']:+.1%}].",
        (
            f"- Across seeds: met. Each of the {seeds} seeds beats the {profile} baseline on both."
            if met == seeds
            else f"- Across seeds: not met. {met} of {seeds} seeds beat the {profile} baseline on both."
        ),
        (
            f"- With 95% confidence on both differences: {', '.join(confident)}."
            if confident
            else "- With 95% confidence on both differences: no variant. For the chosen one, the Sharpe "
            f"interval {'excludes' if row[f'{sharpe}_low'] > 0 else 'includes'} zero, the drawdown "
            f"interval {'excludes' if row[f'{drawdown}_high'] < 0 else 'includes'} it."
        ),
        (
            f"- Baselines with a higher test Sharpe than `{chosen}`: {', '.join(better)}."
            if better
            else f"- No other baseline had a higher test Sharpe than `{chosen}`."
        ),
    ]
