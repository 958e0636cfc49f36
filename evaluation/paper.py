"""A paper-trading journal: a rule followed forward in time, one bar at a time, through the ledger.

``start`` values a holdings file at a bar and records the rule's first decision there; each later
``advance`` with newer prices records every bar since the last one: the weights before trading
(drifted), the rule's target, the fees and turnover of the trade at the bar's close, the value
before trading, and the closes it used. The journal is one SQLite file, append only (triggers
refuse any UPDATE or DELETE of a bar), and each call writes its bars in one transaction, so a
killed call leaves it as it was. A bar already recorded is never recorded again: calling twice
changes nothing; newer prices that disagree with the recorded closes are refused.

The stepping is the backtest's: the rule's target through the env's action mapping
(:meth:`PortfolioEnv.target_weights`), then :func:`~cryptofolio.envs.ledger.trade_and_hold` with the
env's price relatives, so replaying N bars one call a bar gives a backtest's values over them.
A rule (overlays included), a trained run (its folder) or an ensemble of runs (their folders,
comma-separated): an agent observes the journal's weights and its drawdown below the highest value
recorded, as it would in a backtest from the journal's first bar; a recurrent agent's memory is
not kept from one bar to the next.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cryptofolio.agents import Policy, Rule, make_baseline
from cryptofolio.agents.ensemble import EnsemblePolicy
from cryptofolio.envs import EnvConfig, MarketData, PortfolioEnv, ledger_step, weights_to_action
from cryptofolio.envs.errors import DataError, StorageError
from cryptofolio.envs.ledger import trade_and_hold
from cryptofolio.evaluation.holdings import Holdings, value_holdings

ENSEMBLE = ","
"""Separates the run folders of an ensemble in a journal's policy."""
SCHEMA = """
CREATE TABLE journal (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE bars (
    time TEXT PRIMARY KEY, bar_value REAL NOT NULL, drifted TEXT NOT NULL, target TEXT NOT NULL,
    fees REAL NOT NULL, turnover REAL NOT NULL, closes TEXT NOT NULL
);
CREATE TRIGGER bars_append_only_update BEFORE UPDATE ON bars BEGIN SELECT RAISE(ABORT, 'append only'); END;
CREATE TRIGGER bars_append_only_delete BEFORE DELETE ON bars BEGIN SELECT RAISE(ABORT, 'append only'); END;
"""


@dataclass(frozen=True)
class Bar:
    """One recorded bar. Arrays are (N+1,), cash first, in the journal's symbols.

    :param time: the bar's close (UTC); :param value: value before trading, quote currency.
    :param drifted: weights before trading; :param target: weights after trading.
    :param fees: fees and slippage of the trade, quote currency; :param turnover: risky value traded
        over ``value``; :param closes: the closes used (NaN where not listed).
    """

    time: pd.Timestamp
    value: float
    drifted: np.ndarray
    target: np.ndarray
    fees: float
    turnover: float
    closes: np.ndarray


@dataclass(frozen=True)
class Journal:
    """A journal's settings and bars, as read from its file."""

    path: Path
    policy: str
    symbols: tuple[str, ...]
    config: EnvConfig
    market: dict[str, object]
    """How to open its market again (a ``MarketConfig`` as plain data; empty: not kept)."""
    bars: tuple[Bar, ...]

    @property
    def values(self) -> np.ndarray:
        """(n,) value before trading at each recorded bar."""
        return np.array([bar.value for bar in self.bars])


def start(
    path: Path,
    policy: str,
    holdings: Holdings,
    market: MarketData,
    bar: int,
    config: EnvConfig,
    source: dict[str, object] | None = None,
) -> Journal:
    """A new journal at ``path`` following the rule ``policy`` from ``holdings`` at ``bar``'s close.

    :param source: how to open the market again (a ``MarketConfig`` as plain data), kept in the journal.
    :raises StorageError: if ``path`` exists (a journal is never started over).
    """
    if path.exists():
        raise StorageError(f"{path} exists: a journal is started once; advance it, or choose another file")
    held = value_holdings(holdings, market, bar)
    record = first_bar(*_policy_and_env(policy, market, config), bar, held.value, held.weights)
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.executescript(SCHEMA)
        settings = {
            "policy": policy,
            "symbols": json.dumps(market.symbols),
            "costs": json.dumps(_costs(config)),
            "market": json.dumps(source or {}),
        }
        connection.executemany("INSERT INTO journal VALUES (?, ?)", list(settings.items()))
        _insert(connection, [record])
    return read(path)


def advance(path: Path, market: MarketData) -> list[Bar]:
    """Record every bar of ``market`` after the journal's last one; return the new bars (none if current).

    :raises DataError: if the market's assets or recorded closes differ from the journal's.
    """
    journal = read(path)
    if market.symbols != journal.symbols:
        raise DataError(
            f"{path} follows {', '.join(journal.symbols)}; this market has {', '.join(market.symbols)}"
        )
    last = journal.bars[-1]
    for bar in journal.bars:
        t = _bar_of(market, bar.time, path)
        same = np.isnan(bar.closes) == np.isnan(market.close[t])
        if not (
            same.all() and np.allclose(np.nan_to_num(bar.closes), np.nan_to_num(market.close[t]), rtol=1e-12)
        ):
            raise DataError(
                f"{path}: the market's closes at {bar.time} differ from those the journal recorded"
            )
    policy, env = _policy_and_env(journal.policy, market, journal.config)
    new = list(follow(policy, env, last, _bar_of(market, last.time, path), float(journal.values.max())))
    with closing(sqlite3.connect(path)) as connection, connection:
        _insert(connection, new)
    return new


def compare(journal: Journal, market: MarketData, rules: list[str]) -> dict[str, np.ndarray]:
    """Value paths over the journal's bars: the journal's, and each of ``rules`` followed from the same
    first bar (its value and weights) through the same ledger, on ``market`` (which holds those bars)."""
    first = journal.bars[0]
    t0, t1 = (_bar_of(market, bar.time, journal.path) for bar in (first, journal.bars[-1]))
    env = _env(market, journal.config)
    paths = {journal.policy: journal.values}
    for name in rules:
        rule = make_baseline(name)
        opening = first_bar(rule, env, t0, first.value, first.drifted)
        later = itertools.islice(follow(rule, env, opening, t0), t1 - t0)
        paths[name] = np.array([opening.value, *(bar.value for bar in later)])
    return paths


def follow(policy: Rule | Policy, env: PortfolioEnv, last: Bar, t: int, peak: float = 0.0) -> Iterator[Bar]:
    """The bars after ``last`` (recorded at bar ``t`` of ``env``'s market) to the market's end: hold
    ``last.target`` to the next close through the ledger, then decide there, as a backtest does.

    :param peak: the highest value so far (an agent observes its drawdown below it)."""
    market, rate = env.market, env.parameters.cost_rate
    value, drifted, target = last.value, last.drifted, last.target
    peak = max(peak, value)
    for bar in range(t, market.n_bars - 1):
        out = np.empty((1, len(target)))
        _, _, value = trade_and_hold(
            value, drifted.reshape(1, -1), target.reshape(1, -1), env.relatives, bar, 0, rate, out
        )
        drifted, peak = out[0], max(peak, value)
        target = _decide(policy, env, bar + 1, drifted, first=False, drawdown=1.0 - value / peak)
        fees, turnover, _, _ = ledger_step(value, drifted, target, np.ones_like(target), rate)
        yield Bar(market.timestamps[bar + 1], value, drifted, target, fees, turnover, market.close[bar + 1])


def first_bar(policy: Rule | Policy, env: PortfolioEnv, t: int, value: float, weights: np.ndarray) -> Bar:
    """The first decision at bar ``t`` from ``weights`` worth ``value`` (a rule trades to target)."""
    target = _decide(policy, env, t, weights, first=True, drawdown=0.0)
    fees, turnover, _, _ = ledger_step(value, weights, target, np.ones_like(target), env.parameters.cost_rate)
    return Bar(env.market.timestamps[t], value, weights, target, fees, turnover, env.market.close[t])


def read(path: Path) -> Journal:
    """The journal at ``path``, checked: its bars in time order, none missing between the first and last.

    :raises StorageError: for a file that is not a journal, or bars out of order.
    """
    if not path.is_file():
        raise StorageError(f"{path}: no such journal; start one with `cryptofolio paper start`")
    try:
        with closing(sqlite3.connect(path)) as connection:
            settings = dict(connection.execute("SELECT key, value FROM journal").fetchall())
            rows = connection.execute("SELECT * FROM bars ORDER BY time").fetchall()
    except sqlite3.DatabaseError as error:
        raise StorageError(f"{path}: not a paper-trading journal ({error})") from None
    if set(settings) != {"policy", "symbols", "costs", "market"} or not rows:
        raise StorageError(f"{path}: not a paper-trading journal (its settings or first bar are missing)")
    bars = tuple(
        Bar(pd.Timestamp(time), value, np.array(json.loads(d)), np.array(json.loads(w)), fees, turnover,
            np.array(json.loads(c), dtype=float))
        for time, value, d, w, fees, turnover, c in rows
    )  # fmt: skip
    steps = {b.time - a.time for a, b in itertools.pairwise(bars)}
    if len(steps) > 1:
        raise StorageError(f"{path}: its bars are not one bar apart ({sorted(map(str, steps))})")
    config = EnvConfig().with_options(**json.loads(settings["costs"]))
    symbols = tuple(json.loads(settings["symbols"]))
    return Journal(path, settings["policy"], symbols, config, json.loads(settings["market"]), bars)


def _costs(config: EnvConfig) -> dict[str, float]:
    costs = config.costs
    return {
        "fee": costs.fee,
        "slippage": costs.slippage,
        "cash_yield": costs.cash_yield,
        "delisting_haircut": costs.delisting_haircut,
    }


def _insert(connection: sqlite3.Connection, bars: list[Bar]) -> None:
    connection.executemany(
        "INSERT INTO bars VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (b.time.isoformat(), b.value, json.dumps(b.drifted.tolist()), json.dumps(b.target.tolist()),
             b.fees, b.turnover, json.dumps([None if np.isnan(c) else c for c in b.closes]))
            for b in bars
        ],
    )  # fmt: skip


def _env(market: MarketData, config: EnvConfig) -> PortfolioEnv:
    """An env on ``market`` that lends its action mapping and price relatives (its split plays no part)."""
    return PortfolioEnv(market, split="train", config=config.for_rules())


def _policy_and_env(policy: str, market: MarketData, config: EnvConfig) -> tuple[Rule | Policy, PortfolioEnv]:
    """The policy a journal follows (a rule spec, or a run folder's agent) and the env it decides in: a
    rule's lends the action mapping and price relatives, a run's is the run's own (features, anchor, band)
    at the journal's costs."""
    runs = policy.split(ENSEMBLE)
    if all(Path(run).is_dir() for run in runs):
        from cryptofolio.agents.sb3 import load_policy, run_env

        mappings = [run_env(run, market, split="train", costs=config.costs) for run in runs]
        members = [load_policy(run, env=env) for run, env in zip(runs, mappings, strict=True)]
        if len(runs) == 1:
            return members[0], mappings[0]
        own = mappings[0]  # the ensemble's observation; every member's spaces are checked against it
        env = PortfolioEnv(market, split="train", profile=own.profile, config=own.config.for_rules())
        return EnsemblePolicy(members, mappings, env, f"ensemble of {len(runs)} runs"), env
    return make_baseline(policy), _env(market, config)


def _decide(
    policy: Rule | Policy, env: PortfolioEnv, t: int, drifted: np.ndarray, first: bool, drawdown: float
) -> np.ndarray:
    """The target at bar ``t`` through the env's action mapping, as a backtest makes it: a rule's from
    the market up to ``t``; an agent's from the env's observation there (weights and ``drawdown``)."""
    if isinstance(policy, Rule):
        target = policy.target_weights(env.market.view(t), drifted, first)
        return env.target_weights(weights_to_action(target), t, drifted)
    if isinstance(policy, EnsemblePolicy):
        mean, _ = policy.target_weights(env.features.observation(t, drifted, drawdown), t, drifted)
        return env.target_weights(weights_to_action(mean), t, drifted)
    action, _ = policy.predict(env.features.observation(t, drifted, drawdown), deterministic=True)
    return env.target_weights(np.asarray(action).reshape(-1), t, drifted)


def _bar_of(market: MarketData, time: pd.Timestamp, path: Path) -> int:
    try:
        return market.bar_at(time)
    except DataError:
        raise DataError(f"{path}: the market has no bar at {time}, which the journal recorded") from None
