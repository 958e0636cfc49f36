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


def test_demo_runs_every_baseline_and_says_where_its_results_are(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"written: {tmp_path / 'metrics.csv'}" in out
    table = pd.read_csv(tmp_path / "metrics.csv", index_col="policy")
    assert list(table.index) == list(BASELINES)
    assert (tmp_path / "results" / "moderate.csv").is_file()


MODULE_RUNS = [
    ("cryptofolio", ["demo"]),
    ("cryptofolio.demo", []),
    ("evaluation.backtest", ["--policies", "cash"]),
]
PROJECT = Path(__file__).parents[2]


@pytest.mark.parametrize(("module", "args"), MODULE_RUNS)
def test_commands_run_as_python_modules(module, args, tmp_path):
    command = [sys.executable, "-m", module, *args, "--out", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=PROJECT)
    assert result.returncode == 0, result.stderr
    assert "written:" in result.stdout
