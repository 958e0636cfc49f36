"""A run folder under faults: two trainers, a finished run resumed, a full disk, a killed session."""

import errno
import json
import shutil

import pandas as pd
import pytest

from cryptofolio.agents.sb3 import read_run_config, read_run_metadata
from cryptofolio.agents.snapshots import NORMALIZATION, write_manifest
from cryptofolio.cli import main
from cryptofolio.envs.errors import RunFolderError
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


@pytest.fixture
def copied(tiny_runs, tmp_path):
    """A copy of a finished tiny run that a test may change."""
    copy = tmp_path / tiny_runs[0].name
    shutil.copytree(tiny_runs[0], copy)
    return RunFolder(copy)


def test_a_refused_resume_cuts_and_writes_nothing(copied, capsys):
    """The checkpoint's statistics do not fit its model: refused after the rows beyond it were seen."""
    progress = copied.path / "progress.csv"
    table = pd.read_csv(progress)
    late = table.iloc[[-1]].assign(**{"time/total_timesteps": 10**6})  # a killed session's row
    pd.concat([table, late]).to_csv(progress, index=False)
    checkpoint = copied.path / "checkpoint"
    statistics = json.loads((checkpoint / NORMALIZATION).read_text())
    statistics["obs_rms"]["mean"] = statistics["obs_rms"]["mean"][:-1]
    (checkpoint / NORMALIZATION).write_text(json.dumps(statistics))
    write_manifest(checkpoint, read_run_config(copied.path), read_run_metadata(copied.path))
    before = {p.name: p.read_bytes() for p in copied.path.iterdir() if p.is_file()}
    assert main(["train", "--resume", str(copied.path), "--timesteps", "400", "--no-progress-bar"]) == 2
    assert "checkpoint/normalization.json: not normalization statistics" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in copied.path.iterdir() if p.is_file()} == before


def test_a_link_in_the_way_of_a_write_is_refused_and_nothing_lands_outside(copied, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("mine\n")
    (copied.path / ".tmp-metadata.json").symlink_to(outside)  # where the write is staged
    with pytest.raises(RunFolderError, match=r"\.tmp-metadata\.json is a link to .*outside\.txt"):
        copied.update_metadata(status="complete")
    (copied.path / ".tmp-metadata.json").unlink()
    (copied.path / "progress.csv").unlink()
    (copied.path / "progress.csv").symlink_to(outside)
    with pytest.raises(RunFolderError, match=r"progress\.csv is a link to"):
        copied.logger(verbose=False)
    assert outside.read_text() == "mine\n" and not (copied.path / "metadata.json").is_symlink()


def test_a_snapshot_that_is_a_link_is_refused_before_anything_is_removed(copied, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    shutil.move(copied.path / "best", elsewhere)
    (copied.path / "best").symlink_to(elsewhere)
    before = sorted(p.name for p in elsewhere.iterdir())
    with pytest.raises(RunFolderError, match=r"best is a link to .*elsewhere"):
        copied.save_snapshot("best", Refusing(), None, {})
    assert (copied.path / "best").is_symlink() and sorted(p.name for p in elsewhere.iterdir()) == before


def test_a_progress_table_that_is_not_one_is_refused_and_nothing_is_cut(tmp_path):
    run = RunFolder(tmp_path)
    pd.DataFrame({"time/total_timesteps": [64, 128], "x": [1.0, 2.0]}).to_csv(
        tmp_path / "progress.csv", index=False
    )
    (tmp_path / "evaluations.csv").write_text("timesteps,sharpe\n0,1.0\nsoon,2.0\n")
    before = (tmp_path / "progress.csv").read_text()
    with pytest.raises(RunFolderError, match=r"evaluations\.csv: timesteps holds a value that is not a step"):
        run.drop_rows_after(64)
    assert (tmp_path / "progress.csv").read_text() == before  # checked before either file is cut
