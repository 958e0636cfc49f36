"""The `cryptofolio` console script and `make demo`'s job."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cryptofolio.agents import BASELINES
from cryptofolio.cli import COMMANDS, main


def test_without_a_command_it_prints_the_commands(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_an_unknown_command_is_named(capsys):
    assert main(["dance"]) == 2
    assert "unknown command 'dance'" in capsys.readouterr().err


def test_the_quick_demo_trains_evaluates_and_says_where_its_report_is(tmp_path, capsys):
    args = ["demo", "--quick", "--out", str(tmp_path / "report"), "--checkpoints", str(tmp_path / "runs")]
    assert main([*args, "--no-progress-bar"]) == 0
    out = capsys.readouterr().out
    assert f"report: {tmp_path / 'report' / 'report.html'}" in out
    assert "ppo-moderate-synthetic-s1" in out and "sac-moderate-synthetic-s0" in out and "reference" in out
    table = pd.read_csv(tmp_path / "report" / "metrics.csv", index_col="policy")
    assert set(BASELINES) <= set(table.index) and len(list((tmp_path / "runs").glob("*/*"))) == 4
    for command in (tmp_path / "runs").glob("*/*/command.txt"):  # a run folder says what made it
        assert " && cryptofolio demo --quick " in command.read_text()
    assert len(list((tmp_path / "runs").glob("*/*/command.txt"))) == 4


MODULE_RUNS = [
    ("cryptofolio", ["backtest", "--policies", "cash"]),
    ("cryptofolio.commands.backtest", ["--policies", "cash"]),
    ("cryptofolio.commands.evaluate", ["--baselines", "cash", "--resamples", "400"]),
]
PROJECT = Path(__file__).parents[2]


@pytest.mark.parametrize(("module", "args"), MODULE_RUNS)
def test_commands_run_as_python_modules(module, args, tmp_path):
    command = [sys.executable, "-m", module, *args, "--out", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=PROJECT)
    assert result.returncode == 0, result.stderr
    assert "written:" in result.stdout or "report:" in result.stdout


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_answers_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0 and f"usage: cryptofolio {command}" in capsys.readouterr().out


def test_a_command_module_answers_help_as_python_m():
    result = subprocess.run(
        [sys.executable, "-m", "cryptofolio.commands.train", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "usage:" in result.stdout


def test_a_users_mistake_is_one_line_and_exit_code_2(capsys):
    assert main(["backtest", "--policies", "moderate", "--market", "/no/such/folder"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("cryptofolio backtest: error: /no/such/folder")


def test_a_message_keeps_its_closing_quote(capsys):
    assert main(["backtest", "--policies", "equal_weight:calendar=yearly"]) == 2
    assert capsys.readouterr().err.endswith("got 'yearly'\n")


def test_help_is_plain_text_without_sphinx_markup(capsys):
    with pytest.raises(SystemExit):
        main(["recommend", "--help"])
    out = capsys.readouterr().out
    assert "``" not in out and ":func:" not in out and ":mod:" not in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["study", "--workers", "100000"], "argument --workers: '100000' is above 256"),
        (["ablation", "--workers", "1000"], "argument --workers: '1000' is above 256"),
        (["evaluate", "--resamples", "10"], "argument --resamples: '10' is below 400"),
    ],
)
def test_a_count_that_would_allocate_without_bound_is_refused_with_its_limit(args, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2 and message in capsys.readouterr().err
