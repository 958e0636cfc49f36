"""`cryptofolio train` end to end: a run, a refused resume, and an interrupted run that resumes."""

import contextlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from cryptofolio.cli import main
from tests.helpers import tiny_overrides

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
        (["--algo", "ppo", "--set", "n_stepz=3"], "--set: PPO has no hyperparameter n_stepz"),
        (
            ["--algo", "ppo", "--set", "env.observation.windw=3"],
            "--set: env.observation.windw: unknown setting",
        ),
        (["--algo", "ppo", "--set", "learning_rate=abc"], "learning_rate='abc': expected a number in (0.0"),
        (["--algo", "ppo", "--set", "n_steps=-5"], "n_steps=-5: expected a whole number from 1 to 1,000,000"),
        (
            ["--algo", "ppo", "--set", "batch_size=0"],
            "batch_size=0: expected a whole number from 2 to 1,000,000",
        ),
        (["--algo", "ppo", "--set", "policy_kwargs.net_arch=abc"], "policy_kwargs.net_arch='abc': expected"),
        (["--algo", "ppo", "--set", "n_envs=0"], "--set: n_envs must be from 1 to 1,024, got 0"),
        (["--algo", "ppo", "--set", "n_envs=100000"], "--set: n_envs must be from 1 to 1,024, got 100,000"),
        (
            ["--algo", "ppo", "--set", "policy_kwargs.net_arch=[100000000]"],
            "at most 16 layers of at most 4,096 units",
        ),
        (["--algo", "ppo", "--seed", "-1.5"], "argument --seed: invalid int value"),
        (["--algo", "ppo", "--train", "2019-01-01:2020-12-31"], "give --train and --val together"),
        (["--resume", "/no/such/run"], "not a run folder"),
    ],
)
def test_bad_arguments_give_a_clear_error_and_leave_no_run_folder(args, message, tmp_path, capsys):
    with contextlib.suppress(SystemExit):  # argparse's own refusals exit 2 themselves
        assert main(["train", *args, "--out", str(tmp_path / "runs"), "--no-progress-bar"]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("default: [1, 2\n", "not valid YAML at line 2, column 1"),
        ("- a list\n", "expected a mapping of entries, got list"),
        ("moderate: {n_steps: 64}\n", "no `default` entry"),
        ("default: {n_stepz: 64}\n", "hp.yaml: PPO has no hyperparameter n_stepz"),
    ],
)
def test_a_bad_hyperparameter_file_is_named(text, message, tmp_path, capsys):
    (tmp_path / "hp.yaml").write_text(text)
    assert (
        main(["train", "--algo", "ppo", "--hyperparams", str(tmp_path / "hp.yaml"), "--out", str(tmp_path)])
        == 2
    )
    assert message in capsys.readouterr().err


def test_a_binary_hyperparameter_file_is_named(tmp_path, capsys):
    (tmp_path / "hp.yaml").write_bytes(bytes(range(256)))
    assert main(["train", "--algo", "ppo", "--hyperparams", str(tmp_path / "hp.yaml")]) == 2
    assert "hp.yaml: not UTF-8 text" in capsys.readouterr().err


def wait_for(condition, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the condition did not come true in time")
        time.sleep(0.2)


@pytest.mark.parametrize("algo", ["ppo", "direct"])
def test_an_interrupted_run_saves_a_checkpoint_and_resumes(algo, tmp_path, capsys):
    command = [
        sys.executable, "-m", "cryptofolio", "train", "--algo", algo, "--timesteps", "10000000",
        *tiny_args(algo),
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


def test_a_run_trains_without_test_dates_and_is_evaluated_on_a_test_given_later(tmp_path, capsys):
    dates = ["--train", "2019-01-01:2022-06-30", "--val", "2022-07-01:2023-06-30"]
    args = ["train", "--algo", "ppo", "--timesteps", "100", *tiny_args(), *dates, "--out", str(tmp_path)]
    assert main([*args, "--no-progress-bar"]) == 0
    (run,) = tmp_path.iterdir()
    metadata = json.loads((run / "metadata.json").read_text())
    assert metadata["splits"]["test"]["dates"][0].startswith("2023-07-01")  # the bars after validation
    report = tmp_path / "report"
    evaluate = [
        "evaluate",
        "--runs",
        str(run),
        "--baselines",
        "cash",
        "--resamples",
        "400",
        "--out",
        str(report),
    ]
    assert main([*evaluate, "--test", "2024-01-01:2024-06-30"]) == 0
    assert "(2024-01-01 to 2024-06-30" in (report / "report.md").read_text()
    assert main([*evaluate, "--test", "2023-01-01:2023-12-31"]) == 2  # overlaps the run's validation
    assert (
        "split 'test' (bars 1461..1825) must start after split 'validation' ends" in capsys.readouterr().err
    )
