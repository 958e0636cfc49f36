"""The `cryptofolio` console script and `make demo`'s job."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from agents import BASELINES
from cryptofolio.cli import main


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


MODULE_RUNS = [
    ("cryptofolio", ["backtest", "--policies", "cash"]),
    ("evaluation.backtest", ["--policies", "cash"]),
    ("evaluation.evaluate", ["--baselines", "cash", "--resamples", "50"]),
]
PROJECT = Path(__file__).parents[2]


@pytest.mark.parametrize(("module", "args"), MODULE_RUNS)
def test_commands_run_as_python_modules(module, args, tmp_path):
    command = [sys.executable, "-m", module, *args, "--out", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=PROJECT)
    assert result.returncode == 0, result.stderr
    assert "written:" in result.stdout or "report:" in result.stdout


@pytest.mark.parametrize("module", ["cryptofolio.demo", "training.train", "training.walkforward"])
def test_every_command_module_answers_help(module):
    result = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, cwd=PROJECT
    )
    assert result.returncode == 0 and "usage:" in result.stdout
