"""A paper-trading journal: a rule followed forward in time, one bar at a time, through the ledger.

``start`` values a holdings file at a bar and records the rule's first decision there; each later
``advance`` with newer prices records every bar since the last one: the weights before trading
(drifted), the rule's target, the fees and turnover of the trade at the bar's close, the value
before trading, and the closes it used. The journal is one SQLite file or a PostgreSQL database
(a ``postgresql://`` URL, one journal per database), append only (triggers refuse any UPDATE,
DELETE or TRUNCATE of its settings and bars), and each call writes in one transaction, so a
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
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from cryptofolio.agents import Policy, Rule, make_baseline
from cryptofolio.agents.ensemble import EnsemblePolicy
from cryptofolio.envs import EnvConfig, MarketData, PortfolioEnv, ledger_step, weights_to_action
from cryptofolio.envs.errors import DataError, StorageError
from cryptofolio.envs.ledger import trade_and_hold
from cryptofolio.evaluation.databases import database_url, masked, reason
from cryptofolio.evaluation.holdings import Holdings, value_holdings

ENSEMBLE = ","
"""Separates the run folders of an ensemble in a journal's policy."""
TABLES = {
    "journal": "key TEXT PRIMARY KEY, value TEXT NOT NULL",
    "bars": "time TEXT PRIMARY KEY, bar_value DOUBLE PRECISION NOT NULL, drifted TEXT NOT NULL, "
    "target TEXT NOT NULL, fees DOUBLE PRECISION NOT NULL, turnover DOUBLE PRECISION NOT NULL, "
    "closes TEXT NOT NULL",
}
"""The journal's tables: its settings, and one row per bar (arrays as JSON, times as ISO 8601)."""
BAR_COLUMNS = ("time", "bar_value", "drifted", "target", "fees", "turnover", "closes")
APPEND_ONLY = {
    "sqlite": [
        f"CREATE TRIGGER {table}_append_only_{verb.lower()} BEFORE {verb} ON {table} "
        "BEGIN SELECT RAISE(ABORT, 'append only'); END"
        for table in TABLES
        for verb in ("UPDATE", "DELETE")
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION cryptofolio_append_only() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RAISE EXCEPTION 'append only'; END $$",
        *(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW "
            "EXECUTE FUNCTION cryptofolio_append_only()"
            for table in TABLES
        ),
        *(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT "
            "EXECUTE FUNCTION cryptofolio_append_only()"
            for table in TABLES
        ),
    ],
}
"""Triggers that refuse to change or remove a written row, per database."""


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

    where: str
    """The journal's file or URL, as messages name it (a password hidden)."""
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
    where: str | Path,
    policy: str,
    holdings: Holdings,
    market: MarketData,
    bar: int,
    config: EnvConfig,
    source: dict[str, object] | None = None,
) -> Journal:
    """A new journal at ``where`` (an SQLite file, or a ``postgresql://`` URL) following the rule
    ``policy`` from ``holdings`` at ``bar``'s close.

    :param source: how to open the market again (a ``MarketConfig`` as plain data), kept in the journal.
    :raises StorageError: if the file exists or the database holds a journal (one is never started over).
    """
    label = _label(where)
    if (file := _file(where)) is not None and file.exists():
        raise StorageError(f"{label} exists: a journal is started once; advance it, or choose another file")
    held = value_holdings(holdings, market, bar)
    record = first_bar(*_policy_and_env(policy, market, config), bar, held.value, held.weights)
    settings = {
        "policy": policy,
        "symbols": json.dumps(market.symbols),
        "costs": json.dumps(_costs(config)),
        "market": json.dumps(source or {}),
    }
    engine = _engine(where)
    try:
        with engine.begin() as connection:
            if any(inspect(connection).has_table(table) for table in TABLES):
                raise StorageError(f"{label} holds a journal already: a journal is started once; advance it")
            for table, columns in TABLES.items():
                connection.execute(text(f"CREATE TABLE {table} ({columns})"))
            for trigger in APPEND_ONLY[engine.dialect.name]:
                connection.execute(text(trigger))
            connection.execute(
                text("INSERT INTO journal VALUES (:key, :value)"),
                [{"key": key, "value": value} for key, value in settings.items()],
            )
            _insert(connection, [record])
    except SQLAlchemyError as error:
        raise StorageError(f"{label}: cannot start the journal ({reason(error)})") from None
    finally:
        engine.dispose()
    return read(where)


def advance(where: str | Path, market: MarketData) -> list[Bar]:
    """Record every bar of ``market`` after the journal's last one; return the new bars (none if current).

    :raises DataError: if the market's assets or recorded closes differ from the journal's.
    :raises StorageError: if another call recorded bars meanwhile (nothing of this one is written).
    """
    journal = read(where)
    label = journal.where
    if market.symbols != journal.symbols:
        raise DataError(
            f"{label} follows {', '.join(journal.symbols)}; this market has {', '.join(market.symbols)}"
        )
    last = journal.bars[-1]
    for bar in journal.bars:
        t = _bar_of(market, bar.time, label)
        same = np.isnan(bar.closes) == np.isnan(market.close[t])
        if not (
            same.all() and np.allclose(np.nan_to_num(bar.closes), np.nan_to_num(market.close[t]), rtol=1e-12)
        ):
            raise DataError(
                f"{label}: the market's closes at {bar.time} differ from those the journal recorded"
            )
    policy, env = _policy_and_env(journal.policy, market, journal.config)
    new = list(follow(policy, env, last, _bar_of(market, last.time, label), float(journal.values.max())))
    engine = _engine(where)
    try:
        with engine.begin() as connection:
            _insert(connection, new)
    except IntegrityError:
        raise StorageError(
            f"{label}: another call recorded bars meanwhile; nothing of this one was written, call again"
        ) from None
    except SQLAlchemyError as error:
        raise StorageError(f"{label}: cannot record the bars ({reason(error)})") from None
    finally:
        engine.dispose()
    return new


def compare(journal: Journal, market: MarketData, rules: list[str]) -> dict[str, np.ndarray]:
    """Value paths over the journal's bars: the journal's, and each of ``rules`` followed from the same
    first bar (its value and weights) through the same ledger, on ``market`` (which holds those bars)."""
    first = journal.bars[0]
    t0, t1 = (_bar_of(market, bar.time, journal.where) for bar in (first, journal.bars[-1]))
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


def read(where: str | Path) -> Journal:
    """The journal at ``where`` (a file or URL), checked: its bars in time order, none missing between
    the first and last.

    :raises StorageError: for a file or database that holds no journal, or bars out of order.
    """
    label = _label(where)
    if (file := _file(where)) is not None and not file.is_file():
        raise StorageError(f"{label}: no such journal; start one with `cryptofolio paper start`")
    engine = _engine(where)
    try:
        with engine.connect() as connection:
            if not all(inspect(connection).has_table(table) for table in TABLES):
                raise StorageError(f"{label}: not a paper-trading journal (no journal and bars tables)")
            settings: dict[str, str] = dict(connection.execute(text("SELECT key, value FROM journal")).all())
            rows = connection.execute(text(f"SELECT {', '.join(BAR_COLUMNS)} FROM bars ORDER BY time")).all()
    except SQLAlchemyError as error:
        raise StorageError(f"{label}: cannot be read as a paper-trading journal ({reason(error)})") from None
    finally:
        engine.dispose()
    if set(settings) != {"policy", "symbols", "costs", "market"} or not rows:
        raise StorageError(f"{label}: not a paper-trading journal (its settings or first bar are missing)")
    symbols = _setting(settings, "symbols", list, label)
    if not symbols or not all(isinstance(s, str) for s in symbols):
        raise StorageError(f"{label}: table journal, key symbols: expected a JSON list of symbols")
    bars = tuple(_bar(row, len(symbols), label) for row in rows)
    steps = {b.time - a.time for a, b in itertools.pairwise(bars)}
    if len(steps) > 1:
        raise StorageError(f"{label}: its bars are not one bar apart ({sorted(map(str, steps))})")
    try:
        config = EnvConfig().with_options(**_setting(settings, "costs", dict, label))
    except (TypeError, ValueError) as error:
        raise StorageError(f"{label}: table journal, key costs: {error}") from None
    market = _setting(settings, "market", dict, label)
    return Journal(label, settings["policy"], tuple(symbols), config, market, bars)


def _setting(settings: dict[str, str], key: str, kind: type, label: str) -> Any:
    """The journal's setting ``key``, JSON of ``kind``."""
    try:
        value = json.loads(settings[key])
    except (TypeError, json.JSONDecodeError, RecursionError):
        value = None
    if not isinstance(value, kind):
        raise StorageError(f"{label}: table journal, key {key}: expected JSON of a {kind.__name__}")
    return value


def _bar(row: Sequence[Any], n: int, label: str) -> Bar:
    """One row of the bars table, checked: an ISO 8601 time with its offset, finite numbers, and
    arrays of ``n`` entries (one per symbol)."""
    time, value, drifted, target, fees, turnover, closes = row
    where = f"{label}: table bars, row {str(time)[:40]!r}, column"
    try:
        stamp = pd.Timestamp(time) if isinstance(time, str) else None
    except ValueError:
        stamp = None
    if stamp is None or pd.isna(stamp) or stamp.tzinfo is None:
        raise StorageError(f"{where} time: expected an ISO 8601 time with its UTC offset, got {time!r:.40}")

    def number(column: str, raw: Any) -> float:
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            raise StorageError(f"{where} {column}: expected a finite number, got {raw!r:.40}")
        return float(raw)

    def array(column: str, raw: Any, gaps: bool = False) -> np.ndarray:
        try:
            entries = json.loads(raw) if isinstance(raw, str) else None
        except (json.JSONDecodeError, RecursionError):
            entries = None
        if not isinstance(entries, list) or len(entries) != n:
            raise StorageError(f"{where} {column}: expected a JSON list of {n} numbers, got {raw!r:.40}")
        return np.array([np.nan if gaps and e is None else number(column, e) for e in entries])

    return Bar(
        stamp,
        number("bar_value", value),
        array("drifted", drifted),
        array("target", target),
        number("fees", fees),
        number("turnover", turnover),
        array("closes", closes, gaps=True),
    )


def _file(where: str | Path) -> Path | None:
    """The SQLite file ``where`` names (a path, or an ``sqlite:///`` URL); None for a server's URL."""
    if "://" not in str(where):
        return Path(where)
    url = database_url(str(where), "--journal")
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise StorageError(f"--journal {str(where)!r}: name the journal's file: sqlite:///FILE")
    return Path(url.database)


def _label(where: str | Path) -> str:
    return str(where) if "://" not in str(where) else masked(str(where))


def _engine(where: str | Path) -> Engine:
    """An engine on the journal's database. SQLite's Python driver is told to leave transactions to
    SQLAlchemy, so that creating the tables is part of the one transaction too (SQLAlchemy's recipe)."""
    file = _file(where)
    if file is None:
        return create_engine(database_url(str(where), "--journal"))
    engine = create_engine(f"sqlite:///{file.resolve()}")

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection):  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN")

    return engine


def _costs(config: EnvConfig) -> dict[str, float]:
    costs = config.costs
    return {
        "fee": costs.fee,
        "slippage": costs.slippage,
        "cash_yield": costs.cash_yield,
        "delisting_haircut": costs.delisting_haircut,
    }


def _insert(connection: Connection, bars: list[Bar]) -> None:
    if not bars:
        return
    connection.execute(
        text("INSERT INTO bars VALUES (:time, :value, :drifted, :target, :fees, :turnover, :closes)"),
        [
            {"time": b.time.isoformat(), "value": b.value, "drifted": json.dumps(b.drifted.tolist()),
             "target": json.dumps(b.target.tolist()), "fees": b.fees, "turnover": b.turnover,
             "closes": json.dumps([None if np.isnan(c) else c for c in b.closes])}
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


def _bar_of(market: MarketData, time: pd.Timestamp, label: str) -> int:
    try:
        return market.bar_at(time)
    except DataError:
        raise DataError(f"{label}: the market has no bar at {time}, which the journal recorded") from None
