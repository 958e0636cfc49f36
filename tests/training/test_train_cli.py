"""`cryptofolio train` end to end: a run, a refused resume, and an interrupted run that resumes."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from cryptofolio.cli import main
from tests.training.conftest import tiny_overrides

PROJECT = Path(__file__).parents[2]


def tiny_args(algo: str = "ppo") -> list[str]:
    return [arg for override in tiny_overrides(algo) for arg in ("--set", override)]


def test_train_writes_a_run_folder_with_its_command(tmp_path, capsys):
    args = [
        "train",
        "--algo",
        "ppo",
        "--timesteps",
        "200",
        *tiny_args(),
        "--out",
        str(tmp_path),
        "--no-progress-bar",
    ]
    assert main(args) == 0
    (run,) = tmp_path.iterdir()
    assert run.name.startswith("ppo-moderate-synthetic-s0-")
    assert "cryptofolio train --algo ppo --timesteps 200" in (run / "command.txt").read_text()
    out = capsys.readouterr().out
    assert f"run folder: {run}" in out and "best validation sharpe" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timesteps", "10"], "--algo is required"),
        (["--algo", "ppo", "--set", "n_stepz=3"], "configs/ppo.yaml: PPO has no hyperparameter n_stepz"),
        (["--algo", "ppo", "--set", "env.observation.windw=3"], "env.observation.windw: unknown setting"),
        (
            ["--algo", "ppo", "--train", "2019-01-01:2020-12-31"],
            "give all three of --train, --val and --test",
        ),
        (["--resume", "/no/such/run"], "not a run folder"),
    ],
)
def test_bad_arguments_give_a_clear_error(args, message, tmp_path, capsys):
    assert main(["train", *args, "--out", str(tmp_path), "--no-progress-bar"]) == 2
    assert message in capsys.readouterr().err


def wait_for(condition, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the condition did not come true in time")
        time.sleep(0.2)


def test_an_interrupted_run_saves_a_checkpoint_and_resumes(tmp_path, capsys):
    command = [
        sys.executable, "-m", "cryptofolio", "train", "--algo", "ppo", "--timesteps", "10000000",
        *tiny_args(),
        "--out", str(tmp_path), "--no-progress-bar",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    evaluations = lambda: next(tmp_path.glob("*/evaluations.csv"), None)  # noqa: E731
    wait_for(lambda: evaluations() is not None and len(pd.read_csv(evaluations())) >= 3)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "resume with: cryptofolio train --resume" in out
    (run,) = tmp_path.iterdir()
    metadata = json.loads((run / "metadata.json").read_text())
    stopped_at = json.loads((run / "checkpoint" / "state.json").read_text())["timesteps"]
    assert metadata["status"] == "interrupted by signal 15" and 0 < stopped_at < 10_000_000

    target = stopped_at + 200
    assert main(["train", "--resume", str(run), "--timesteps", str(target), "--no-progress-bar"]) == 0
    metadata = json.loads((run / "metadata.json").read_text())
    assert metadata["status"] == "complete" and metadata["timesteps"] >= target
    assert "# resumed: " in (run / "command.txt").read_text()


def test_resume_keeps_the_runs_own_config(tmp_path, capsys):
    assert (
        main(
            [
                "train",
                "--algo",
                "ppo",
                "--timesteps",
                "100",
                *tiny_args(),
                "--out",
                str(tmp_path),
                "--no-progress-bar",
            ]
        )
        == 0
    )
    (run,) = tmp_path.iterdir()
    assert main(["train", "--resume", str(run), "--algo", "sac"]) == 2
    assert "--resume continues a run with its own config; drop --algo" in capsys.readouterr().err
