"""The `cryptofolio` console script and `make demo`'s job."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cryptofolio.cli import main


def test_without_a_command_it_prints_the_commands(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_an_unknown_command_is_named(capsys):
    assert main(["dance"]) == 2
    assert "unknown command 'dance'" in capsys.readouterr().err


def test_demo_writes_its_report_and_says_where(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"report: {tmp_path / 'summary.json'}" in out
    summary = json.loads((tmp_path / "summary.json").read_text())
    trajectory = pd.read_csv(tmp_path / "equal_weight.csv")
    assert summary["steps"] == len(trajectory) - 1 > 100
    assert summary["final_value"] == pytest.approx(trajectory["portfolio_value"].iloc[-1])
    weights = trajectory.filter(like="w_").iloc[1:]
    assert (weights["w_USDC"] == 0).all() and weights.sum(axis=1).sub(1).abs().max() < 1e-12


@pytest.mark.parametrize("module", ["cryptofolio", "cryptofolio.demo"])
def test_commands_run_as_python_modules(module, tmp_path):
    args = [
        sys.executable,
        "-m",
        module,
        *(["demo"] if module == "cryptofolio" else []),
        "--out",
        str(tmp_path),
    ]
    result = subprocess.run(args, capture_output=True, text=True, check=False, cwd=Path(__file__).parents[2])
    assert result.returncode == 0, result.stderr
    assert "report:" in result.stdout
