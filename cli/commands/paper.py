"""`cryptofolio paper`: follow a rule forward in time in a paper-trading journal.

    cryptofolio paper start --journal my.db --policy moderate+voltarget+ddbrake \\
        --holdings examples/holdings.csv --market ../shared/data/binance-daily --as-of 2024-01-01
    cryptofolio paper advance --journal my.db            (after new prices: records every new bar)
    cryptofolio paper status --journal my.db --figure my.png

``start`` values the holdings at the close of ``--as-of`` (default: the latest bar) and records the
rule's first decision there; the universe is the profile's assets plus what you hold, as for
``recommend``. ``advance`` opens the journal's market again (``--market`` to read newer files of
the same assets) and records each bar since the last: the rule's decision at the close, filled
through the ledger (fees, slippage); calling it twice changes nothing. ``status`` prints the
performance since the start against the profile rule and buy-and-hold followed from the same
first bar, and draws them. The journal is one SQLite file, or a PostgreSQL database
(``--journal postgresql://user:password@host/db``, one journal per database), append only. It follows a rule
(overlays included), a trained run (``--policy`` a run folder: its assets, its env) or an ensemble
of runs (comma-separated, or a quoted glob). ``--fetch binance`` first appends the candles closed
since the files' last rows (a folder ``cryptofolio data fetch`` wrote; ccxt and the network).

A run's prices at ``start`` are judged as ``recommend`` judges them: other assets or another bar
length are refused, the run's own prices updated are noted, other prices of its assets are refused
unless ``--other-market``.
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import sys
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.backend_bases import FigureCanvasBase

from cryptofolio.agents import make_baseline
from cryptofolio.agents.baselines import split_specs
from cryptofolio.agents.overlays import profile_of
from cryptofolio.commands.data import add_fetch_argument, fetch_fresh
from cryptofolio.commands.errors import run_command
from cryptofolio.commands.options import (
    add_cost_arguments,
    add_market_arguments,
    command_parser,
    costs_from,
    market_config,
    nonempty,
    output_path,
)
from cryptofolio.envs import EnvConfig, MarketConfig, MarketData
from cryptofolio.envs.config import from_data, to_data
from cryptofolio.envs.errors import ConfigError
from cryptofolio.envs.outputs import check_output_file
from cryptofolio.envs.profiles import profile_assets
from cryptofolio.evaluation import metrics, paper
from cryptofolio.evaluation.evaluate import find_runs
from cryptofolio.evaluation.holdings import as_of_bar, holdings_market, read_holdings


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = command_parser(prog, __doc__)
    parser.add_argument("action", choices=("start", "advance", "status"), help="what to do with the journal")
    parser.add_argument(
        "--journal", required=True, help="the journal: an SQLite file, or a postgresql://user@host/db URL"
    )
    parser.add_argument(
        "--policy",
        type=nonempty,
        help="start: the rule to follow (a baseline, overlays after +), a run folder from `train`, or "
        "several (comma-separated, or a quoted glob): their ensemble",
    )
    parser.add_argument("--holdings", type=Path, help="start: CSV or JSON of symbol and quantity")
    parser.add_argument("--as-of", help="start: the bar to start at, e.g. 2024-01-01 (default: the latest)")
    parser.add_argument(
        "--figure", type=output_path, help="status: also draw the value paths into this PNG (or .pdf, .svg)"
    )
    add_market_arguments(
        parser,
        dates=False,
        splits=False,
        default_market="the journal's; at start, a run's own, else synthetic",
    )
    add_cost_arguments(parser, "start only; default {}, for a run as for a rule")
    parser.add_argument(
        "--other-market",
        action="store_true",
        help="start: let a run follow other prices of its assets than it trained on (refused by default)",
    )
    add_fetch_argument(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.action == "start":
        return _start(args)
    journal = paper.read(args.journal)
    market = _market(args, journal)
    if args.action == "advance":
        new = paper.advance(args.journal, market)
        newest = paper.read(args.journal).bars[-1]
        said = f"recorded {len(new)} bar(s)" if new else "nothing new"
        print(f"{journal.where}: {said}; at {newest.time:%Y-%m-%d %H:%M} UTC worth {newest.value:,.2f}")
        return 0
    figure = None if args.figure is None else _figure_path(args.figure)
    profile = _profile(journal.policy)
    paths = paper.compare(journal, market, [profile, "buy_and_hold"])
    ppy = market.periods_per_year
    table = pd.DataFrame(
        {
            name: {
                "total_return": f"{metrics.total_return(values):.1%}",
                "max_drawdown": f"{metrics.max_drawdown(values):.1%}",
                "sharpe": f"{metrics.sharpe_ratio(values, ppy):.2f}" if len(values) > 2 else "n/a",
            }
            for name, values in paths.items()
        }
    ).T
    first, last = journal.bars[0].time, journal.bars[-1].time
    bars = len(journal.bars)
    print(f"{journal.where}: {journal.policy} from {first:%Y-%m-%d} to {last:%Y-%m-%d} ({bars} bars)")
    print(table.to_string())
    if figure is not None:
        _draw(paths, pd.DatetimeIndex([bar.time for bar in journal.bars]), figure)
        print(f"figure: {figure}")
    return 0


def _start(args: argparse.Namespace) -> int:
    if args.policy is None or args.holdings is None:
        raise ConfigError("paper start needs --policy (the rule to follow) and --holdings")
    holdings = read_holdings(args.holdings)
    specs = split_specs(args.policy)
    runs = (
        find_runs(specs)
        if len(specs) > 1 or glob.has_magic(args.policy) or Path(args.policy).is_dir()
        else []
    )
    if runs:  # trained runs: their own assets, on their own market unless --market
        from cryptofolio.agents.sb3 import read_trusted_metadata, run_market_config

        recorded = run_market_config(runs[0])
        source = market_config(args, dataclasses.replace(recorded, start=None, end=None, splits=None))
        universe = [str(s) for s in read_trusted_metadata(runs[0])["symbols"][1:]]
        needed_by = f"run {runs[0].name}"
    else:
        profile = profile_of(make_baseline(args.policy)) or "moderate"
        source = market_config(args)
        offered = source.offered()
        universe = list(profile_assets(profile, offered))
        universe += [s for s in holdings.risky if s not in universe and s in offered]
        needed_by = f"the {profile} profile"
    fetch_fresh(args, source, universe)
    market = holdings_market(holdings, source, universe, needed_by)
    if runs:  # each run's prices judged by content: its assets, bar length and recorded closes
        from cryptofolio.agents.sb3 import check_run_market

        for run in runs:
            note = check_run_market(run, market, allow_other=args.other_market)
            if note:
                print(note)
    config = EnvConfig(costs=costs_from(args))
    kept = dataclasses.replace(source, assets=tuple(universe), splits=None)
    policy = paper.ENSEMBLE.join(str(run.resolve()) for run in runs) if runs else args.policy
    journal = paper.start(
        args.journal, policy, holdings, market, as_of_bar(market, args.as_of), config, to_data(kept)
    )
    bar = journal.bars[0]
    when = f"{bar.time:%Y-%m-%d %H:%M} UTC"
    print(f"{journal.where}: follows {args.policy} from {when}, worth {bar.value:,.2f}")
    return 0


def _profile(policy: str) -> str:
    """The profile a journal's policy belongs to (its first run's, a rule's, else moderate)."""
    first = policy.split(paper.ENSEMBLE)[0]
    if Path(first).is_dir():
        from cryptofolio.agents.sb3 import read_run_config

        return str(read_run_config(first)["profile"])
    return profile_of(make_baseline(policy)) or "moderate"


def _market(args: argparse.Namespace, journal: paper.Journal) -> MarketData:
    """The journal's market, opened again; ``--market`` reads newer files of the same assets."""
    if not journal.market and args.market is None:
        raise ConfigError(f"{journal.where} keeps no market (started from Python); give --market")
    recorded = from_data(MarketConfig, journal.market, f"{journal.where}: market")
    config = market_config(args, recorded)
    fetch_fresh(args, config, journal.symbols[1:])
    return config.load_market()


def _figure_path(path: Path) -> Path:
    """``--figure``, once checked: a file (not a folder or a link) of a format matplotlib writes."""
    check_output_file(path, "--figure")
    if path.suffix.lstrip(".").lower() not in FigureCanvasBase.get_supported_filetypes():
        raise ConfigError(
            f"--figure {path}: matplotlib cannot write {path.suffix or 'a file without a suffix'}; "
            "name a .png, .pdf or .svg file"
        )
    return path


def _draw(paths: dict[str, np.ndarray], times: pd.DatetimeIndex, path: Path) -> None:
    figure, axis = plt.subplots(figsize=(8, 4))
    for name, values in paths.items():
        axis.plot(times, values, label=name, lw=1.4 if name == next(iter(paths)) else 1.0)
    axis.set_ylabel("value (quote currency)")
    axis.set_title("paper trading since the start, each from the same first bar")
    axis.legend()
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    return run_command(build_parser(prog), run, argv)


if __name__ == "__main__":
    sys.exit(main())
