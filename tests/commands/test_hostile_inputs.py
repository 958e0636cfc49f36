"""Classes of fault the hostile-input script (tools/hostile_inputs.py) found: one line, exit code 2."""

import numpy as np
import pandas as pd
import pytest

from cryptofolio.agents.snapshots import read_state
from cryptofolio.cli import main
from cryptofolio.envs import RunFolderError
from tests.helpers import refused


def prices_file(path, symbol_column=None):
    close = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.02, 400)))
    frame = pd.DataFrame(
        {"date": pd.date_range("2021-01-01", periods=400).strftime("%Y-%m-%d"), "close": close}
    )
    if symbol_column is not None:
        frame["symbol"] = symbol_column
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)


@pytest.mark.parametrize("pair", ["BTC", "btc", "BTC/USDT", "BTCUSDT", "BINANCE:BTCUSDT", "BTC-USD"])
def test_a_files_own_symbol_column_may_name_its_asset_as_exchanges_write_it(tmp_path, pair, capsys):
    prices_file(tmp_path / "data" / "BTC.csv", pair)
    argv = [
        "backtest",
        "--policies",
        "cash",
        "--market",
        str(tmp_path / "data"),
        "--out",
        str(tmp_path / "out"),
    ]
    assert main(argv) == 0


def test_a_file_whose_symbol_column_names_another_asset_is_refused(tmp_path, capsys):
    prices_file(tmp_path / "data" / "BTC.csv", "ETH")
    argv = [
        "backtest",
        "--policies",
        "cash",
        "--market",
        str(tmp_path / "data"),
        "--out",
        str(tmp_path / "out"),
    ]
    refused(argv, capsys, "BTC.csv:line 2: symbol is 'ETH', but the file is named for BTC")


def test_a_number_yaml_cannot_hold_is_the_files_fault(tmp_path, capsys):
    (tmp_path / "h.yaml").write_text("default:\n  learning_rate: " + "9" * 5000 + "\n")
    argv = ["train", "--algo", "direct", "--hyperparams", str(tmp_path / "h.yaml"), "--out", str(tmp_path)]
    refused(argv, capsys, "h.yaml", "a value cannot be read")


@pytest.mark.parametrize(
    ("option", "named"), [("--seed", "seed must be from 0"), ("--market-seed", "seed (of the")]
)
def test_a_negative_seed_is_refused(tmp_path, option, named, capsys):
    refused(["train", "--algo", "direct", option, "-1", "--out", str(tmp_path)], capsys, named)


def test_holdings_worth_more_than_a_float_are_refused(tmp_path, capsys):
    (tmp_path / "h.csv").write_text("symbol,quantity\nBTC,1e308\nETH,1e308\n")
    refused(
        ["recommend", "--policy", "moderate", "--holdings", str(tmp_path / "h.csv")],
        capsys,
        "h.csv",
        "worth more",
    )


def test_a_storage_that_is_not_a_database_is_refused(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    argv = ["tune", "--algo", "direct", "--trials", "1", "--storage", f"sqlite:///{tmp_path / 'notes.txt'}"]
    refused([*argv, "--out", str(tmp_path / "out")], capsys, "--storage", "notes.txt", "not a database")


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ("x", "line 1: not valid JSON"),
        ('{"timesteps": "many"}', "timesteps must be a whole number"),
        ('{"timesteps": 5, "score": "high"}', "score must be a number"),
    ],
)
def test_a_snapshot_state_of_the_wrong_kind_is_refused_naming_it(tmp_path, state, message):
    (tmp_path / "state.json").write_text(state)
    with pytest.raises(RunFolderError, match=rf"state\.json:? {message}"):
        read_state(tmp_path)
    (tmp_path / "state.json").write_text('{"timesteps": 5, "score": 1.5}')
    assert read_state(tmp_path)["timesteps"] == 5
