"""A run folder under faults: two trainers, a finished run resumed, a full disk, a killed session."""

import errno
import json
import shutil

import pandas as pd
import pytest

from cryptofolio.cli import main
from cryptofolio.training import run_folder
from cryptofolio.training.run_folder import RunFolder, versions
from tests.helpers import tiny_overrides


@pytest.fixture(scope="module")
def finished(tiny_runs, tmp_path_factory):
    """A copy of a finished tiny run, shared by this module's tests."""
    copy = tmp_path_factory.mktemp("finished") / tiny_runs[0].name
    shutil.copytree(tiny_runs[0], copy)
    return RunFolder(copy)


def test_a_second_trainer_of_a_folder_is_refused_and_told_who_holds_it(finished, capsys):
    with finished.lock():
        assert main(["train", "--resume", str(finished.path), "--timesteps", "400", "--no-progress-bar"]) == 2
    err = capsys.readouterr().err
    assert f"{finished.path} is being trained by process" in err and err.count("\n") == 1
    assert json.loads((finished.path / "metadata.json").read_text())["timesteps"] < 400


def test_resuming_a_finished_run_says_it_is_complete(finished, capsys):
    before = (finished.path / "command.txt").read_text() if (finished.path / "command.txt").exists() else ""
    assert main(["train", "--resume", str(finished.path), "--no-progress-bar"]) == 0
    assert f"run {finished.path} is complete: " in capsys.readouterr().out
    assert (
        (finished.path / "command.txt").read_text() if (finished.path / "command.txt").exists() else ""
    ) == before


class Refusing:
    """A model whose save meets a full disk."""

    def save(self, path):
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_leaves_the_previous_snapshot_and_no_leftovers(finished, tmp_path):
    before = {p.name: p.read_bytes() for p in (finished.path / "best").iterdir()}
    with pytest.raises(
        OSError, match=r"could not save .*best \(No space left on device\); the previous best/ is"
    ):
        finished.save_snapshot("best", Refusing(), None, {})
    assert {p.name: p.read_bytes() for p in (finished.path / "best").iterdir()} == before
    assert not list(finished.path.glob(".*building"))


def test_a_full_disk_is_one_line_from_the_command_line(capsys, monkeypatch, tmp_path):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("cryptofolio.training.run_folder.RunFolder.save_snapshot", full)
    args = ["train", "--algo", "ppo", "--timesteps", "100", "--out", str(tmp_path), "--no-progress-bar"]
    assert main([*args, *[a for o in tiny_overrides("ppo") for a in ("--set", o)]]) == 2
    assert capsys.readouterr().err == "cryptofolio train: error: No space left on device\n"


def test_rows_beyond_the_last_checkpoint_are_dropped_on_resume(tmp_path):
    run = RunFolder(tmp_path)
    pd.DataFrame({"time/total_timesteps": [64, 128, 192], "x": [1.0, 2.0, 3.0]}).to_csv(
        tmp_path / "progress.csv", index=False
    )
    pd.DataFrame({"timesteps": [0, 100, 200], "sharpe": [1.0, 2.0, 3.0]}).to_csv(
        tmp_path / "evaluations.csv", index=False
    )
    run.drop_rows_after(128)
    assert pd.read_csv(tmp_path / "progress.csv")["time/total_timesteps"].tolist() == [64, 128]
    assert pd.read_csv(tmp_path / "evaluations.csv")["timesteps"].tolist() == [0, 100]


def test_versions_are_read_once_per_process_as_the_code_it_imported(monkeypatch):
    run_folder._versions_once.cache_clear()
    first = versions()
    monkeypatch.setattr(run_folder.subprocess, "run", lambda *a, **k: pytest.fail("git was asked again"))
    first["git_commit"] = "changed by a caller"
    assert versions()["git_commit"] != "changed by a caller"  # each caller gets its own copy
