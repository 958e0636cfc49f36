"""`cryptofolio demo`: the main job on the synthetic market.

For now it runs every rule-based baseline through the same env and ledger over the
synthetic market's test split, prints their metrics and writes them with each run's
per-bar results. Later issues add trained agents, statistics over seeds and a report.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from evaluation import backtest


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--market-seed", type=int, default=0, help="seed of the synthetic market (default 0)")
    parser.add_argument(
        "--out", type=Path, default=Path("reports/demo"), help="output folder (default reports/demo)"
    )
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    args = build_parser(prog).parse_args(argv)
    print("Rule-based baselines on the synthetic market's test split, fee 0.1%, through one ledger:")
    return backtest.main(
        [
            "--policies",
            "all",
            "--market-seed",
            str(args.market_seed),
            "--split",
            "test",
            "--out",
            str(args.out),
        ],
        prog=prog,
    )


if __name__ == "__main__":
    raise SystemExit(main())
