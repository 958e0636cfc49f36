"""`cryptofolio ablation`: which generalization levers help a learned policy out of sample.

    cryptofolio ablation --market ../shared/data/binance-daily --publish docs      (= make ablation)

Every variant of ``configs/ablation.yaml`` trains the same algorithm for the same profile
(one run per seed), is selected on the validation split like any run, and is tested once on
the test split against the profile's baseline. The variant chosen is the one with the best
mean validation Sharpe ratio: the test split is read for the report only. Writes
``reports/ablation/summary.md`` (and ``DIR/ablation.md`` with ``--publish``); ``--reuse``
reports on the runs of an earlier ablation without training again; ``--quick`` is a smoke test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import configs
from agents.sb3 import STATE, read_run_metadata, snapshot_folder
from envs import DataError
from envs.market_args import MarketSpec, market_from_spec, spec_of
from evaluation.evaluate import Evaluation, evaluate, find_runs
from evaluation.report import formatted, markdown_table, with_intervals
from training.config import resolve_config
from training.run_folder import RunFolder, versions
from training.train import train

RECORD = "ablation.json"
QUICK_TIMESTEPS, QUICK_SEEDS, QUICK_OVERRIDES = 512, [0], ["eval_freq=256", "n_envs=2"]


def market_spec(market_path: str, setup: dict[str, Any]) -> MarketSpec:
    """The setup's market: its assets on ``market_path``, USDT as cash."""
    return spec_of({"market": market_path, "assets": setup["assets"]})


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
) -> None:
    """Train every variant and seed into ``root/<variant>/``."""
    splits = {name: tuple(map(str, dates)) for name, dates in setup["splits"].items()}
    for name, variant in variants.items():
        overrides = variant_overrides(setup, variant)
        for seed in QUICK_SEEDS if quick else setup["seeds"]:
            config = resolve_config(
                variant.get("algo", setup["algo"]),
                setup["profile"],
                overrides=[*overrides, *(QUICK_OVERRIDES if quick else [])],
                n_timesteps=QUICK_TIMESTEPS if quick else setup["timesteps"],
                seed=seed,
                splits=splits,
                **market_spec(market_path, setup),
            )
            print(f"{name}: training {config.algo} seed {seed}", flush=True)
            train(config, RunFolder.create(root / name, config), progress_bar=progress_bar)


def evaluate_variants(
    market_path: str, setup: dict[str, Any], variants: Sequence[str], root: Path
) -> dict[str, Evaluation]:
    """Each variant's runs on the test split, against the setup's baselines."""
    market, splits = market_from_spec(**market_spec(market_path, setup), splits=setup["splits"])
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
        "95% paired block-bootstrap interval), and the seeds whose test Sharpe beats the baseline's with a "
        "smaller max drawdown:",
        markdown_table(formatted(versus.join(table[["seeds_meeting_target"]]))),
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


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--market", default="../shared/data/binance-daily", help="folder of daily per-asset CSVs"
    )
    parser.add_argument("--variants", help="comma-separated variants of configs/ablation.yaml (default: all)")
    parser.add_argument(
        "--out", type=Path, default=Path("reports/ablation"), help="reports (reports/ablation)"
    )
    parser.add_argument("--checkpoints", type=Path, default=Path("checkpoints/ablation"), help="run folders")
    parser.add_argument("--reuse", type=Path, metavar="FOLDER", help="report on an earlier ablation's runs")
    parser.add_argument("--publish", type=Path, help="also write DIR/ablation.md (e.g. docs)")
    parser.add_argument("--quick", action="store_true", help="one seed, tiny budgets: a smoke test")
    parser.add_argument("--no-progress-bar", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    command = " ".join([prog or "python -m training.ablation", *(sys.argv[1:] if argv is None else argv)])
    document = configs.read("ablation")
    setup, variants = document["setup"], document["variants"]
    if args.variants:
        names = [v.strip() for v in args.variants.split(",") if v.strip()]
        unknown = [n for n in names if n not in variants]
        if unknown:
            parser.error(
                f"unknown variant(s) {', '.join(unknown)}; configs/ablation.yaml has {', '.join(variants)}"
            )
        variants = {n: variants[n] for n in names}
    started = time.perf_counter()
    found = versions()
    try:
        if args.reuse is not None:
            root = args.reuse
            record = json.loads((root / RECORD).read_text())
        else:
            root = args.checkpoints / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            train_variants(args.market, setup, variants, root, args.quick, not args.no_progress_bar)
            record = {
                "command": command,
                "seconds": time.perf_counter() - started,
                "date": dt.date.today().isoformat(),
                "cores": os.cpu_count(),
                "seeds": QUICK_SEEDS if args.quick else setup["seeds"],
                "timesteps": QUICK_TIMESTEPS if args.quick else setup["timesteps"],
                "versions": found,
            }
            (root / RECORD).write_text(json.dumps(record, indent=2))
        evaluations = evaluate_variants(args.market, setup, list(variants), root)
    except (ValueError, KeyError, FileNotFoundError, DataError) as error:
        parser.error(str(error).strip("'\""))
    text = summary_markdown(evaluations, variants, setup, root, record)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.md").write_text(text)
    if args.publish is not None:
        args.publish.mkdir(parents=True, exist_ok=True)
        (args.publish / "ablation.md").write_text(text)
    print(text.split("## Verdict", 1)[1].strip())
    print(f"summary: {args.out / 'summary.md'}; runs in {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
