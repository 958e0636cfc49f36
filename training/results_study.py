"""The results study on real prices (``cryptofolio study``): train, select, test, report per profile.

Each profile's agents trade the profile's own assets (:func:`profile_market`) on the study's
fixed splits (:data:`SPLITS`); :func:`evaluate_profiles` tests them against every baseline and
writes one report per profile, :func:`summary_markdown` the summary, whose findings are
computed from the numbers (:func:`findings`), and :func:`publish` the copy in ``docs/``.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptofolio.agents import BASELINES
from cryptofolio.envs import MarketConfig, MarketData, SplitDates
from cryptofolio.envs.profiles import profile_assets
from cryptofolio.evaluation.evaluate import evaluate, find_runs
from cryptofolio.evaluation.report import formatted, label, markdown_table, with_intervals, write_report
from cryptofolio.evaluation.results import Evaluation
from cryptofolio.training.config import resolve_config
from cryptofolio.training.run_folder import RunFolder
from cryptofolio.training.train import train

SPLITS = SplitDates(
    train=("2020-10-15", "2022-12-31"),
    validation=("2023-01-01", "2023-12-31"),
    test=("2024-01-01", "2024-06-30"),
)
HEADLINE = ["total_return", "sharpe", "max_drawdown", "turnover", "fees"]
QUICK_BUDGETS = {"ppo": 1_024, "sac": 400}
RECORD = "study.json"


def profile_market(market_path: str, profile: str, everything: MarketData) -> MarketConfig:
    """The market of one profile: its own assets, USDT as cash, the study's splits."""
    assets = profile_assets(profile, everything.symbols[1:])
    return MarketConfig(source=market_path, assets=assets, splits=SPLITS)


def train_profiles(
    market_path: str,
    profiles: Sequence[str],
    algos: Sequence[str],
    seeds: Sequence[int],
    root: Path,
    quick: bool = False,
    progress_bar: bool = False,
    command: Sequence[str] = (),
) -> None:
    """Train every profile, algorithm and seed into ``root/<profile>/``; each run records ``command``."""
    everything = MarketConfig(source=market_path).load_market()
    for profile in profiles:
        market = profile_market(market_path, profile, everything)
        for algo in algos:
            for seed in seeds:
                overrides = ["eval_freq=256", "n_envs=2"] if quick else []
                budget = QUICK_BUDGETS[algo] if quick else None
                config = resolve_config(
                    algo, profile, overrides=overrides, market=market, n_timesteps=budget, seed=seed
                )
                print(
                    f"{profile}: training {algo.upper()} seed {seed} on {', '.join(market.assets or ())}",
                    flush=True,
                )
                run = RunFolder.create(root / profile, config)
                train(config, run, progress_bar=progress_bar, command=command)


def evaluate_profiles(
    market_path: str, profiles: Sequence[str], root: Path, out: Path
) -> dict[str, Evaluation]:
    """Evaluate the runs of ``root/<profile>/`` on the test split; write each profile's report."""
    everything = MarketConfig(source=market_path).load_market()
    evaluations = {}
    for profile in profiles:
        market, splits = profile_market(market_path, profile, everything).load()
        runs = find_runs([str(root / profile / "*")])
        evaluation = evaluate(runs, list(BASELINES), market, splits, "test")
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


def publish(
    evaluations: dict[str, Evaluation], record: dict[str, Any], reports: Path, folder: Path, reported_by: str
) -> Path:
    """Write ``folder/results.md`` with each profile's equity figure (from ``reports``) beside it."""
    figures = folder / "results"
    figures.mkdir(parents=True, exist_ok=True)
    for profile in evaluations:
        shutil.copy(reports / profile / "equity.png", figures / f"{profile}-equity.png")
    path = folder / "results.md"
    path.write_text(summary_markdown(evaluations, record, "results/{profile}-equity.png", reported_by))
    return path
