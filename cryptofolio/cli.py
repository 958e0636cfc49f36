"""`cryptofolio <command> ...`: one console script; each command is also `python -m <module>`."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("cryptofolio.demo", "run the main job on the synthetic market and print where its report is"),
    "data": ("envs.fetch", "download OHLCV candles with ccxt: cryptofolio data fetch --exchange ..."),
    "backtest": ("evaluation.backtest", "run baselines over a split and print their metrics"),
    "train": ("training.train", "train a PPO, SAC, A2C, TD3 or RecurrentPPO agent; select it on validation"),
    "tune": ("training.tune", "search hyperparameters with Optuna on validation; workers can share a study"),
    "sweep": ("training.sweep", "train over many seeds, shared by workers like tune"),
    "evaluate": ("evaluation.evaluate", "agents against baselines with statistics over seeds, and a report"),
    "recommend": (
        "evaluation.recommend",
        "today's orders from a baseline or a trained run, given your holdings",
    ),
    "diagnose": ("evaluation.diagnostics", "diversification and risk checks of your holdings"),
    "walkforward": ("training.walkforward", "train, select and test on rolling folds; aggregate the tests"),
    "ablation": (
        "training.ablation",
        "which generalization levers help agents out of sample (configs/ablation.yaml)",
    ),
    "study": ("training.study", "the results study on real daily prices: 3 profiles, PPO and SAC, 3 seeds"),
}
"""command -> (module with a ``main(argv, prog)`` function, one-line help). Modules load lazily."""


def usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
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
    module = importlib.import_module(COMMANDS[command][0])
    result: int = module.main(rest, prog=f"cryptofolio {command}")
    return result


if __name__ == "__main__":
    sys.exit(main())
