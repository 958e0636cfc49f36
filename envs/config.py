"""The typed configuration of a market and of the env: frozen dataclasses, a docstring per field.

=====================  =======================================================================
``MarketConfig``       which prices: source, assets, cash, dates, gap policy, and the splits
``Costs``              what trading costs (fee, slippage), and what cash earns
``RewardConfig``       the reward's penalties
``ActionConfig``       how actions become weights: free or residual tilts, band, decision interval
``ObservationConfig``  what an agent observes
``EnvConfig``          the four above and the episode: what ``PortfolioEnv`` takes whole
=====================  =======================================================================

Each default lives here and nowhere else. :func:`to_data` and :func:`from_data` turn any of
them (and the training configuration, which nests them) into plain data for YAML and back;
``from_data`` refuses unknown keys and values of the wrong type, naming the key's dotted path
(``env.costs.fee``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cryptofolio.envs.errors import ConfigError, DataError, UserError
from cryptofolio.envs.features import KINDS
from cryptofolio.envs.loaders import column_mapping, load_csv_dir, load_wide_table, market_symbols
from cryptofolio.envs.market import MarketData
from cryptofolio.envs.splits import Splits, split_by_dates, split_by_fractions
from cryptofolio.envs.synthetic import synthetic_market

DRAWDOWN_MODES = ("excess", "increase")
OBJECTIVES = ("log_growth", "differential_sharpe")

Config = TypeVar("Config")


@dataclass(frozen=True)
class SplitDates:
    """Inclusive first and last dates of each split (``2023-01-01``, or with a time of day)."""

    train: tuple[str, str]
    """Training bars: the only ones an agent learns from."""
    validation: tuple[str, str]
    """Model selection: the bars every choice (checkpoint, hyperparameters, variant) is made on."""
    test: tuple[str, str] | None = None
    """Read for reports only, never to choose; None: the bars after validation (a run trains without it)."""

    def __post_init__(self) -> None:
        check_types(self)


@dataclass(frozen=True)
class MarketConfig:
    """Which market to open, and how to split it; :meth:`load` opens it."""

    source: str = "synthetic"
    """``synthetic`` (the built-in regime-switching market), a folder of per-asset CSVs, or a table."""
    seed: int = 0
    """Seed of the synthetic market (unused for real data)."""
    assets: tuple[str, ...] | None = None
    """Risky assets, in this order; None: all in the data (the moderate profile's on synthetic)."""
    cash: str | None = None
    """Cash asset; None: USDT for real data, USDC on synthetic."""
    cash_prices: str | None = None
    """A per-asset file of the cash asset's own prices (a stablecoin with its depegs); None: 1.0."""
    start: str | None = None
    """First date of the data kept (real data); None: the earliest."""
    end: str | None = None
    """Last date of the data kept, inclusive (real data); None: the latest."""
    ffill_limit: int = 0
    """Gap policy: fill gaps of up to this many bars with the last close (0: a gap is an error)."""
    columns: tuple[str, ...] | None = None
    """Column mapping of other layouts, ``NAME=COLUMN`` entries (``time=Date``, ``close=Adj Close``);
    None: the layouts the loaders read as they are (:mod:`cryptofolio.envs.loaders`)."""
    splits: SplitDates | None = None
    """Dates of the train, validation and test splits; None: 70/15/15% of the bars in time order."""

    def __post_init__(self) -> None:
        check_types(self)
        if self.ffill_limit < 0:
            raise ConfigError(
                f"ffill_limit must be 0 (gaps are errors) or a number of bars, got {self.ffill_limit}"
            )
        if not 0 <= self.seed < 2**32:
            raise ConfigError(
                f"seed (of the synthetic market) must be from 0 to {2**32 - 1:,}, got {self.seed:,}"
            )
        if self.assets is not None and not self.assets:
            raise ConfigError("assets names no asset; give at least one risky asset, or None for all")
        if self.assets is not None and len(set(self.assets)) != len(self.assets):
            raise ConfigError(f"assets names an asset twice: {', '.join(self.assets)}")
        if self.columns is not None:
            if self.source == "synthetic":
                raise ConfigError("columns map the layout of data files; the synthetic market has none")
            column_mapping(self.columns)

    def offered(self) -> tuple[str, ...]:
        """The risky assets the source offers (files, table columns, or the synthetic model's)."""
        return market_symbols(self.source, self.columns)

    def load(self) -> tuple[MarketData, Splits]:
        """The market and its splits."""
        market = self.load_market()
        if self.splits is None:
            return market, split_by_fractions(market)
        return market, split_by_dates(
            market, train=self.splits.train, validation=self.splits.validation, test=self.splits.test
        )

    def load_market(self) -> MarketData:
        """The market alone (its splits are not read): generated, or read by the file loaders."""
        if self.source == "synthetic":
            if self.cash_prices is not None or self.start is not None or self.end is not None:
                raise ConfigError(
                    "cash prices, start and end apply to real data; the synthetic market is generated"
                )
            return synthetic_market(seed=self.seed, symbols=self.assets, cash=self.cash or "USDC")
        path = Path(self.source)
        symbols, limit, cash, start, end = (
            self.assets,
            self.ffill_limit,
            self.cash or "USDT",
            self.start,
            self.end,
        )
        if path.is_dir():
            return load_csv_dir(
                path,
                symbols=symbols,
                ffill_limit=limit,
                cash=cash,
                cash_prices=self.cash_prices,
                start=start,
                end=end,
                columns=self.columns,
            )
        if path.is_file():
            if self.cash_prices is not None:
                raise ConfigError(f"{path}: in a table, the cash prices are its column named by --cash")
            return load_wide_table(
                path,
                symbols=symbols,
                cash=cash,
                ffill_limit=limit,
                start=start,
                end=end,
                columns=self.columns,
            )
        raise DataError(
            f"{path}: no such folder or file (a market is 'synthetic', a folder of CSVs or a table)"
        )


@dataclass(frozen=True)
class Costs:
    """What trading costs, on each risky asset's traded value (the ledger's ``c``), and what cash earns."""

    fee: float = 0.001
    """Trading fee per unit of traded value (0.001 = 0.1%, a spot taker fee)."""
    slippage: float = 0.0
    """Extra cost per unit of traded value (spread, impact), added to the fee."""
    cash_yield: float = 0.0
    """Annual yield of the cash asset (0.05 = 5%), compounded per bar."""
    delisting_haircut: float = 0.0
    """Share of a delisted position's value lost: held past its last bar, it is worth its last close
    times ``1 - haircut`` and sold into cash at the next decision (0: the last close)."""

    def __post_init__(self) -> None:
        check_types(self)
        check_range("delisting_haircut", self.delisting_haircut, 0.0, 1.0)
        check_range("fee", self.fee, 0.0, 0.5)
        check_range("slippage", self.slippage, 0.0, 0.5)
        check_range("cash_yield", self.cash_yield, -0.99, 10.0)

    @property
    def rate(self) -> float:
        """``c = fee + slippage``, per unit of risky value traded."""
        return self.fee + self.slippage


@dataclass(frozen=True)
class RewardConfig:
    """The reward's terms beside the log growth (see :class:`~cryptofolio.envs.PortfolioEnv`)."""

    drawdown_penalty: float = 0.5
    """Strength of the drawdown penalty."""
    drawdown_tolerance: float | None = None
    """Drawdown beyond which the ``excess`` penalty applies; None: the risk profile's maximum drawdown."""
    drawdown_mode: str = "excess"
    """``excess`` (drawdown beyond the tolerance) or ``increase`` (each deepening, over the tolerance)."""
    turnover_penalty: float = 0.0
    """Penalty per unit of turnover."""
    action_penalty: float = 0.0
    """Penalty on the action's mean square (with residual actions: the tilt away from the profile)."""
    objective: str = "log_growth"
    """``log_growth`` (the step's log return) or ``differential_sharpe`` (Moody and Saffell's)."""
    sharpe_decay: float = 0.01
    """Weight of the newest return in the differential Sharpe ratio's moving moments (0.01: ~100 bars)."""
    variance_penalty: float = 0.0
    """Penalty on the step's squared log growth (with the log growth: a mean-variance utility; 0: off)."""
    budget_rate: float = 0.0
    """0: the drawdown penalty is fixed. > 0: in training it is a Lagrange multiplier on the budget, from
    ``drawdown_penalty``, raised at this rate while training episodes' max drawdown breaks the tolerance
    and lowered while they keep it: after each rollout (SB3) or update (the gradient agent), by
    ``budget_rate * (mean episode max drawdown - tolerance) / tolerance``, never below 0 (dual ascent);
    validation keeps ``drawdown_penalty``."""

    def __post_init__(self) -> None:
        check_types(self)
        check_choice("objective", self.objective, OBJECTIVES)
        check_range("sharpe_decay", self.sharpe_decay, 0.0, 1.0, open_low=True)
        check_range("drawdown_penalty", self.drawdown_penalty, 0.0, math.inf)
        check_range("turnover_penalty", self.turnover_penalty, 0.0, math.inf)
        check_range("action_penalty", self.action_penalty, 0.0, math.inf)
        check_range("variance_penalty", self.variance_penalty, 0.0, math.inf)
        check_range("budget_rate", self.budget_rate, 0.0, math.inf)
        check_choice("drawdown_mode", self.drawdown_mode, DRAWDOWN_MODES)
        if self.drawdown_tolerance is not None:
            increase = self.drawdown_mode == "increase"  # divides by the tolerance: it must be positive
            check_range("drawdown_tolerance", self.drawdown_tolerance, 0.0, 1.0, open_low=increase)


@dataclass(frozen=True)
class ActionConfig:
    """How an action becomes target weights (:mod:`cryptofolio.envs.actions`); rules choose weights."""

    residual: bool = False
    """Actions tilt the profile's model portfolio (the zero action holds it) instead of choosing weights."""
    anchor: str | None = None
    """With residual: the rule tilted instead of the model portfolio, a baseline spec in which ``profile``
    stands for the run's profile (``profile+voltarget+ddbrake``); None: the model portfolio."""
    tilt: float = 1.0
    """Strength of a residual tilt: each weight scales by at most ``e^tilt``."""
    risk_dial: bool = False
    """With residual: the cash entry sets the risky share, ``min(1 + a_0, risk_cap)`` times the profile's."""
    risk_cap: float = 1.0
    """The risk dial's largest multiple of the profile's risky share (1: at most the profile's risk)."""
    trade_band: float = 0.0
    """No trade unless some weight would move by at least this much (0: always trade)."""
    decision_every: int = 1
    """Trade only on bars whose index is a multiple of this (7: weekly on daily bars)."""

    def __post_init__(self) -> None:
        check_types(self)
        check_range("tilt", self.tilt, 0.0, 10.0, open_low=True)
        check_range("risk_cap", self.risk_cap, 1.0, 10.0)
        if self.risk_dial and not self.residual:
            raise ConfigError("risk_dial scales the profile's risky share: it needs residual actions")
        if self.anchor is not None and not (self.residual and self.anchor.strip()):
            raise ConfigError(
                f"anchor {self.anchor!r} names the rule residual actions tilt: it needs residual"
            )
        check_range("trade_band", self.trade_band, 0.0, 1.0)
        if self.decision_every < 1:
            raise ConfigError(
                f"decision_every must be a whole number of bars, at least 1, got {self.decision_every}"
            )

    @property
    def free(self) -> bool:
        """Whether actions map straight to weights, traded every bar: the mapping a rule runs on."""
        return not self.residual and self.trade_band == 0.0 and self.decision_every == 1


@dataclass(frozen=True)
class ObservationConfig:
    """What an agent observes (:mod:`cryptofolio.envs.features`)."""

    features: str = "window"
    """``window`` (the last ``window`` bars' returns and volatility) or ``summary`` (momentum, volatility)."""
    window: int = 30
    """Bars of history an observation needs; the first bar an episode can start at."""

    def __post_init__(self) -> None:
        check_types(self)
        check_choice("features", self.features, KINDS)
        if self.window < 2:
            raise ConfigError(f"window must be at least 2 bars, got {self.window}")


@dataclass(frozen=True)
class EnvConfig:
    """Everything :class:`~cryptofolio.envs.PortfolioEnv` takes besides its market, split and profile."""

    costs: Costs = field(default_factory=Costs)
    """Fee, slippage and cash yield."""
    reward: RewardConfig = field(default_factory=RewardConfig)
    """The reward's penalties."""
    actions: ActionConfig = field(default_factory=ActionConfig)
    """How actions become weights."""
    observation: ObservationConfig = field(default_factory=ObservationConfig)
    """What the agent observes."""
    episode_length: int = 365
    """Steps per training episode (fewer if the split ends first)."""
    initial_value: float = 1.0
    """Portfolio value at the start of each episode, quote currency."""
    ruin_fraction: float = 0.01
    """An episode terminates when the value falls below this share of the initial value."""

    def __post_init__(self) -> None:
        check_types(self)
        if self.episode_length < 1:
            raise ConfigError(f"episode_length must be at least 1 step, got {self.episode_length}")
        check_range("initial_value", self.initial_value, 0.0, math.inf, open_low=True)
        check_range("ruin_fraction", self.ruin_fraction, 0.0, 1.0, open_low=True)

    def for_rules(self) -> EnvConfig:
        """This config with free actions: the env a rule is compared on (same costs, bars, reward)."""
        return dataclasses.replace(self, actions=ActionConfig())

    def with_options(self, **options: Any) -> EnvConfig:
        """This config with fields of its sections set by name: ``with_options(fee=0.002, window=60)``.

        The names are those of the sections' fields (``fee``, ``residual``, ``window``, ...) and of
        the episode fields; this is what ``PortfolioEnv(**options)`` and ``gym.make`` take.
        """
        sections: dict[str, dict[str, Any]] = {}
        top: dict[str, Any] = {}
        owners = option_owners()
        for name, value in options.items():
            if name not in owners:
                raise ConfigError(f"unknown env option {name!r}; options: {', '.join(owners)}")
            if owners[name] is None:
                top[name] = value
            else:
                sections.setdefault(str(owners[name]), {})[name] = value
        replaced = {
            section: dataclasses.replace(getattr(self, section), **values)
            for section, values in sections.items()
        }
        return dataclasses.replace(self, **replaced, **top)


def option_owners() -> dict[str, str | None]:
    """Each flat env option and the :class:`EnvConfig` section holding it (None: EnvConfig itself)."""
    owners: dict[str, str | None] = {}
    hints = typing.get_type_hints(EnvConfig)
    for f in dataclasses.fields(EnvConfig):
        kind = hints[f.name]
        if dataclasses.is_dataclass(kind):
            owners.update(dict.fromkeys((g.name for g in dataclasses.fields(kind)), f.name))
        else:
            owners[f.name] = None
    return owners


def check_types(config: Any) -> None:
    """``ConfigError`` naming the first field of a config dataclass whose value is not of its type."""
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        _typed(hints[f.name], getattr(config, f.name), f.name)


def check_range(name: str, value: float, low: float, high: float, open_low: bool = False) -> None:
    """``ConfigError`` naming ``name`` unless ``value`` is finite and in ``[low, high]`` (``(low`` open)."""
    ok = isinstance(value, int | float) and math.isfinite(value)
    ok = ok and (value > low if open_low else value >= low) and value <= high
    if not ok:
        bound = f"({low}" if open_low else f"[{low}"
        raise ConfigError(f"{name} must be a finite number in {bound}, {high}], got {value!r}")


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    """``ConfigError`` naming ``name`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


def to_data(config: Any) -> dict[str, Any]:
    """Plain data of a config dataclass (nested configs as mappings, tuples as lists), for YAML."""
    data: dict[str, Any] = _plain(dataclasses.asdict(config))
    return data


def from_data(cls: type[Config], data: Any, path: str = "") -> Config:
    """``cls`` built from plain data (nested configs included); absent keys take their defaults.

    :raises ConfigError: naming the dotted key of an unknown setting, a value of the wrong type,
        or a value the config refuses.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path or cls.__name__}: expected a mapping of settings, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    for key in data:
        if key not in names:
            raise ConfigError(f"{_dotted(path, key)}: unknown setting; known here: {', '.join(names)}")
    values = {key: _typed(hints[key], value, _dotted(path, key)) for key, value in data.items()}
    missing = [f.name for f in dataclasses.fields(cls) if f.name not in values and _required(f)]  # type: ignore[arg-type]
    if missing:
        raise ConfigError(f"{_dotted(path, missing[0])}: missing; it has no default")
    try:
        return cls(**values)
    except UserError as error:  # a check of the section's own (a bug's ValueError keeps its traceback)
        raise ConfigError(f"{path}.{error}" if path else str(error)) from None


def _required(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _dotted(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _typed(kind: Any, value: Any, path: str) -> Any:
    """``value`` checked (and converted where lossless) against the annotation ``kind``."""
    origin, arguments = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in arguments:
            return None
        (kind,) = [a for a in arguments if a is not type(None)]
        origin, arguments = typing.get_origin(kind), typing.get_args(kind)
    if dataclasses.is_dataclass(kind):
        if isinstance(value, kind):  # type: ignore[arg-type]
            return value
        return from_data(kind, value, path)  # type: ignore[arg-type]
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{path}: expected a list, got {value!r}")
        items = [arguments[0]] * len(value) if arguments[-1] is Ellipsis else list(arguments)
        if len(items) != len(value):
            raise ConfigError(f"{path}: expected {len(items)} values, got {len(value)}: {value!r}")
        return tuple(_typed(k, v, f"{path}[{i}]") for i, (k, v) in enumerate(zip(items, value, strict=True)))
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: expected a mapping, got {value!r}")
        return dict(value)
    return _scalar(kind, value, path)


def _scalar(kind: type, value: Any, path: str) -> Any:
    if kind is bool and isinstance(value, bool):
        return value
    if kind is int and isinstance(value, int | float) and not isinstance(value, bool):
        if float(value).is_integer():
            return int(value)
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind is str:
        if isinstance(value, dt.date):  # YAML reads an unquoted 2023-01-01 as a date
            return value.isoformat()
        if isinstance(value, str):
            return value
    expected = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}
    raise ConfigError(f"{path}: expected {expected.get(kind, kind.__name__)}, got {value!r}")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
