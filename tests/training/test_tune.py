"""tune and sweep: workers sharing one study lose and repeat nothing; failures are recorded; exports train."""

import re
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from cryptofolio.cli import main
from cryptofolio.training.optuna_studies import parse_seeds, untrained_warning, work_trials

TINY = [
    "--timesteps", "192", "--no-progress-bar", "--set", "n_envs=2", "--set", "eval_freq=64",
    "--set", "n_steps=32", "--set", "batch_size=32", "--set", "n_epochs=1",
    "--set", "policy_kwargs.net_arch=[8,8]", "--set", "env.episode_length=40", "--set", "bootstrap_bars=300",
]  # fmt: skip


def space(tmp_path: Path, learning_rates: str) -> str:
    path = tmp_path / "space.yaml"
    path.write_text(
        f"ppo:\n  learning_rate: {{choices: [{learning_rates}]}}\n  gamma: {{low: 0.9, high: 0.99}}\n"
    )
    return str(path)


def workers(command: list[str], n: int = 2) -> list[str]:
    """Run ``n`` copies of a cryptofolio command at once; their outputs, after all succeed."""
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "cryptofolio", *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(n)
    ]
    outputs = [p.communicate(timeout=600)[0] for p in started]
    for process, output in zip(started, outputs, strict=True):
        assert process.returncode == 0, output[-3000:]
    return outputs


def ran(outputs: list[str]) -> list[int]:
    return [int(o.split("this worker ran ")[1].split(" ")[0]) for o in outputs]


def assert_shared_without_loss_or_repeat(url: str, name: str, n_trials: int, outputs: list[str]) -> None:
    study = optuna.load_study(study_name=name, storage=url)
    trials = work_trials(study)
    assert [t.number for t in trials] == list(range(n_trials))  # each piece of work once
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL) for t in trials)
    runs = [t.user_attrs["run"] for t in trials if t.state != TrialState.FAIL or "run" in t.user_attrs]
    assert len(set(runs)) == len(runs) and all(Path(r, "config.yaml").is_file() for r in runs)
    surplus = len(study.trials) - n_trials
    assert sum(ran(outputs)) == n_trials + surplus and all(k >= 1 for k in ran(outputs))  # both worked


@pytest.mark.slow  # two processes
def test_two_workers_share_a_sqlite_study(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    command = ["tune", "--algo", "ppo", "--trials", "6", "--space", space(tmp_path, "3.0e-4, 1.0e-3"),
               "--storage", url, "--study", "shared", "--out", str(tmp_path / "runs"), *TINY]  # fmt: skip
    outputs = workers(command)
    assert_shared_without_loss_or_repeat(url, "shared", 6, outputs)


def test_a_diverging_trial_is_recorded_as_failed_and_the_study_goes_on(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    command = ["tune", "--algo", "ppo", "--trials", "5", "--space", space(tmp_path, "3.0e-4, 1.0e+10"),
               "--sampler-seed", "0", "--storage", url, "--study", "s", "--out", str(tmp_path / "runs"),
               *TINY]  # fmt: skip
    assert main(command) == 0
    states = [t.state for t in optuna.load_study(study_name="s", storage=url).trials]
    assert len(states) == 5 and TrialState.FAIL in states and TrialState.COMPLETE in states
    failed = [t for t in optuna.load_study(study_name="s", storage=url).trials if t.state == TrialState.FAIL]
    assert all(t.params["learning_rate"] == 1e10 for t in failed)


def test_the_exported_hyperparameters_train(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    export = tmp_path / "best.yaml"
    command = ["tune", "--algo", "ppo", "--trials", "2", "--space", space(tmp_path, "3.0e-4"),
               "--storage", url, "--study", "e", "--out", str(tmp_path / "runs"), "--export", str(export),
               *TINY]  # fmt: skip
    assert main(command) == 0
    assert export.read_text().startswith("# Best trial")
    train = ["train", "--algo", "ppo", "--hyperparams", str(export), "--timesteps", "128",
             "--out", str(tmp_path / "t"), "--no-progress-bar"]  # fmt: skip
    assert main(train) == 0
    assert "best validation sharpe" in capsys.readouterr().out


@pytest.mark.slow  # two processes
def test_a_sweep_trains_each_seed_once_across_workers(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    command = ["sweep", "--algo", "ppo", "--seeds", "0-3", "--storage", url, "--study", "seeds",
               "--out", str(tmp_path / "runs"), *TINY]  # fmt: skip
    outputs = workers(command)
    assert_shared_without_loss_or_repeat(url, "seeds", 4, outputs)
    seeds = sorted(int(p.name.split("-s")[-1].split("-")[0]) for p in (tmp_path / "runs" / "seeds").iterdir())
    assert seeds == [0, 1, 2, 3]


def test_seed_lists_and_ranges_parse():
    assert parse_seeds("0-3,7") == [0, 1, 2, 3, 7]
    with pytest.raises(ValueError, match="each once"):
        parse_seeds("0-2,1")


@pytest.mark.slow  # two processes
def test_two_workers_share_a_study_through_postgresql(postgres, tmp_path):
    command = ["tune", "--algo", "ppo", "--trials", "4", "--space", space(tmp_path, "3.0e-4, 1.0e-3"),
               "--storage", postgres, "--study", "pg", "--out", str(tmp_path / "runs"), *TINY]  # fmt: skip
    outputs = workers(command)
    assert_shared_without_loss_or_repeat(postgres, "pg", 4, outputs)


@pytest.mark.parametrize(
    ("storage", "message"),
    [
        ("foo://x", "--storage 'foo://x': foo is not supported; use sqlite:///FILE or postgresql://"),
        ("not a url", "--storage 'not a url': not a database URL"),
        ("sqlite://", "name the SQLite file workers share"),
        ("postgresql://user:secret@127.0.0.1:1/optuna", "cannot open the study (connection to server at"),
    ],
)
def test_a_storage_that_cannot_hold_the_study_is_one_line(storage, message, tmp_path, capsys):
    assert main(["tune", "--algo", "ppo", "--trials", "1", "--storage", storage, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "secret" not in err


def test_an_sqlite_file_in_a_new_folder_is_created(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'new' / 'folder' / 'optuna.db'}"
    assert main(["tune", "--algo", "ppo", "--trials", "0", "--storage", url, "--out", str(tmp_path)]) == 2
    assert "has no complete trial to export yet" in capsys.readouterr().err  # the study opened
    assert (tmp_path / "new" / "folder" / "optuna.db").is_file()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "ppo:\n  learning_rate: {low: 1.0e-3, high: 1.0e-5}\n",
            "ppo.learning_rate: low 0.001 is above high 1e-05",
        ),
        (
            "ppo:\n  learning_rate: {low: 0.0, high: 1.0e-3, log: true}\n",
            "a log range needs low > 0, got 0.0",
        ),
        ("ppo:\n  gamma: {choices: []}\n", "ppo.gamma: choices must be a non-empty list"),
        ("ppo:\n  gamma: {low: 0.9}\n", "ppo.gamma: expected choices, or low and high"),
        (
            "ppo:\n  n_stepz: {choices: [64]}\n",
            "ppo.n_stepz=64 cannot be trained: --set: PPO has no hyperparameter",
        ),
        ("ppo:\n  batch_size: {choices: [1, 64]}\n", "ppo.batch_size=1 cannot be trained"),
        ("sac:\n  gamma: {choices: [0.9]}\n", "no search space for ppo"),
    ],
)
def test_a_search_space_is_checked_before_any_trial(text, message, tmp_path, capsys):
    path = tmp_path / "space.yaml"
    path.write_text(text)
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    args = ["tune", "--algo", "ppo", "--space", str(path), "--storage", storage, "--out", str(tmp_path)]
    assert main(args) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "optuna.db").exists()


@pytest.mark.parametrize("command", [["tune", "--trials", "2"], ["sweep", "--seeds", "0-1"]])
def test_a_plan_that_cannot_train_is_one_line_before_the_study_is_opened(command, tmp_path, capsys):
    storage = tmp_path / "study.db"
    args = [*command, "--algo", "ppo", "--assets", "BTC,NOPE", "--storage", f"sqlite:///{storage}",
            "--out", str(tmp_path / "runs")]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "NOPE" in err and len(err.splitlines()) == 1
    assert not storage.exists() and not (tmp_path / "runs").exists()


def test_each_trial_says_its_score_and_step_and_another_market_or_budget_is_refused(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    command = ["tune", "--algo", "ppo", "--trials", "1", "--space", space(tmp_path, "3.0e-4"),
               "--storage", url, "--study", "same", "--out", str(tmp_path / "runs"), *TINY]  # fmt: skip
    assert main(command) == 0
    out = capsys.readouterr().out
    assert "study same holds 0 trial(s); trials run until it holds 1 (--trials counts the whole study" in out
    assert re.search(r"trial 0: validation sharpe -?\d\.\d{3}, selected at step [\d,]+", out)
    if "selected at step 0 " in out:  # the untrained policy won: said twice, on the trial and at the end
        assert "Warning: the best trial, 0, kept its untrained policy on validation" in out
    other_seed = [*command, "--market-seed", "7"]
    assert main(other_seed) == 2
    assert "was started on other data or settings (market " in capsys.readouterr().err
    longer = [*command, "--timesteps", "256"]
    assert main(longer) == 2
    assert "(n_timesteps 192, now 256)" in capsys.readouterr().err


def test_a_best_trial_that_kept_its_untrained_policy_is_warned_about(tmp_path):
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    trial.set_user_attr("selected_step", 0)
    study.tell(trial, 1.5)
    assert untrained_warning(study).startswith("Warning: the best trial, 0, kept its untrained policy")
    trained = study.ask()
    trained.set_user_attr("selected_step", 4096)
    study.tell(trained, 2.0)
    assert untrained_warning(study) is None
