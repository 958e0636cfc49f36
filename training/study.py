"""`cryptofolio study`: the results study on real prices, one report per risk profile and a summary.

    cryptofolio study --market ../shared/data/binance-daily --publish docs      (= make study)

For each profile it trains PPO and SAC (three seeds each, the YAML budgets) on the profile's
own assets, train 2020-10-15 to 2022-12-31, selects on 2023, and evaluates on 2024-01-01 to
2024-06-30 against every baseline, like ``cryptofolio evaluate``. It writes
``reports/study/<profile>/`` and ``reports/study/summary.md``, and records the command,
wall time and versions in ``<checkpoints>/<time>/study.json``. ``--publish DIR`` also
writes ``DIR/results.md`` with the equity figures beside it. ``--reuse FOLDER`` reports on
the runs of an earlier study without training again. ``--quick`` runs a tiny version (one
profile, one seed, small budgets) as a smoke test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agents import BASELINES
from envs import PROFILE_NAMES, DataError, MarketData, open_market
from envs.market_args import MarketSpec, market_from_spec, spec_of
from envs.profiles import profile_assets
from evaluation.evaluate import Evaluation, evaluate, find_runs
from evaluation.report import formatted, label, markdown_table, with_intervals, write_report
from training.config import resolve_config
from training.run_folder import RunFolder, versions
from training.train import train

SPLITS = {
    "train": ("2020-10-15", "2022-12-31"),
    "validation": ("2023-01-01", "2023-12-31"),
    "test": ("2024-01-01", "2024-06-30"),
}
HEADLINE = ["total_return", "sharpe", "max_drawdown", "turnover", "fees"]
QUICK_BUDGETS = {"ppo": 1_024, "sac": 400}
RECORD = "study.json"


def profile_spec(market_path: str, profile: str, everything: MarketData) -> MarketSpec:
    """The market of one profile: its own assets, USDT as cash."""
    return spec_of({"market": market_path, "assets": profile_assets(profile, everything.symbols[1:])})


def train_profiles(
    market_path: str,
    profiles: Sequence[str],
    algos: Sequence[str],
    seeds: Sequence[int],
    root: Path,
    quick: bool = False,
    progress_bar: bool = False,
) -> None:
    """Train every profile, algorithm and seed into ``root/<profile>/``."""
    everything = open_market(market_path)
    for profile in profiles:
        spec = profile_spec(market_path, profile, everything)
        for algo in algos:
            for seed in seeds:
                overrides = ["eval_freq=256", "n_envs=2"] if quick else []
                budget = QUICK_BUDGETS[algo] if quick else None
                config = resolve_config(
                    algo, profile, overrides=overrides, n_timesteps=budget, seed=seed, splits=SPLITS, **spec
                )
                print(
                    f"{profile}: training {algo.upper()} seed {seed} on {', '.join(spec['assets'] or ())}",
                    flush=True,
                )
                train(config, RunFolder.create(root / profile, config), progress_bar=progress_bar)


def evaluate_profiles(
    market_path: str, profiles: Sequence[str], root: Path, out: Path
) -> dict[str, Evaluation]:
    """Evaluate the runs of ``root/<profile>/`` on the test split; write each profile's report."""
    everything = open_market(market_path)
    evaluations = {}
    for profile in profiles:
        market, splits = market_from_spec(**profile_spec(market_path, profile, everything), splits=SPLITS)
        runs = find_runs([str(root / profile / "*")])
        evaluation = evaluate(runs, list(BASELINES), market, splits, "test", fee=0.001)
        write_report(
            evaluation, out / profile, f"Results study: {profile} on {market.source}", "cryptofolio study"
        )
        evaluations[profile] = evaluation
    return evaluations


def findings(evaluations: dict[str, Evaluation]) -> list[str]:
    """What the numbers show, in words, computed from them (so a new run cannot leave stale prose)."""
    groups = [(profile, g, e) for profile, e in evaluations.items() for g in e.groups]
    rows = [e.comparisons.loc[g.name] for _, g, e in groups]
    better = sum(r["sharpe_difference_low"] > 0 for r in rows)
    worse = sum(r["sharpe_difference_high"] < 0 for r in rows)
    selected = [e.selection.loc[g.runs, "selected_at_step"] for _, g, e in groups]
    untrained, runs = sum(int((s == 0).sum()) for s in selected), sum(len(s) for s in selected)
    supported = sum(r["drawdown_reduction_low"] >= 0.30 for r in rows)
    contradicted = sum(r["drawdown_reduction_high"] < 0.30 for r in rows)
    unclear, open_claim = len(groups) - better - worse, len(groups) - supported - contradicted
    lines = [
        f"Across the {len(groups)} agent groups, {better} beat their profile baseline's Sharpe ratio on the "
        f"test split with 95% confidence, {worse} did significantly worse, and {unclear} could not be told "
        "apart from it.",
        "Model selection on the 2023 validation split kept the untrained policy (near-equal weights for "
        "agents that choose weights freely, the profile itself for residual ones) for "
        f"{untrained} of {runs} runs: for those, training found nothing better out of sample.",
        "The guidance's claim of 30-40% smaller drawdowns for AI-managed portfolios is supported for "
        f"{supported} group(s), contradicted for {contradicted}, and inconclusive for {open_claim}.",
    ]
    for profile, evaluation in evaluations.items():
        table = evaluation.metrics.drop(
            index=[n for n in ("cash", "reference") if n in evaluation.metrics.index]
        )
        sharpe = table["sharpe"].astype(float)
        best = str(sharpe.idxmax())
        agents = {g.name: float(sharpe.loc[g.runs].mean()) for g in evaluation.groups}
        best_agent = max(agents, key=lambda k: agents[k]) if agents else None
        agent_text = f"; the best agent group, {best_agent}, {agents[best_agent]:.2f}" if best_agent else ""
        baseline = float(sharpe.loc[profile])
        lines.append(
            f"{profile.capitalize()}: the best test Sharpe ratio was {label(best)}'s "
            f"({float(sharpe.loc[best]):.2f}){agent_text}; the {profile} baseline's {baseline:.2f}."
        )
    return lines


def summary_markdown(
    evaluations: dict[str, Evaluation],
    record: dict[str, Any],
    figure: str = "{profile}/equity.png",
    reported_by: str = "",
) -> str:
    """The study's summary: what ran, what it shows, and the headline numbers per profile."""
    lines = [
        "# Results on real crypto prices",
        f"Command: `{record['command']}`. Wall time: {record['seconds'] / 60:.1f} minutes on a "
        f"{record['cores']}-core machine, {record['date']}. Versions: "
        + ", ".join(f"{k} {v}" for k, v in record["versions"].items())
        + "."
        + (f" Reported again by `{reported_by}`." if reported_by else ""),
        "Data: Binance spot daily closes in USDT (`../shared/data/binance-daily`), USDT as cash at 1.0, fee "
        "0.1% per unit traded through the project's ledger. Splits: train 2020-10-15 to 2022-12-31, "
        "validation (model selection) 2023, test 2024-01-01 to 2024-06-30; the test split was read only for "
        "this report. Each profile's agents trade the profile's own assets, which list on different days "
        "(ARB from 2023-03-23).",
        "## What this shows",
        *[f"- {line}" for line in findings(evaluations)],
    ]
    for profile, evaluation in evaluations.items():
        columns = [f"{m}{suffix}" for m in HEADLINE for suffix in ("", "_std", "_low", "_high")] + ["seeds"]
        agents = formatted(with_intervals(evaluation.group_summary[columns], columns))
        names = [profile, f"{profile}_regime", "btc_only", "equal_weight", "buy_and_hold"]
        baselines = formatted(
            evaluation.metrics.loc[[n for n in names if n in evaluation.metrics.index], HEADLINE]
        )
        lines += [
            f"## {profile.capitalize()}",
            f"Assets: {', '.join(evaluation.market.symbols[1:])}. "
            f"Full report: `reports/study/{profile}/report.html`.",
            "Agents (mean ± std over seeds [95% interval over seeds]):",
            markdown_table(agents.rename(index=label)),
            "Baselines:",
            markdown_table(baselines),
            "\n".join(f"- {claim}" for claim in evaluation.claims),
            f"![{profile} equity]({figure.format(profile=profile)})",
        ]
    return "\n\n".join(lines) + "\n"


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--market", default="../shared/data/binance-daily", help="folder of daily per-asset CSVs"
    )
    parser.add_argument(
        "--profiles", help="comma-separated profiles (default: all three; moderate with --quick)"
    )
    parser.add_argument("--algos", default="ppo,sac", help="comma-separated algorithms (ppo,sac)")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (0,1,2)")
    parser.add_argument("--out", type=Path, default=Path("reports/study"), help="reports (reports/study)")
    parser.add_argument("--checkpoints", type=Path, default=Path("checkpoints/study"), help="run folders")
    parser.add_argument(
        "--reuse", type=Path, metavar="FOLDER", help="report on an earlier study's runs, no training"
    )
    parser.add_argument("--publish", type=Path, help="also write DIR/results.md and its figures (e.g. docs)")
    parser.add_argument(
        "--quick", action="store_true", help="one profile, one seed, tiny budgets: a smoke test"
    )
    parser.add_argument("--no-progress-bar", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    command = " ".join([prog or "python -m training.study", *(sys.argv[1:] if argv is None else argv)])
    default_profiles = ["moderate"] if args.quick else list(PROFILE_NAMES)
    profiles = (
        [p.strip() for p in args.profiles.split(",") if p.strip()] if args.profiles else default_profiles
    )
    seeds = [int(s) for s in args.seeds.split(",")][: 1 if args.quick else None]
    algos = [a.strip() for a in args.algos.split(",") if a.strip()]
    started = time.perf_counter()
    found = versions()  # the code that runs, before anything can change it
    try:
        if args.reuse is not None:
            root = args.reuse
            record = json.loads((root / RECORD).read_text())
            evaluations = evaluate_profiles(args.market, profiles, root, args.out)
        else:
            root = args.checkpoints / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            train_profiles(args.market, profiles, algos, seeds, root, args.quick, not args.no_progress_bar)
            evaluations = evaluate_profiles(args.market, profiles, root, args.out)
            record = {
                "command": command,
                "seconds": time.perf_counter() - started,
                "date": dt.date.today().isoformat(),
                "cores": os.cpu_count(),
                "versions": found,
            }
            (root / RECORD).write_text(json.dumps(record, indent=2))
    except (ValueError, KeyError, FileNotFoundError, DataError) as error:
        parser.error(str(error).strip("'\""))
    reported_by = command if args.reuse is not None else ""
    (args.out / "summary.md").write_text(summary_markdown(evaluations, record, reported_by=reported_by))
    if args.publish is not None:
        figures = args.publish / "results"
        figures.mkdir(parents=True, exist_ok=True)
        for profile in evaluations:
            shutil.copy(args.out / profile / "equity.png", figures / f"{profile}-equity.png")
        text = summary_markdown(evaluations, record, "results/{profile}-equity.png", reported_by)
        (args.publish / "results.md").write_text(text)
    for line in findings(evaluations):
        print(f"- {line}")
    print(f"summary: {args.out / 'summary.md'}; reports in {args.out}; runs in {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
