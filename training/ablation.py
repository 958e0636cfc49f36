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

from cryptofolio.agents.sb3 import read_run_metadata, snapshot_folder
from cryptofolio.agents.snapshots import STATE
from cryptofolio.envs import MarketConfig
from cryptofolio.envs.config import from_data
from cryptofolio.evaluation.evaluate import evaluate, find_runs
from cryptofolio.evaluation.report import formatted, markdown_table, with_intervals
from cryptofolio.evaluation.results import Evaluation
from cryptofolio.training.config import resolve_config
from cryptofolio.training.run_folder import RunFolder
from cryptofolio.training.train import train

RECORD = "ablation.json"
QUICK_TIMESTEPS, QUICK_SEEDS, QUICK_OVERRIDES = 512, [0], ["eval_freq=256", "n_envs=2"]


def setup_market(market_path: str, setup: dict[str, Any]) -> MarketConfig:
    """The setup's market: its assets on ``market_path``, USDT as cash, the setup's splits."""
    data = {"source": market_path, "assets": setup["assets"], "splits": setup["splits"]}
    return from_data(MarketConfig, data, "configs/ablation.yaml: setup")


def variant_overrides(setup: dict[str, Any], variant: dict[str, Any]) -> list[str]:
    """``key=value`` overrides of a variant: the setup's ``base`` (every lever off), then its own."""
    return [f"{key}={json.dumps(value)}" for key, value in {**setup["base"], **variant["set"]}.items()]


def train_variants(
    market_path: str,
    setup: dict[str, Any],
    variants: dict[str, dict[str, Any]],
    root: Path,
    quick: bool = False,
    progress_bar: bool = False,
    command: Sequence[str] = (),
) -> None:
    """Train every variant and seed into ``root/<variant>/`` (``command``: recorded in each run)."""
    market = setup_market(market_path, setup)
    for name, variant in variants.items():
        overrides = variant_overrides(setup, variant)
        for seed in QUICK_SEEDS if quick else setup["seeds"]:
            config = resolve_config(
                variant.get("algo", setup["algo"]),
                setup["profile"],
                overrides=[*overrides, *(QUICK_OVERRIDES if quick else [])],
                market=market,
                n_timesteps=QUICK_TIMESTEPS if quick else setup["timesteps"],
                seed=seed,
            )
            print(f"{name}: training {config.algo} seed {seed}", flush=True)
            train(config, RunFolder.create(root / name, config), progress_bar=progress_bar, command=command)


def evaluate_variants(
    market_path: str, setup: dict[str, Any], variants: Sequence[str], root: Path
) -> dict[str, Evaluation]:
    """Each variant's runs on the test split, against the setup's baselines."""
    market, splits = setup_market(market_path, setup).load()
    return {
        name: evaluate(find_runs([str(root / name / "*")]), setup["baselines"], market, splits, "test")
        for name in variants
    }


def validation_row(runs: Sequence[str], root: Path) -> dict[str, Any]:
    """Validation metrics of the selected models (mean and std over seeds), and how many were untrained."""
    states = [json.loads((snapshot_folder(root / run, "best") / STATE).read_text()) for run in runs]
    row: dict[str, Any] = {}
    for metric in ("sharpe", "max_drawdown"):
        values = np.array([s["validation"][metric] for s in states])
        row |= {
            f"val_{metric}": values.mean(),
            f"val_{metric}_std": values.std(ddof=1) if len(values) > 1 else np.nan,
        }
    row["untrained_selected"] = f"{sum(s['timesteps'] == 0 for s in states)} of {len(states)}"
    return row


def ablation_table(evaluations: dict[str, Evaluation], root: Path, profile: str) -> pd.DataFrame:
    """Per variant: validation, test (95% intervals over seeds), and the differences to the baseline."""
    rows = {}
    for name, evaluation in evaluations.items():
        (group,) = evaluation.groups
        summary = evaluation.group_summary.loc[group.name]
        comparison = evaluation.comparisons.loc[group.name]
        runs = evaluation.metrics.loc[group.runs]
        baseline = evaluation.metrics.loc[profile]
        beats = (runs["sharpe"] > baseline["sharpe"]) & (runs["max_drawdown"] < baseline["max_drawdown"])
        row = validation_row(group.runs, root / name)
        for metric in ("sharpe", "max_drawdown", "total_return", "turnover", "fees"):
            row |= {f"test_{metric}{s}": summary[f"{metric}{s}"] for s in ("", "_std", "_low", "_high")}
        for metric in ("sharpe", "max_drawdown"):
            row |= {
                f"{metric}_vs_{profile}{s}": comparison[f"{metric}_difference{s}"]
                for s in ("", "_low", "_high")
            }
        row["seeds_meeting_target"] = f"{int(beats.sum())} of {len(runs)}"
        multiples = runs["turnover"].to_numpy(dtype=float) / baseline["turnover"]
        row[f"turnover_x_{profile}"] = (
            f"{multiples.mean():.1f}x ({multiples.min():.1f}x to {multiples.max():.1f}x)"
        )
        rows[name] = row
    return pd.DataFrame(rows).T


def chosen_variant(table: pd.DataFrame) -> str:
    """The variant with the best mean validation Sharpe ratio (the test columns play no part)."""
    return str(table["val_sharpe"].astype(float).idxmax())


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
    chosen = chosen_variant(table)
    first = next(iter(evaluations.values()))
    baseline = first.metrics.loc[profile]
    any_run = first.groups[0].runs[0]
    baseline_validation = read_run_metadata(root / next(iter(evaluations)) / any_run)["validation_baseline"]
    validation = with_intervals(table, [c for c in table.columns if c.startswith("val_")])
    test_columns = [c for c in table.columns if c.startswith("test_")]
    test = with_intervals(table, test_columns)
    versus = with_intervals(table, [c for c in table.columns if "_vs_" in c])
    row = table.loc[chosen]
    steps, seeds = record.get("timesteps", setup["timesteps"]), record.get("seeds", setup["seeds"])
    lines = [
        "# Ablation: levers for agents that generalize",
        f"Command: `{record['command']}`. Wall time: {record['seconds'] / 60:.1f} minutes on a "
        f"{record['cores']}-core machine, {record['date']}. Versions: "
        + ", ".join(f"{k} {v}" for k, v in record["versions"].items())
        + ".",
        f"Setup: {setup['algo'].upper()} (unless a variant names another) for the {profile} profile on "
        f"{', '.join(setup['assets'])} plus USDT "
        f"as cash (Binance daily closes), fee 0.1% through the ledger; {steps:,} steps per run, "
        f"seeds {', '.join(map(str, seeds))}; train "
        f"{' to '.join(map(str, setup['splits']['train']))}, validation (model selection, and the choice of "
        f"variant) {' to '.join(map(str, setup['splits']['validation']))}, test "
        f"{' to '.join(map(str, setup['splits']['test']))}, read only for this report. Every run's "
        "candidates include its untrained policy, so validation can keep it.",
        "## Variants",
        *[f"- `{name}`: {variants[name]['what']}" for name in table.index],
        "## Validation (the only basis of choice)",
        f"The {profile} baseline's validation Sharpe ratio: {baseline_validation['sharpe']:.2f}, "
        f"max drawdown {baseline_validation['max_drawdown']:.1%}. Per variant, mean ± std over seeds of the "
        "selected models, and how many runs kept the untrained policy:",
        markdown_table(formatted(validation).join(table[["untrained_selected"]])),
        f"Chosen on validation: `{chosen}` (validation Sharpe {row['val_sharpe']:.2f}).",
        "## Test",
        f"The {profile} baseline on test: Sharpe {baseline['sharpe']:.2f}, max drawdown "
        f"{baseline['max_drawdown']:.1%}, return {baseline['total_return']:.1%}. Per variant, mean ± std "
        "[95% interval over seeds]:",
        markdown_table(formatted(test)),
        f"Differences to the {profile} baseline over the same bars (mean of the seeds minus the baseline, "
        "95% paired block-bootstrap interval), the seeds whose test Sharpe beats the baseline's with a "
        f"smaller max drawdown, and each variant's turnover as a multiple of the {profile} rule's (mean, "
        "and the lowest to highest seed):",
        markdown_table(formatted(versus.join(table[["seeds_meeting_target", f"turnover_x_{profile}"]]))),
        "Baselines on test:",
        markdown_table(formatted(baseline_rows(first, setup))),
        "## Verdict",
        *verdict(table, chosen, profile, first.metrics.loc[setup["baselines"], "sharpe"]),
    ]
    return "\n\n".join(lines) + "\n"


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
