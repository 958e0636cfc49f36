"""The paper-trading journal: replaying bars one call at a time is a backtest, calls are idempotent,
the journal is append only, and a failed call leaves it as it was."""

import dataclasses
import json
import sqlite3

import numpy as np
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from cryptofolio.agents import make_baseline
from cryptofolio.cli import main
from cryptofolio.envs import EnvConfig, PortfolioEnv, Splits, synthetic_market
from cryptofolio.envs.errors import DataError, StorageError
from cryptofolio.evaluation import paper
from cryptofolio.evaluation.backtest import run_backtest
from cryptofolio.evaluation.holdings import read_holdings

START, DAYS = 950, 60


def prefix(market, stop):
    """The market as known at bar ``stop``: its bars 0..stop."""
    fields = ("timestamps", "close", "available")
    return dataclasses.replace(market, **{f: getattr(market, f)[: stop + 1] for f in fields}, truth=None)


@pytest.fixture
def journal(tmp_path):
    market = synthetic_market(seed=0)
    holdings = tmp_path / "h.json"
    holdings.write_text(json.dumps({"USDC": 1.0}))
    path = tmp_path / "journal.db"
    paper.start(
        path, "moderate+voltarget+ddbrake", read_holdings(holdings), prefix(market, START), START, EnvConfig()
    )
    return path, market


def test_replaying_bars_one_call_a_bar_gives_the_backtests_values(journal):
    path, market = journal
    for stop in range(START + 1, START + DAYS + 1):
        assert len(paper.advance(path, prefix(market, stop))) == 1
    splits = Splits(range(0, START - 10), range(START - 10, START + 1), range(START + 1, START + DAYS + 1))
    env = PortfolioEnv(
        prefix(market, START + DAYS), split="test", splits=splits, config=EnvConfig().for_rules()
    )
    assert env.first_start == START
    backtest = run_backtest(make_baseline("moderate+voltarget+ddbrake"), env)
    recorded = paper.read(path)
    np.testing.assert_allclose(recorded.values, backtest.values, rtol=1e-12, atol=0)
    np.testing.assert_allclose(
        [b.target for b in recorded.bars[:-1]], backtest.weights_after[:-1], atol=1e-12
    )
    assert backtest.turnover.sum() > 0.3  # the rule traded: the comparison compares something


def test_calling_twice_changes_nothing_and_old_bars_are_never_rewritten(journal):
    path, market = journal
    assert len(paper.advance(path, prefix(market, START + 5))) == 5
    assert paper.advance(path, prefix(market, START + 5)) == []
    with sqlite3.connect(path) as connection, pytest.raises(sqlite3.DatabaseError, match="append only"):
        connection.execute("UPDATE bars SET bar_value = 2.0")
    with sqlite3.connect(path) as connection, pytest.raises(sqlite3.DatabaseError, match="append only"):
        connection.execute("DELETE FROM bars")
    assert len(paper.read(path).bars) == 6


def test_prices_that_disagree_with_the_record_are_refused_and_nothing_is_written(journal):
    path, market = journal
    paper.advance(path, prefix(market, START + 3))
    close = market.close.copy()
    close[START + 2, 1] *= 1.01
    with pytest.raises(DataError, match="differ from those the journal recorded"):
        paper.advance(path, prefix(dataclasses.replace(market, close=close, truth=None), START + 6))
    assert len(paper.read(path).bars) == 4


def test_a_call_killed_midway_writes_no_bar(journal, monkeypatch):
    path, market = journal

    def dies(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(
        paper,
        "_insert",
        lambda connection, bars: (
            connection.execute(text("INSERT INTO bars VALUES ('2099-01-01', 1, '[]', '[]', 0, 0, '[]')")),
            dies(),
        ),
    )
    with pytest.raises(KeyboardInterrupt):
        paper.advance(path, prefix(market, START + 4))
    assert len(paper.read(path).bars) == 1


def test_a_start_killed_midway_leaves_no_journal(tmp_path, monkeypatch):
    def dies(connection, bars):
        raise KeyboardInterrupt

    monkeypatch.setattr(paper, "_insert", dies)
    market, holdings = synthetic_market(seed=0), tmp_path / "h.json"
    holdings.write_text(json.dumps({"USDC": 1.0}))
    path = tmp_path / "journal.db"
    with pytest.raises(KeyboardInterrupt):
        paper.start(path, "moderate", read_holdings(holdings), prefix(market, START), START, EnvConfig())
    with sqlite3.connect(path) as connection:  # the tables were created in the same transaction
        assert connection.execute("SELECT name FROM sqlite_master").fetchall() == []


def test_a_journal_is_started_once(journal, tmp_path):
    path, market = journal
    with pytest.raises(StorageError, match="a journal is started once"):
        paper.start(path, "moderate", read_holdings(tmp_path / "h.json"), market, START, EnvConfig())


def test_a_trained_runs_journal_replays_its_backtest(tiny_runs, tmp_path):
    from cryptofolio.agents.sb3 import load_policy, run_env, run_market_config

    run = tiny_runs[0]
    market = run_market_config(run).load_market()
    holdings = tmp_path / "h.json"
    holdings.write_text(json.dumps({market.cash: 1.0}))
    path = tmp_path / "run.db"
    paper.start(path, str(run), read_holdings(holdings), prefix(market, START), START, EnvConfig())
    for stop in range(START + 1, START + 21):
        paper.advance(path, prefix(market, stop))
    splits = Splits(range(0, START - 10), range(START - 10, START + 1), range(START + 1, START + 21))
    env = run_env(run, prefix(market, START + 20), split="test", splits=splits, costs=EnvConfig().costs)
    assert env.first_start == START
    backtest = run_backtest(load_policy(run, env=env), env)
    np.testing.assert_allclose(paper.read(path).values, backtest.values, rtol=1e-12, atol=0)
    assert backtest.turnover.sum() > 0.0  # the agent traded: the comparison compares something


def test_an_ensembles_journal_replays_its_backtest(tiny_runs, tmp_path):
    from cryptofolio.agents.ensemble import EnsemblePolicy
    from cryptofolio.agents.sb3 import load_policy, run_env, run_market_config

    market = run_market_config(tiny_runs[0]).load_market()
    holdings = tmp_path / "h.json"
    holdings.write_text(json.dumps({market.cash: 1.0}))
    path = tmp_path / "ensemble.db"
    policy = paper.ENSEMBLE.join(str(run) for run in tiny_runs)
    paper.start(path, policy, read_holdings(holdings), prefix(market, START), START, EnvConfig())
    for stop in range(START + 1, START + 16):
        paper.advance(path, prefix(market, stop))
    known = prefix(market, START + 15)
    splits = Splits(range(0, START - 10), range(START - 10, START + 1), range(START + 1, START + 16))
    mappings = [
        run_env(run, known, split="test", splits=splits, costs=EnvConfig().costs) for run in tiny_runs
    ]
    members = [load_policy(run, env=env) for run, env in zip(tiny_runs, mappings, strict=True)]
    env = PortfolioEnv(
        known, split="test", splits=splits, profile="moderate", config=mappings[0].config.for_rules()
    )
    backtest = run_backtest(EnsemblePolicy(members, mappings, env), env)
    np.testing.assert_allclose(paper.read(path).values, backtest.values, rtol=1e-12, atol=0)
    assert backtest.turnover.sum() > 0.0


@pytest.mark.slow  # starts a PostgreSQL server
def test_a_journal_in_postgresql_replays_append_only_and_idempotent(postgres, tmp_path):
    market, holdings = synthetic_market(seed=0), tmp_path / "h.json"
    holdings.write_text(json.dumps({"USDC": 1.0}))
    paper.start(postgres, "moderate", read_holdings(holdings), prefix(market, START), START, EnvConfig())
    sqlite_path = tmp_path / "journal.db"
    paper.start(sqlite_path, "moderate", read_holdings(holdings), prefix(market, START), START, EnvConfig())
    for stop in (START + 3, START + 7, START + 7):
        paper.advance(postgres, prefix(market, stop))
        paper.advance(sqlite_path, prefix(market, stop))
    served, filed = paper.read(postgres), paper.read(sqlite_path)
    assert len(served.bars) == 8
    np.testing.assert_array_equal(served.values, filed.values)  # the same doubles through either database
    np.testing.assert_array_equal([b.target for b in served.bars], [b.target for b in filed.bars])
    engine = create_engine(postgres)
    for statement in ("UPDATE bars SET bar_value = 2.0", "DELETE FROM journal", "TRUNCATE bars"):
        with engine.begin() as connection, pytest.raises(DBAPIError, match="append only"):
            connection.execute(text(statement))
    engine.dispose()
    with pytest.raises(StorageError, match="holds a journal already"):
        paper.start(postgres, "moderate", read_holdings(holdings), prefix(market, START), START, EnvConfig())
    assert len(paper.read(postgres).bars) == 8


def test_a_run_is_not_followed_on_other_prices_unless_asked(tiny_runs, tmp_path, capsys):
    holdings = tmp_path / "h.json"
    holdings.write_text(json.dumps({"USDC": 1000}))
    start = ["paper", "start", "--journal", str(tmp_path / "j.db"), "--policy", str(tiny_runs[0])]
    start += ["--holdings", str(holdings), "--market-seed", "5", "--as-of", "2024-12-01"]
    assert main(start) == 2
    assert "is not the data run" in capsys.readouterr().err and not (tmp_path / "j.db").exists()
    assert main([*start, "--other-market"]) == 0
    assert "other prices of its assets" in capsys.readouterr().out
