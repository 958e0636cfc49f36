"""Time of the Hedge allocator's sub-accounts on a profile's real market, first and shared.

    .venv/bin/python benchmarks/hedge_experts.py              # conservative, ../shared/data/binance-daily
    .venv/bin/python benchmarks/hedge_experts.py --profile aggressive

Prints the seconds to compute the allocator's target at every bar of the profile's market with a
fresh process's first Hedge rule (the experts' sub-accounts are computed), then with a second Hedge
rule of another learning rate on the same market (the sub-accounts are shared; only its mixtures
are computed), and the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from cryptofolio.agents import make_baseline
from cryptofolio.agents.anchors import anchor_weights
from cryptofolio.envs import MarketConfig
from cryptofolio.envs.profiles import profile_assets

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "binance-daily"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--market", default=str(SHARED), help="folder of daily per-asset CSVs")
    parser.add_argument("--profile", default="conservative")
    args = parser.parse_args()
    source = MarketConfig(source=args.market)
    market = MarketConfig(
        source=args.market, assets=profile_assets(args.profile, source.offered())
    ).load_market()
    print(f"{args.profile}: {market.n_bars} bars, {len(market.symbols) - 1} assets; {os.cpu_count()} cores, "
          f"{platform.processor() or platform.machine()}")  # fmt: skip
    for spec in (f"{args.profile}_hedge:choose_eta=true", f"{args.profile}_hedge"):
        started = time.perf_counter()
        anchor_weights(make_baseline(spec), market)
        print(f"{spec:<40}{time.perf_counter() - started:8.2f} s")


if __name__ == "__main__":
    main()
