"""The drawdown brake's margin and window, chosen on the data before every test window of the study.

    .venv/bin/python benchmarks/overlay_calibration.py

Runs each profile's rule with a volatility target and a drawdown brake (``<p>+voltarget+ddbrake``)
over binance-daily from 2018-02-01 to 2021-06-30 (every fold of the study tests from 2021-07-01 on;
the first four months are the estimators' history), daily, fee 0.1%, for each brake window and
margin (:class:`~cryptofolio.agents.overlays.DrawdownBrake`), and prints Sharpe, growth and max
drawdown against each profile's tolerance. The defaults are the largest margin whose max drawdown
kept every profile's tolerance at every window tried (a margin that does not hang on the window),
and at it the window with the best mean Sharpe. Needs ../shared/data.
"""

from __future__ import annotations

import itertools
import platform
import sys
from pathlib import Path

import pandas as pd

from cryptofolio.agents import make_baseline
from cryptofolio.envs import PROFILE_NAMES, PortfolioEnv, risk_profile
from cryptofolio.envs.config import EnvConfig, MarketConfig, SplitDates
from cryptofolio.envs.profiles import profile_assets
from cryptofolio.evaluation.backtest import run_backtest
from cryptofolio.evaluation.metrics import cagr, max_drawdown, sharpe_ratio

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "binance-daily"
ERA = SplitDates(
    train=("2017-08-17", "2017-12-31"),
    validation=("2018-01-01", "2018-01-31"),
    test=("2018-02-01", "2021-06-30"),
)
"""The era the brake is calibrated on (its ``test`` split: the rules learn nothing)."""
WINDOWS = (180, 365)
MARGINS = (1.0, 0.8, 0.6, 0.5)


def main() -> None:
    if not DATA.is_dir():
        sys.exit(f"{DATA} is absent: this calibration reads the shared daily prices")
    symbols = sorted(path.stem for path in DATA.glob("*.csv"))
    rows = []
    for profile in PROFILE_NAMES:
        assets = profile_assets(profile, symbols)
        market, splits = MarketConfig(source=str(DATA), assets=assets, splits=ERA).load()
        env = PortfolioEnv(
            market, split="test", splits=splits, profile=profile, config=EnvConfig().for_rules()
        )
        tolerance = risk_profile(profile).max_drawdown
        specs = [(profile, None, None)] + [
            (f"{profile}+voltarget+ddbrake:window_days={w},margin={m}", w, m)
            for w, m in itertools.product(WINDOWS, MARGINS)
        ]
        for spec, window, margin in specs:
            result = run_backtest(make_baseline(spec), env)
            v, year = result.values, result.periods_per_year
            drawdown = max_drawdown(v)
            rows.append(
                {
                    "profile": profile,
                    "window": window,
                    "margin": margin,
                    "sharpe": sharpe_ratio(v, year),
                    "cagr": cagr(v, year),
                    "max_drawdown": drawdown,
                    "tolerance": tolerance,
                    "kept": drawdown <= tolerance,
                }
            )
    table = pd.DataFrame(rows)
    print(
        f"{platform.node()} ({platform.processor() or platform.machine()}), fee 0.1%, 2018-02-01..2021-06-30"
    )
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    braked = table.dropna(subset=["margin"])
    kept = braked.groupby("margin")["kept"].all()
    margin = max(kept[kept].index, default=None)
    if margin is None:
        print("no margin kept every profile's tolerance")
        return
    window = braked[braked["margin"] == margin].groupby("window")["sharpe"].mean().idxmax()
    print(f"largest margin keeping every tolerance: {margin}; at it, best mean Sharpe: window {window} days")


if __name__ == "__main__":
    main()
