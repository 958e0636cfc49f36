"""`cryptofolio study`: the results study on real prices, one report per risk profile and a summary.

    cryptofolio study --market ../shared/data/binance-daily --publish docs      (= make study)

For each profile it trains PPO and SAC (three seeds each, the YAML budgets) on the profile's
own assets, train 2020-10-15 to 2022-12-31, selects on 2023, and evaluates on 2024-01-01 to
2024-06-30 against every baseline, like ``cryptofolio evaluate``. It writes
``reports/study/<profile>/`` and ``reports/study/summary.md``; ``--publish DIR`` also
writes ``DIR/results.md`` with the equity figures beside it. ``--quick`` runs a tiny
version (one profile, one seed, small budgets) as a smoke test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from agents import BASELINES
from envs import PROFILE_NAMES, DataError, MarketData, asset_category, open_market, risk_profile
from envs.market_args import MarketSpec, market_from_spec
from evaluation.evaluate import Evaluation, evaluate
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


def profile_assets(profile: str, market: MarketData) -> tuple[str, ...]:
    """The profile's named assets present in the data, plus those of its "other" categories."""
    spec = risk_profile(profile)
    named = [s for s in spec.assets if s in market.symbols]
    others = [
        s for s in market.symbols[1:] if asset_category(s) in spec.other_weights and s not in spec.weights
    ]
    return tuple(named + others)


def run_study(
    market_path: str,
    profiles: Sequence[str],
    algos: Sequence[str],
    seeds: Sequence[int],
    checkpoints: Path,
    out: Path,
    quick: bool = False,
    progress_bar: bool = False,
) -> dict[str, Evaluation]:
    """Train, select and evaluate every profile; write its report; return the evaluations."""
    everything = open_market(market_path)
    evaluations = {}
    for profile in profiles:
        spec = MarketSpec(
            market=market_path,
            market_seed=0,
            assets=profile_assets(profile, everything),
            ffill_limit=0,
            cash=None,
            cash_prices=None,
            start=None,
            end=None,
        )
        runs = []
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
                run = RunFolder.create(checkpoints / profile, config)
                train(config, run, progress_bar=progress_bar)
                runs.append(run.path)
        market, splits = market_from_spec(**spec, splits=SPLITS)
        evaluation = evaluate(runs, list(BASELINES), market, splits, "test", fee=0.001)
        write_report(
            evaluation, out / profile, f"Results study: {profile} on {market.source}", "cryptofolio study"
        )
        evaluations[profile] = evaluation
    return evaluations


def summary_markdown(
    evaluations: dict[str, Evaluation], command: str, seconds: float, figure: str = "{profile}/equity.png"
) -> str:
    """The study's summary: what ran, the headline numbers per profile, and what they show."""
    found = versions()
    lines = [
        "# Results on real crypto prices",
        f"Command: `{command}`. Wall time: {seconds / 60:.1f} minutes on a {os.cpu_count()}-core machine, "
        f"{dt.date.today().isoformat()}. Versions: " + ", ".join(f"{k} {v}" for k, v in found.items()) + ".",
        "Data: Binance spot daily closes in USDT (`../shared/data/binance-daily`), USDT as cash at 1.0, fee "
        "0.1% per unit traded through the project's ledger. Splits: train 2020-10-15 to 2022-12-31, "
        "validation (model selection) 2023, test 2024-01-01 to 2024-06-30; the test split was read only for "
        "this report. Each profile's agents trade the profile's own assets, which list on different days "
        "(ARB from 2023-03-23).",
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
            *[f"- {claim}" for claim in evaluation.claims],
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
    parser.add_argument("--publish", type=Path, help="also write DIR/results.md and its figures (e.g. docs)")
    parser.add_argument(
        "--quick", action="store_true", help="one profile, one seed, tiny budgets: a smoke test"
    )
    parser.add_argument("--no-progress-bar", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    default_profiles = ["moderate"] if args.quick else list(PROFILE_NAMES)
    profiles = (
        [p.strip() for p in args.profiles.split(",") if p.strip()] if args.profiles else default_profiles
    )
    seeds = [int(s) for s in args.seeds.split(",")][: 1 if args.quick else None]
    started = time.perf_counter()
    checkpoints = args.checkpoints / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    try:
        algos = [a.strip() for a in args.algos.split(",") if a.strip()]
        evaluations = run_study(args.market, profiles, algos, seeds, checkpoints, args.out, args.quick,
                                progress_bar=not args.no_progress_bar)  # fmt: skip
    except (ValueError, KeyError, FileNotFoundError, DataError) as error:
        parser.error(str(error).strip("'\""))
    command = " ".join([prog or "python -m training.study", *(sys.argv[1:] if argv is None else argv)])
    seconds = time.perf_counter() - started
    (args.out / "summary.md").write_text(summary_markdown(evaluations, command, seconds))
    if args.publish is not None:
        figures = args.publish / "results"
        figures.mkdir(parents=True, exist_ok=True)
        for profile in evaluations:
            shutil.copy(args.out / profile / "equity.png", figures / f"{profile}-equity.png")
        text = summary_markdown(evaluations, command, seconds, figure="results/{profile}-equity.png")
        (args.publish / "results.md").write_text(text)
    print(f"summary: {args.out / 'summary.md'}; reports in {args.out}; took {seconds / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
