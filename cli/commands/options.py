"""Options several commands share, and the typed configuration they become.

Every option's default is the configuration's own (:mod:`cryptofolio.envs.config`,
:mod:`cryptofolio.training.config`): an option left out is ``None`` here and the dataclass
default applies, so no default is written twice.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cryptofolio.agents import BASELINES
from cryptofolio.agents.baselines import split_specs
from cryptofolio.agents.learners import names
from cryptofolio.envs import PROFILE_NAMES, Costs, MarketConfig, SplitDates
from cryptofolio.envs.errors import ConfigError
from cryptofolio.evaluation.diagnostics import WINDOW
from cryptofolio.training.config import UPPER_BOUNDS, VEC_ENVS, TrainConfig, resolve_config
from cryptofolio.training.optuna_studies import DEFAULT_STORAGE

_STAMP = r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}(?::\d{2}){0,2})?"
_RANGE = re.compile(rf"^({_STAMP}):({_STAMP})$")
SPLIT_OPTIONS = {"train": "train", "val": "validation", "test": "test"}
"""Command-line name of each split's option -> the split."""


SHARED_MARKET = "../shared/data/binance-daily"
"""The market of the published study and ablation unless ``--market`` (the shared daily closes)."""


def command_parser(prog: str | None, description: str | None) -> argparse.ArgumentParser:
    """A command's parser, its module docstring as the description, in plain text (no Sphinx markup)."""
    return argparse.ArgumentParser(
        prog=prog,
        description=plain_text(description or ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def plain_text(docstring: str) -> str:
    """A docstring as a terminal shows it: roles such as ``:func:`x``` and backquotes become bare names."""
    return re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", docstring).replace("`", "")


MAX_WORKERS = 256
"""The most worker processes one command starts (each holds a market and a model in memory)."""
MAX_SEEDS = 1_000
"""The most seeds one ``--seeds`` names (each seed is a unit of training)."""
MAX_SEED = 2**32 - 1
"""The largest seed numpy and torch accept."""
MAX_RESAMPLES = 100_000
"""The most bootstrap resamples (each resamples the path of every policy)."""
MAX_TIMESTEPS = UPPER_BOUNDS["n_timesteps"]
"""The most training steps of one run, as ``train --timesteps`` is bounded."""
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}")


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """argparse's ``type`` for a whole number of at least ``low`` (and at most ``high``)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{text!r} is below {low}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"{text!r} is above {high:,}")
        return value

    return parse


def output_path(text: str) -> Path:
    """A path to write to, as argparse's ``type``; an empty one (the current folder) is refused."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path; name the folder or file to write")
    return Path(text)


def nonempty(text: str) -> str:
    """Text that is not blank, as argparse's ``type`` (an empty ``--policy`` names the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty; name it")
    return text


def plain_name(text: str) -> str:
    """A name that is also a folder's (a study's), as argparse's ``type``: letters, digits, ``.``,
    ``_`` and ``-``, not starting with a dot, at most 100 characters."""
    if not _PLAIN_NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a plain name: letters, digits, '.', '_' and '-', at most 100, not "
            "starting with a dot"
        )
    return text


def seed_list(text: str) -> str:
    """``--seeds`` (``0-9``, ``0,3,5``) as argparse's ``type``, checked without expanding it: each seed
    from 0 to :data:`MAX_SEED`, at most :data:`MAX_SEEDS` in all. The text is kept for ``parse_seeds``,
    which refuses what is not a number or a range."""
    count = 0
    for part in filter(None, (p.strip() for p in text.split(","))):
        first, sep, last = part.partition("-")
        try:
            low, high = int(first), int(last if sep else first)
        except ValueError:
            continue
        if max(low, high) > MAX_SEED:
            raise argparse.ArgumentTypeError(f"{text!r}: a seed must be from 0 to {MAX_SEED:,}")
        count += max(0, high - low + 1)
        if count > MAX_SEEDS:
            raise argparse.ArgumentTypeError(f"{text!r} names more than {MAX_SEEDS:,} seeds, the limit")
    return text


def distinct_names(text: str) -> str:
    """Comma-separated names, each given once, as argparse's ``type``."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise argparse.ArgumentTypeError(f"{text!r} gives {', '.join(twice)} twice")
    return text


def learner_budgets(text: str) -> str:
    """``ppo=200000,sac=50000`` as argparse's ``type``: each budget at most :data:`MAX_TIMESTEPS`
    steps. The text is kept for the command to read."""
    for part in text.split(","):
        steps = part.partition("=")[2].strip()
        if steps.isdigit() and int(steps) > MAX_TIMESTEPS:
            raise argparse.ArgumentTypeError(f"{text!r}: {part.strip()} is above {MAX_TIMESTEPS:,} steps")
    return text


def positive_number(text: str) -> float:
    """A finite number above zero, as argparse's ``type``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def date_range(text: str) -> tuple[str, str]:
    """``START:END`` (inclusive dates, e.g. ``2020-10-15:2022-12-31``) as a pair."""
    match = _RANGE.match(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not START:END, e.g. 2020-10-15:2022-12-31")
    return match.group(1), match.group(2)


def add_market_arguments(
    parser: argparse.ArgumentParser, *, dates: bool = True, splits: bool = True, default_market: str = ""
) -> list[str]:
    """The market options (``--market``, ``--assets``, ``--cash``, ...) and ``--train/--val/--test``.

    :param dates: add ``--assets``, ``--start`` and ``--end``, which choose what is loaded.
    :param splits: add ``--train``, ``--val`` and ``--test``.
    :param default_market: what ``--market`` defaults to, as its help says it (empty: the synthetic market).
    :return: the options' ``dest`` names.
    """
    default = MarketConfig()
    group = parser.add_argument_group("market")
    actions = [
        group.add_argument(
            "--market",
            help=f"{default.source}, a folder of per-asset CSVs, or a table of closes "
            f"(default: {default_market or default.source})",
        ),
        group.add_argument(
            "--market-seed", type=int, help=f"seed of the synthetic market (default {default.seed})"
        ),
        group.add_argument(
            "--ffill-limit",
            type=int,
            help=f"fill gaps of up to this many bars with the last close (default {default.ffill_limit}: "
            "a gap is an error)",
        ),
        group.add_argument("--cash", help="cash asset (default USDT for real data, USDC on synthetic)"),
        group.add_argument(
            "--cash-prices", help="per-asset file of the cash asset's prices, e.g. .../USDC.csv"
        ),
        group.add_argument(
            "--columns",
            metavar="NAME=COLUMN,...",
            help="read other layouts: the files' column for time, open, high, low, close, volume (or, in a "
            "table, a symbol), e.g. 'time=Date,close=Adj Close'",
        ),
    ]
    if dates:
        actions += [
            group.add_argument("--assets", help="comma-separated symbols (default: all in the data)"),
            group.add_argument("--start", help="first date of the data to load (default: the earliest)"),
            group.add_argument(
                "--end", help="last date of the data to load, inclusive (default: the latest)"
            ),
        ]
    if splits:
        actions += [
            group.add_argument(
                f"--{option}", type=date_range, metavar="START:END", help=f"{split} dates, inclusive"
            )
            for option, split in SPLIT_OPTIONS.items()
        ]
    return [action.dest for action in actions]


def market_config(args: argparse.Namespace, base: MarketConfig | None = None) -> MarketConfig:
    """The market the options name; options left out take ``base``'s values (default: the defaults)."""
    values = {
        "source": args.market,
        "seed": args.market_seed,
        "ffill_limit": args.ffill_limit,
        "cash": args.cash,
        "cash_prices": args.cash_prices,
        "columns": tuple(filter(None, args.columns.split(","))) if args.columns else None,
        "assets": parse_symbols(getattr(args, "assets", None)),
        "start": getattr(args, "start", None),
        "end": getattr(args, "end", None),
        "splits": split_dates(args),
    }
    market = dataclasses.replace(base or MarketConfig(), **{k: v for k, v in values.items() if v is not None})
    if args.market_seed is not None and market.source != "synthetic":
        raise ConfigError(
            f"--market-seed {args.market_seed} seeds the synthetic market; {market.source} is read from files"
        )
    return market


def split_dates(args: argparse.Namespace) -> SplitDates | None:
    """``--train``, ``--val`` and (optionally) ``--test`` as :class:`SplitDates`.

    Training reads only train and validation: without ``--test``, the test split is the bars after
    validation.
    """
    given: dict[str, tuple[str, str]] = {
        split: getattr(args, option) for option, split in SPLIT_OPTIONS.items() if getattr(args, option, None)
    }
    if not given:
        return None
    missing = [
        f"--{option}" for option, split in SPLIT_OPTIONS.items() if split != "test" and split not in given
    ]
    if missing:
        raise ConfigError(
            f"give --train and --val together (--test is optional); missing {', '.join(missing)}"
        )
    return SplitDates(**given)


def parse_symbols(text: str | None) -> tuple[str, ...] | None:
    """``"BTC, ETH"`` as ``("BTC", "ETH")``; None stays None (all assets)."""
    if text is None:
        return None
    symbols = tuple(s.strip() for s in text.split(",") if s.strip())
    if not symbols:
        raise ConfigError(f"--assets {text!r} names no asset")
    return symbols


def add_cost_arguments(parser: argparse.ArgumentParser, default: str = "") -> list[str]:
    """``--fee``, ``--slippage`` and ``--cash-yield``; returns their ``dest`` names.

    :param default: where a cost left out comes from, for the help; ``{}`` in it stands for the cost's
        default value (empty: that value alone).
    """
    costs = Costs()
    group = parser.add_argument_group("costs (every policy of a command pays the same)")
    dests = []
    for name, what in (
        ("fee", "fee per unit of traded value"),
        ("slippage", "slippage per unit of traded value, added to the fee"),
        ("cash_yield", "annual yield of the cash asset"),
    ):
        value = getattr(costs, name)
        fallback = default.format(value) if default else f"default {value}"
        option = f"--{name.replace('_', '-')}"
        dests.append(group.add_argument(option, type=float, help=f"{what} ({fallback})").dest)
    return dests


def cost_values(args: argparse.Namespace) -> dict[str, float]:
    """The costs the options set, by :class:`Costs` field."""
    names = [f.name for f in dataclasses.fields(Costs)]
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def cost_overrides(args: argparse.Namespace) -> list[str]:
    """The costs the options set, as ``--set`` overrides of a training config (``env.costs.fee=0.002``)."""
    return [f"env.costs.{name}={value!r}" for name, value in cost_values(args).items()]


def costs_from(args: argparse.Namespace, base: Costs | None = None) -> Costs:
    """``base`` (default :class:`Costs`) with the costs the options set."""
    return dataclasses.replace(base or Costs(), **cost_values(args))


def add_training_arguments(parser: argparse.ArgumentParser, algo_help: str = "algorithm") -> list[str]:
    """The options that describe a new run; returns their ``dest`` names (``--resume`` refuses them)."""
    dests = [
        parser.add_argument("--algo", choices=sorted(names()), help=algo_help).dest,
        parser.add_argument("--profile", choices=PROFILE_NAMES, help="risk profile (default moderate)").dest,
    ]
    dests += add_market_arguments(parser)
    dests += add_cost_arguments(parser, "default: the hyperparameter file's, else {}")
    default = TrainConfig("ppo")
    dests += [
        parser.add_argument(
            "--timesteps", type=int, help="environment steps to train (default: the YAML's n_timesteps)"
        ).dest,
        parser.add_argument(
            "--seed", type=int, help=f"seed of everything random (default {default.seed})"
        ).dest,
        parser.add_argument("--n-envs", type=int, help="parallel training envs (default: the YAML's)").dest,
        parser.add_argument(
            "--vec-env",
            choices=VEC_ENVS,
            help=f"vectorized env (default: the YAML's, else {default.vec_env})",
        ).dest,
        parser.add_argument(
            "--hyperparams",
            type=Path,
            help="YAML in the layout of configs/<algo>.yaml, read instead of it (e.g. tune's best.yaml)",
        ).dest,
        parser.add_argument(
            "--set", action="append", metavar="KEY=VALUE", help="override a setting, e.g. env.costs.fee=0.002"
        ).dest,
    ]
    return dests


def train_config(args: argparse.Namespace, overrides: Sequence[str] = (), **explicit: Any) -> TrainConfig:
    """The config :func:`add_training_arguments`' options describe, plus ``overrides`` and ``explicit``."""
    if args.algo is None:
        raise ConfigError("--algo is required")
    values = {
        "n_timesteps": args.timesteps,
        "seed": args.seed,
        "n_envs": args.n_envs,
        "vec_env": args.vec_env,
    }
    return resolve_config(
        args.algo,
        args.profile or "moderate",
        hyperparams_file=args.hyperparams,
        overrides=[*(args.set or []), *cost_overrides(args), *overrides],
        market=market_config(args),
        **{**values, **explicit},
    )


def add_holdings_arguments(parser: argparse.ArgumentParser, default_market: str = "") -> None:
    """Options shared by ``recommend`` and ``diagnose``: the holdings, the market and the date.

    :param default_market: what ``--market`` defaults to, in words (empty: the synthetic market).
    """
    parser.add_argument("--holdings", type=Path, required=True, help="CSV or JSON of symbol and quantity")
    add_market_arguments(parser, dates=False, splits=False, default_market=default_market)
    parser.add_argument("--as-of", help="date of the bar to use, e.g. 2024-06-30 (default: the latest)")
    parser.add_argument(
        "--window",
        type=int,
        default=WINDOW,
        help=f"bars of returns for correlations and risk (default {WINDOW})",
    )
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output (table)")


def add_study_arguments(parser: argparse.ArgumentParser, default_study: str) -> None:
    """``--storage`` and ``--study``, shared by ``tune`` and ``sweep``."""
    parser.add_argument(
        "--storage",
        help=f"database URL of the study (default: sqlite:///{DEFAULT_STORAGE}); postgresql://... to "
        "share it between machines",
    )
    parser.add_argument(
        "--study", type=plain_name, help=f"study name, also its folder's (default: {default_study})"
    )


def command_argv(prog: str | None, module: str, argv: Sequence[str] | None) -> list[str]:
    """The command as typed: ``prog`` (``cryptofolio train``) or ``python -m <module>``, and its arguments.

    ``shlex.join`` of it is the line to type again.
    """
    invoked = shlex.split(prog) if prog else [sys.executable, "-m", module]
    return [*invoked, *(sys.argv[1:] if argv is None else argv)]


def baseline_names(text: str, option: str) -> list[str]:
    """``all`` or comma-separated baseline specs, as a list (``option`` names the option in errors)."""
    if text.strip() == "all":
        return list(BASELINES)
    specs = split_specs(text)
    if not specs:
        raise ConfigError(f"{option} {text!r} names no policy")
    twice = sorted({spec for spec in specs if specs.count(spec) > 1})
    if twice:
        raise ConfigError(f"{option} {text!r} gives {', '.join(twice)} twice; name each policy once")
    return specs
