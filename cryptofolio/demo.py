"""`cryptofolio demo`: the main job on the synthetic market.

For now it runs one rule, rebalancing every bar to equal weights across the listed
assets, through PortfolioEnv over a whole split, prints a summary and writes the
per-bar trajectory. Later issues grow it into training and evaluation of agents.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from envs import PortfolioEnv, synthetic_market, weights_to_action


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic market (default 0)")
    parser.add_argument(
        "--split", default="test", choices=("train", "validation", "test"), help="default test"
    )
    parser.add_argument(
        "--fee", type=float, default=0.001, help="fee per unit traded (default 0.001 = 0.1%%)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("reports/demo"), help="output folder (default reports/demo)"
    )
    return parser


def equal_weight_trajectory(env: PortfolioEnv) -> pd.DataFrame:
    """Run the equal-weight rule over the env's whole split; one row per bar (the start included)."""
    _, info = env.reset(options={"start": env.first_start, "to_end": True})
    rows = [info]
    done = False
    while not done:
        listed = env.market.available[info["bar"], 1:]
        equal = np.concatenate(([0.0], listed / listed.sum()))
        _, _, terminated, truncated, info = env.step(weights_to_action(equal))
        rows.append(info)
        done = terminated or truncated
    frame = pd.DataFrame(
        {
            "date": [pd.Timestamp(r["date"], tz="UTC") for r in rows],
            "portfolio_value": [r["portfolio_value"] for r in rows],
            "drawdown": [r["drawdown"] for r in rows],
            "turnover": [r["turnover"] for r in rows],
            "fees": [r["fees"] for r in rows],
        }
    )
    weights = pd.DataFrame([r["weights"] for r in rows], columns=[f"w_{s}" for s in env.symbols])
    return pd.concat([frame, weights], axis=1)


def summarize(trajectory: pd.DataFrame, initial_value: float) -> dict[str, Any]:
    values = trajectory["portfolio_value"]
    return {
        "first_bar": trajectory["date"].iloc[0].isoformat(),
        "last_bar": trajectory["date"].iloc[-1].isoformat(),
        "steps": len(trajectory) - 1,
        "final_value": float(values.iloc[-1]),
        "total_return": float(values.iloc[-1] / initial_value - 1.0),
        "max_drawdown": float(trajectory["drawdown"].max()),
        "fees_paid": float(trajectory["fees"].sum() / initial_value),
        "mean_turnover": float(trajectory["turnover"].iloc[1:].mean()),
    }


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    args = build_parser(prog).parse_args(argv)
    market = synthetic_market(seed=args.seed)
    env = PortfolioEnv(market, split=args.split, fee=args.fee)
    trajectory = equal_weight_trajectory(env)
    summary = summarize(trajectory, env.initial_value)

    args.out.mkdir(parents=True, exist_ok=True)
    trajectory.to_csv(args.out / "equal_weight.csv", index=False)
    (args.out / "summary.json").write_text(
        json.dumps({"market": market.source, "split": args.split, "fee": args.fee, **summary}, indent=2)
    )

    print(f"Equal weights over {', '.join(market.symbols[1:])}, rebalanced every bar, fee {args.fee:.2%}")
    period = f"{summary['first_bar'][:10]} to {summary['last_bar'][:10]}"
    print(f"{market.source}, {args.split} split: {period} ({summary['steps']} steps)")
    print(f"  final value      {summary['final_value']:.4f} (from {env.initial_value:g})")
    print(f"  total return     {summary['total_return']:+.2%}")
    print(f"  max drawdown     {summary['max_drawdown']:.2%}")
    print(f"  fees paid        {summary['fees_paid']:.3%} of the initial value")
    print(f"  mean turnover    {summary['mean_turnover']:.2%} of value per bar")
    print(f"report: {args.out / 'summary.json'} and {args.out / 'equal_weight.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
