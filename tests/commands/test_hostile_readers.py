"""Readers of a user's files the hostile-input script (tools/hostile_inputs.py) broke: one line, code 2."""

import dataclasses
import json
import os
import sqlite3

import pytest

from cryptofolio.envs import EnvConfig, RunFolderError, UserError, synthetic_market
from cryptofolio.envs.files import MAX_BYTES, read_json_object, read_text
from cryptofolio.evaluation import paper
from cryptofolio.evaluation.holdings import read_holdings
from cryptofolio.training.ablation import selected_state
from tests.helpers import refused

DEEP = "[" * 100_000 + "]" * 100_000
TOO_BIG = "a" * (MAX_BYTES + 1)


def test_a_set_value_that_is_not_yaml_names_set_and_its_key(tmp_path, capsys):
    argv = ["train", "--algo", "direct", "--set", "policy_kwargs.net_arch=[64,", "--out", str(tmp_path)]
    refused(argv, capsys, "--set policy_kwargs.net_arch", "not valid YAML")


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ("default:\n  ? [a, b]\n  : 1\n", "line 2, column 5 (a key that is a list"),
        ("default: " + DEEP + "\n", "nested too deeply"),
        ("default:\n  note: " + TOO_BIG + "\n", "larger than 16 MB"),
    ],
    ids=["a list as a key", "nested 100,000 deep", "a 16 MB line"],
)
def test_hyperparameters_yaml_that_cannot_be_read_names_the_file(tmp_path, body, named, capsys):
    (tmp_path / "h.yaml").write_text(body)
    argv = ["train", "--algo", "direct", "--hyperparams", str(tmp_path / "h.yaml"), "--out", str(tmp_path)]
    refused(argv, capsys, "h.yaml", named)


def test_hyperparameters_from_a_fifo_are_refused_not_waited_for(tmp_path, capsys):
    os.mkfifo(tmp_path / "h.yaml")  # reading it would wait for a writer for ever
    argv = ["train", "--algo", "direct", "--hyperparams", str(tmp_path / "h.yaml"), "--out", str(tmp_path)]
    refused(argv, capsys, "h.yaml: a FIFO, not a regular file")


@pytest.mark.parametrize(
    ("name", "body", "named"),
    [
        ("h.json", DEEP, "h.json: JSON nested too deeply"),
        ("h.csv", "symbol,quantity\nBTC,1\n" + "#" * MAX_BYTES, "h.csv: larger than 16 MB"),
        ("h.csv", b"symbol,quantity\nBTC,\xff1\n", "h.csv: not UTF-8 text (byte 20)"),
    ],
    ids=["nested JSON", "over 16 MB", "not UTF-8"],
)
def test_a_holdings_file_that_cannot_be_read_is_refused(tmp_path, name, body, named, capsys):
    path = tmp_path / name
    path.write_bytes(body) if isinstance(body, bytes) else path.write_text(body)
    refused(["recommend", "--policy", "moderate", "--holdings", str(path)], capsys, named)


def test_a_holdings_fifo_is_refused_as_a_fifo(tmp_path, capsys):
    os.mkfifo(tmp_path / "h.csv")
    refused(["recommend", "--policy", "moderate", "--holdings", str(tmp_path / "h.csv")], capsys, "a FIFO")


def test_the_reader_refuses_what_is_not_a_small_regular_file_without_reading_it(tmp_path):
    os.mkfifo(tmp_path / "pipe")  # no writer: opening it to read would wait for ever
    with pytest.raises(RunFolderError, match="pipe: a FIFO, not a regular file"):
        read_text(tmp_path / "pipe", RunFolderError)
    with pytest.raises(UserError, match="/dev/zero: a device, not a regular file"):
        read_text("/dev/zero")
    with pytest.raises(UserError, match=": a folder, not a regular file"):
        read_text(tmp_path)
    (tmp_path / "list.json").write_text("[1]")
    with pytest.raises(RunFolderError, match=r"list\.json: expected a JSON object, got list"):
        read_json_object(tmp_path / "list.json")
    (tmp_path / "ok.json").write_text('\ufeff{"a": 1}')
    assert read_json_object(tmp_path / "ok.json") == {"a": 1}


ABLATION = ["ablation", "--market", "synthetic", "--quick"]


@pytest.mark.parametrize(
    ("record", "named"),
    [
        ("{", "ablation.json line 1: not valid JSON"),
        ("[]", "ablation.json: expected a JSON object, got list"),
        (DEEP, "ablation.json: JSON nested too deeply"),
        ('{"command": 5}', "ablation.json: command must be a string, got 5"),
        ('{"command": "x", "seconds": 1, "date": "d", "cores": 2}', "ablation.json: no 'versions' entry"),
    ],
    ids=["not JSON", "a list", "nested", "command a number", "versions missing"],
)
@pytest.mark.parametrize("option", ["--reuse", "--resume"])
def test_an_earlier_ablations_record_of_the_wrong_kind_is_refused(tmp_path, record, named, option, capsys):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "ablation.json").write_text(record)
    argv = [*ABLATION, option, str(tmp_path / "old"), "--out", str(tmp_path / "r")]
    refused(argv, capsys, named)


def test_a_studys_record_that_is_not_json_is_refused(tmp_path, capsys):
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "study.json").write_text("{")
    argv = ["study", "--market", "synthetic", "--quick", "--out", str(tmp_path / "report")]
    argv += [
        "--root",
        str(tmp_path / "root"),
        "--storage",
        f"sqlite:///{tmp_path / 's.db'}",
        "--workers",
        "0",
    ]
    refused(argv, capsys, "study.json line 1: not valid JSON")


@pytest.mark.parametrize(
    ("state", "named"),
    [
        (DEEP, "state.json: JSON nested too deeply"),
        ('{"timesteps": 5}', "state.json: validation must be an object"),
        (
            '{"timesteps": 5, "validation": {"sharpe": "high"}}',
            "state.json: validation sharpe must be a number",
        ),
    ],
)
def test_a_selected_models_state_of_the_wrong_kind_is_refused_naming_it(tmp_path, state, named):
    (tmp_path / "state.json").write_text(state)
    with pytest.raises(RunFolderError, match=named):
        selected_state(tmp_path / "state.json")


@pytest.fixture
def journal(tmp_path):
    """A paper journal of one bar, its append-only triggers dropped as a hand edit would."""
    market = synthetic_market(seed=0)
    (tmp_path / "h.json").write_text(json.dumps({"USDC": 1.0}))
    fields = ("timestamps", "close", "available")
    known = dataclasses.replace(market, **{f: getattr(market, f)[:951] for f in fields}, truth=None)
    path = tmp_path / "j.db"
    paper.start(path, "moderate", read_holdings(tmp_path / "h.json"), known, 950, EnvConfig())
    with sqlite3.connect(path) as db:
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            db.execute(f"DROP TRIGGER {name}")
    return path


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        ("UPDATE bars SET bar_value = 'lots'", "column bar_value: expected a finite number, got 'lots'"),
        ("UPDATE bars SET fees = 1e999", "column fees: expected a finite number, got inf"),
        ("UPDATE bars SET drifted = '[1.0, 0.0]'", "column drifted: expected a JSON list of 10 numbers"),
        ("UPDATE bars SET target = 'null'", "column target: expected a JSON list of 10 numbers"),
        ("UPDATE bars SET closes = '[1,2,3,4,5,6,7,8,9,\"x\"]'", "column closes: expected a finite number"),
        ("UPDATE bars SET time = 'yesterday'", "column time: expected an ISO 8601 time"),
        ("UPDATE journal SET value = '{}' WHERE key = 'symbols'", "table journal, key symbols"),
    ],
    ids=["value text", "fees inf", "drifted short", "target null", "closes text", "time text", "symbols"],
)
def test_a_hand_edited_journal_is_refused_naming_table_row_and_column(journal, edit, named, capsys):
    with sqlite3.connect(journal) as db:
        db.execute(edit)
    error = refused(["paper", "status", "--journal", str(journal)], capsys, "j.db: table", named)
    if "bars" in edit:
        assert "table bars, row '2021-08-08T00:00:00+00:00'" in error or "time" in edit, error
