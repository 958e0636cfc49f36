"""`cryptofolio <command> ...`: one console script (also ``python -m cryptofolio``).

Each command is a module of :mod:`cryptofolio.commands`, also ``python -m cryptofolio.commands.<name>``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

COMMANDS: dict[str, str] = {
    "demo": "run the main job on the synthetic market and print where its report is",
    "data": "download OHLCV candles with ccxt: cryptofolio data fetch --exchange ...",
    "backtest": "run baselines over a split and print their metrics",
    "train": "train an agent of any learner (train --help lists them); select it on validation",
    "tune": "search hyperparameters with Optuna on validation; workers can share a study",
    "sweep": "train over many seeds, shared by workers like tune",
    "evaluate": "agents against baselines with statistics over seeds, and a report",
    "recommend": "today's orders from a baseline or a trained run, given your holdings",
    "diagnose": "diversification and risk checks of your holdings",
    "paper": "follow a rule forward in a paper-trading journal: start, advance, status",
    "walkforward": "train, select and test on rolling folds; aggregate the tests",
    "ablation": "which generalization levers help agents out of sample (configs/ablation.yaml)",
    "study": "the walk-forward results study: every profile, learner and seed, on workers sharing a queue",
}
"""command -> one-line help. Command ``name`` is the module ``cryptofolio.commands.<name>``, loaded lazily."""


def usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [f"  {name:<{width}}  {help_}" for name, help_ in COMMANDS.items()]
    return (
        "usage: cryptofolio <command> [options]\n\ncommands:\n"
        + "\n".join(lines)
        + ("\n\nRun `cryptofolio <command> --help` for a command's options.")
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"cryptofolio: unknown command {command!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"cryptofolio.commands.{command}")
    result: int = module.main(rest, prog=f"cryptofolio {command}")
    return result


if __name__ == "__main__":
    sys.exit(main())
