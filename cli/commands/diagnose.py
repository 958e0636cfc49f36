"""`cryptofolio diagnose`: diversification and risk checks of your holdings.

    cryptofolio diagnose --holdings holdings.csv --market ../shared/data/binance-daily --window 90

The guidance's checks over the last ``--window`` bars (:mod:`cryptofolio.evaluation.diagnostics`):
correlations, clusters, category shares, positions, each asset's share of the risk, and the
portfolio's volatility and correlation to BTC next to the profile's expected figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from cryptofolio.commands.errors import run_command
from cryptofolio.commands.options import add_holdings_arguments, command_parser, market_config
from cryptofolio.envs import PROFILE_NAMES
from cryptofolio.evaluation.diagnostics import diagnose_weights, format_diagnostics
from cryptofolio.evaluation.holdings import as_of_bar, holdings_market, read_holdings, value_holdings


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = command_parser(prog, __doc__)
    add_holdings_arguments(parser)
    parser.add_argument(
        "--profile",
        choices=PROFILE_NAMES,
        default="moderate",
        help="profile whose expected figures are shown (default moderate)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    holdings = read_holdings(args.holdings)
    market_choice = market_config(args)
    offered = market_choice.offered()
    universe = [*holdings.risky, *(["BTC"] if "BTC" in offered and "BTC" not in holdings.risky else [])]
    market = holdings_market(holdings, market_choice, universe, "the holdings")
    bar = as_of_bar(market, args.as_of)
    weights = value_holdings(holdings, market, bar).weights
    diagnostics = diagnose_weights(market, bar, weights, args.window, args.profile)
    if args.format == "json":
        print(json.dumps(diagnostics.to_dict(), indent=2))
    else:
        print(format_diagnostics({"current": diagnostics}))
    return 0


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    return run_command(build_parser(prog), run, argv)


if __name__ == "__main__":
    sys.exit(main())
