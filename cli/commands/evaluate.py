"""`cryptofolio evaluate`: trained agents against the baselines, with honest statistics and a report.

    cryptofolio evaluate --runs "checkpoints/ppo-moderate-*" "checkpoints/sac-moderate-*" \\
        --baselines all --split test --out reports/moderate

Every run (its best model on validation) and every baseline goes through the same backtest
runner on the same split, costs and start. The market and the costs are the runs' own (the
runs must agree) unless the options choose them. Runs of the same algorithm and profile are
a group: its metrics get a mean and a 95% Student-t interval over seeds. Each group is
compared with its profile's baseline over the same bars, with paired block-bootstrap
intervals of the differences. A split a run was trained or selected on is refused.
With --ensemble, each group of two or more runs is also one policy, ``<algo>-<profile>-ensemble``:
every seed decides as it would alone, and the ensemble trades to the mean of their target
weights through the same ledger.

Your own policy joins the same report with --policy: a Rule, a stable-baselines3 model (with its
VecNormalize: ``TrainedPolicy(model, vec_normalize)``) or any object with ``predict``, named by
module and attribute (a class is made without arguments):

    cryptofolio evaluate --policy examples/momentum.py:Momentum --baselines moderate,equal_weight

It is compared with --compare-with (moderate). Importing it runs its module: it is your code.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from cryptofolio.agents import BASELINES, Rule, make_baseline
from cryptofolio.commands.errors import run_command
from cryptofolio.commands.options import (
    MAX_RESAMPLES,
    add_cost_arguments,
    add_market_arguments,
    baseline_names,
    command_argv,
    command_parser,
    cost_values,
    costs_from,
    market_config,
    output_path,
    whole_number,
)
from cryptofolio.envs import SPLIT_NAMES, MarketConfig
from cryptofolio.envs.errors import ConfigError
from cryptofolio.envs.outputs import check_output_folder
from cryptofolio.evaluation.backtest import format_table
from cryptofolio.evaluation.evaluate import comparison_config, evaluate, find_runs, runs_market
from cryptofolio.evaluation.statistics import minimum_resamples


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = command_parser(prog, __doc__)
    parser.add_argument(
        "--runs", nargs="*", default=[], metavar="RUN", help="run folders or globs (quote globs)"
    )
    parser.add_argument(
        "--baselines",
        default="all",
        help=f"comma-separated baselines, or all: {', '.join(BASELINES)}; risk overlays follow a "
        "base after + (moderate+voltarget+ddbrake; see the README's risk budgets)",
    )
    parser.add_argument(
        "--split", default="test", choices=SPLIT_NAMES, help="split to report on (default test)"
    )
    add_market_arguments(parser, default_market="the runs' own; without runs, synthetic")
    add_cost_arguments(parser, "default: the runs' own, which must agree")
    parser.add_argument(
        "--which", choices=("best", "final"), default="best", help="model of each run (best on validation)"
    )
    parser.add_argument(
        "--resamples",
        type=whole_number(minimum_resamples(0.95), MAX_RESAMPLES),
        default=2_000,
        help=f"bootstrap resamples (2000; at least {minimum_resamples(0.95)}: 10 beyond each 95%% bound; "
        f"at most {MAX_RESAMPLES:,})",
    )
    parser.add_argument(
        "--out",
        type=output_path,
        default=Path("reports/evaluation"),
        help="report folder (reports/evaluation)",
    )
    parser.add_argument(
        "--ensemble",
        action="store_true",
        help="also evaluate each group of runs (algorithm and profile, 2 or more seeds) as one policy "
        "trading the mean of its seeds' target weights",
    )
    parser.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="[NAME=]MODULE:ATTR",
        help="your own policy (repeatable): module:Attribute or path/to/file.py:Attribute, named NAME "
        "(default: its own name attribute, else the attribute's); a class is made without arguments",
    )
    parser.add_argument(
        "--compare-with",
        default="moderate",
        metavar="BASELINE",
        help="the baseline your policies are compared with (moderate)",
    )
    parser.add_argument("--title", default=None, help="report title")
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    command = command_argv(prog, "cryptofolio.commands.evaluate", argv)
    return run_command(build_parser(prog), lambda args: run(args, command), argv)


def run(args: argparse.Namespace, command: list[str]) -> int:
    from cryptofolio.evaluation.report import write_report  # figures load matplotlib: only when reporting

    runs = find_runs(args.runs)
    baselines = baseline_names(args.baselines, "--baselines")
    compare_with = baseline_names(args.compare_with, "--compare-with")
    if len(compare_with) != 1:
        raise ConfigError(f"--compare-with takes one baseline, got {args.compare_with!r}")
    try:
        make_baseline(compare_with[0])  # known even when no --policy is compared with it
    except ConfigError as error:
        raise ConfigError(f"--compare-with {args.compare_with!r}: {error}") from None
    check_output_folder(args.out, "--out")  # before the work, not after it
    policies: dict[str, Any] = {}
    for reference in args.policy:
        name, policy = import_policy(reference)
        if name in policies:
            raise ConfigError(
                f"--policy {reference}: a policy named {name!r} is given twice; name it NAME=..."
            )
        policies[name] = policy
    market_choice = _market(args, runs)
    market, splits = market_choice.load()
    given = cost_values(args)
    # Costs left out are the runs' own; all three given, the runs' may differ.
    costs = (
        None if not given else costs_from(args, None if len(given) == 3 else comparison_config(runs).costs)
    )
    evaluation = evaluate(
        runs,
        baselines,
        market,
        splits,
        args.split,
        costs,
        args.which,
        args.resamples,
        ensemble=args.ensemble,
        policies=policies,
        compare_with=compare_with[0],
        progress=_say,
    )
    title = args.title or f"Evaluation on the {args.split} split of {market.source}"
    _say(f"report: figures and tables into {args.out}")
    report = write_report(
        evaluation, args.out, title, shlex.join(command), progress=lambda step: _say(f"report: {step}")
    )
    columns = ["total_return", "sharpe", "max_drawdown", "turnover", "fees", "psr"]
    shown = [
        *(r for g in evaluation.groups for r in g.runs),
        *evaluation.baselines,
        *([evaluation.reference] if evaluation.reference else []),
    ]
    print(format_table(evaluation.metrics.loc[shown, columns]))
    for claim in evaluation.claims:
        print(f"- {claim}")
    print(f"report: {report} (and report.md, figures and CSVs in {args.out})")
    return 0


def _say(line: str) -> None:
    print(f"  {line}", flush=True)


def import_policy(reference: str) -> tuple[str, Any]:
    """The name and the policy that ``[NAME=]module:Attribute`` or ``[NAME=]path/to/file.py:Attribute``
    names; a class is made without arguments. The name is NAME, else the policy's own ``name`` (a
    rule's), else the attribute's. Importing runs the module's code (the user's own).

    :raises ConfigError: naming the reference, for a malformed one, a missing module, file or
        attribute, a syntax error in the file, or a class that needs arguments.
    """
    name, sep, rest = reference.partition("=")
    if not sep or ":" in name or "/" in name:
        name, rest = "", reference
    module_name, sep, attribute = rest.rpartition(":")
    if not sep or not module_name or not attribute.isidentifier():
        raise ConfigError(
            f"--policy {reference!r}: expected MODULE:ATTR or FILE.py:ATTR (examples/momentum.py:Momentum)"
        )
    module = _import(reference, module_name)
    if not hasattr(module, attribute):
        public = ", ".join(n for n in vars(module) if not n.startswith("_"))
        raise ConfigError(f"--policy {reference}: {module_name} has no {attribute!r} (it has: {public})")
    policy = getattr(module, attribute)
    if isinstance(policy, type):
        try:
            policy = policy()
        except TypeError as error:
            raise ConfigError(
                f"--policy {reference}: {attribute}() needs arguments ({error}); give an instance made in "
                f"the module instead (e.g. {attribute.lower()} = {attribute}(...))"
            ) from None
    own_name = getattr(policy, "name", None)
    if not name and isinstance(own_name, str) and own_name.strip() and own_name != Rule.name:
        name = own_name  # the name a rule gives itself
    return name or attribute, policy


def _import(reference: str, module_name: str) -> ModuleType:
    """The module ``module_name`` (importable from the working folder) or the file it names (``.py``)."""
    try:
        if not module_name.endswith(".py"):
            if os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())  # a console script does not search the working folder
            return importlib.import_module(module_name)
        path = Path(module_name)
        if not path.is_file():
            raise ConfigError(f"--policy {reference}: {path} is not a file")
        spec = importlib.util.spec_from_file_location(f"cryptofolio_policy_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise ConfigError(f"--policy {reference}: {path} cannot be imported as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # what the module defines can find its own module (dataclasses do)
        sys.path.insert(0, str(path.resolve().parent))  # its own imports of modules beside it
        spec.loader.exec_module(module)
        return module
    except ModuleNotFoundError as error:
        raise ConfigError(
            f"--policy {reference}: {error} (run from the folder that holds the module, or give FILE.py:ATTR)"
        ) from None
    except SyntaxError as error:
        raise ConfigError(
            f"--policy {reference}: {error.filename}, line {error.lineno}: {error.msg}"
        ) from None


def _market(args: argparse.Namespace, runs: list[Path]) -> MarketConfig:
    """The market the options name. With runs and no ``--market``, the runs' own with every option
    given applied over it (``--test`` alone moves its test split); with ``--market``, that data with
    the runs' assets and cash unless ``--assets`` or ``--cash`` say otherwise."""
    if not runs:
        return market_config(args)
    market = runs_market(runs)
    if args.market is not None:
        return market_config(args, MarketConfig(assets=market.assets, cash=market.cash))
    if args.train or args.val:
        raise ConfigError("with the runs' own market, give --test alone (their train and validation stay)")
    if args.test is not None:
        if market.splits is None:
            raise ConfigError(
                "the runs were split by fractions, not dates; give --market, --train, --val and --test"
            )
        market = dataclasses.replace(market, splits=dataclasses.replace(market.splits, test=args.test))
    return market_config(argparse.Namespace(**{**vars(args), "test": None}), market)  # the test split: above


if __name__ == "__main__":
    sys.exit(main())
