"""A training run's folder: created once, written atomically, enough alone to reload the agent.

The layout is documented in :mod:`cryptofolio.agents.sb3`, which reads it. Nothing is written
through a link: a session refuses a folder holding one (:meth:`RunFolder.check_no_links`), and
every write refuses a link in its way, naming it.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import functools
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from stable_baselines3.common.logger import (
    CSVOutputFormat,
    HumanOutputFormat,
    Logger,
    TensorBoardOutputFormat,
)
from stable_baselines3.common.vec_env import VecNormalize

from cryptofolio.agents.learners import Model, learner
from cryptofolio.agents.sb3 import COMMAND, CONFIG, METADATA, read_run_config, snapshot_folder
from cryptofolio.agents.snapshots import (
    NORMALIZATION,
    REPLAY_BUFFER,
    SPACES,
    STATE,
    ObservationNormalizer,
    normalization_data,
    read_json,
    save_replay_buffer,
    spaces_data,
    write_manifest,
)
from cryptofolio.envs.config import from_data, to_data
from cryptofolio.envs.errors import RunFolderError
from cryptofolio.envs.files import read_json_object
from cryptofolio.training.config import TrainConfig

LOCK = ".lock"
PACKAGES = ("numpy", "pandas", "torch", "gymnasium", "stable-baselines3", "numba", "cryptofolio")
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(temporary path)`` in ``path``'s folder, then rename it over ``path``.

    :raises RunFolderError: naming ``path`` or the temporary file when it is a link (nothing is written).
    :raises OSError: naming ``path`` when the disk refuses the write (``path`` is left as it was).
    """
    temporary = path.with_name(f".tmp-{path.name}")
    for target in (path, temporary):
        refuse_link(target)
    try:
        write(temporary)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise OSError(
            error.errno, f"could not write {path} ({error.strerror}); it is left as it was"
        ) from None


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    atomic_write(path, lambda p: p.write_text(text))


def refuse_link(path: Path) -> None:
    """Refuse to write ``path`` when it is a symbolic link: the write would land where it points.

    :raises RunFolderError: naming the link and its target.
    """
    if path.is_symlink():
        raise RunFolderError(
            f"{path} is a link to {os.readlink(path)}: a run folder's files are its own (copy the file "
            "in, or train into another folder)"
        )


class RunFolder:
    """The folder of one training run."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @classmethod
    def create(cls, base: str | Path, config: TrainConfig, name: str | None = None) -> RunFolder:
        """A new ``<base>/<algo>-<profile>-<market>-s<seed>-<time>/`` (or ``<base>/<name>/``, which must
        not exist) holding ``config.yaml``."""
        if name is not None:
            (Path(base) / name).mkdir(parents=True)
            run = cls(Path(base) / name)
            run.write_config(config)
            return run
        source = config.market.source
        market = "synthetic" if source == "synthetic" else Path(source).name.split(".")[0]
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        name = f"{config.algo}-{config.profile}-{market}-s{config.seed}-{stamp}"
        path, n = Path(base) / name, 1
        while path.exists():  # two runs started in the same second
            n += 1
            path = Path(base) / f"{name}-{n}"
        path.mkdir(parents=True)
        run = cls(path)
        run.write_config(config)
        return run

    def write_config(self, config: TrainConfig) -> None:
        write_text(self.path / CONFIG, yaml.safe_dump(to_data(config), sort_keys=False))

    def read_config(self) -> TrainConfig:
        try:
            return from_data(TrainConfig, read_run_config(self.path))
        except ValueError as error:
            raise RunFolderError(f"{self.path / CONFIG}: {error}") from None

    def record_command(self, argv: Sequence[str], resumed: bool) -> None:
        """Keep the command line (and each resume's, appended) with the working folder."""
        line = f"{'# resumed: ' if resumed else ''}cd {shlex.quote(os.getcwd())} && {shlex.join(argv)}\n"
        refuse_link(self.path / COMMAND)
        previous = (self.path / COMMAND).read_text() if resumed and (self.path / COMMAND).exists() else ""
        write_text(self.path / COMMAND, previous + line)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder for one training session; a second one is refused and told who holds it.

        The lock (``flock`` on ``.lock``) ends with the process, however it ends.

        :raises ValueError: naming the process that holds the folder.
        :raises RunFolderError: for a folder holding a link (:meth:`check_no_links`).
        """
        self.check_no_links()
        path = self.path / LOCK
        with path.open("a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise RunFolderError(
                    f"{self.path} is being trained by {holder}; wait for it or stop it"
                ) from None
            handle.seek(0)
            handle.truncate()
            started = dt.datetime.now().isoformat(timespec="seconds")
            handle.write(f"process {os.getpid()} on {platform.node()} since {started}")
            handle.flush()
            try:
                yield
            finally:
                handle.seek(0)
                handle.truncate()
                fcntl.flock(handle, fcntl.LOCK_UN)

    def check_no_links(self) -> None:
        """Refuse a folder that holds a symbolic link (a file of it, a snapshot folder or a file in
        one): a session's writes through it would land outside the run folder.

        :raises RunFolderError: naming the link and where it points.
        """
        entries = [*self.path.iterdir()] if self.path.is_dir() else []
        entries += [f for d in entries if d.is_dir() and not d.is_symlink() for f in d.iterdir()]
        for entry in entries:
            refuse_link(entry)

    def drop_rows_after(self, timesteps: int) -> None:
        """Remove the rows of ``progress.csv`` and ``evaluations.csv`` written after step ``timesteps``.

        A session killed without a checkpoint leaves rows its resumed run then writes again.

        :raises RunFolderError: naming a file that is not a table of numbered steps (nothing is cut).
        """
        kept = {}
        for name, column in (("progress.csv", "time/total_timesteps"), ("evaluations.csv", "timesteps")):
            path = self.path / name
            refuse_link(path)
            if not path.is_file() or path.stat().st_size == 0:
                continue
            try:
                table = pd.read_csv(path)
            except (UnicodeDecodeError, pd.errors.ParserError) as error:
                raise RunFolderError(f"{path}: not a table ({str(error).strip()[:120]})") from None
            if column not in table:
                continue
            steps = pd.to_numeric(table[column], errors="coerce")
            if (steps.isna() & table[column].notna()).any():  # an empty cell is a row without the step
                raise RunFolderError(f"{path}: {column} holds a value that is not a step count")
            if (steps > timesteps).any():
                kept[path] = table[steps <= timesteps]
        for path, table in kept.items():  # every file checked before either is cut
            write_text(path, table.to_csv(index=False))

    def metadata(self) -> dict[str, Any]:
        """``metadata.json`` as written (empty before the first session wrote it); its entries are
        checked by :func:`~cryptofolio.agents.sb3.read_run_metadata`.

        :raises RunFolderError: naming the file when it is not a JSON object.
        """
        path = self.path / METADATA
        return read_json(path) if path.exists() else {}

    def progress(self) -> str:
        """``complete`` (trained all its steps), ``resumable`` (cut short after a checkpoint), or
        ``started`` (nothing to resume from)."""
        if self.metadata().get("status") == "complete":
            return "complete"
        try:
            snapshot_folder(self.path, "checkpoint")
        except FileNotFoundError:
            return "started"
        return "resumable"

    def update_metadata(self, **values: Any) -> None:
        write_text(self.path / METADATA, json.dumps({**self.metadata(), **values}, indent=2, default=str))

    def save_snapshot(
        self,
        name: str,
        model: Model,
        normalizer: VecNormalize | ObservationNormalizer | None,
        state: dict[str, Any],
        resumable: bool = False,
    ) -> None:
        """Write ``<name>/`` whole (the learner's model files, normalization, spaces, state, manifest;
        with ``resumable``, what continuing needs: the replay buffer, an optimizer's state).

        The new folder is built beside the old, which is renamed to ``<name>.old`` for the
        instant of the swap: a crash leaves one complete copy or the other. Every file is in a
        format that loads without running code (:mod:`cryptofolio.agents.snapshots`).

        :raises RunFolderError: for a run folder holding a link (:meth:`check_no_links`), before
            anything is removed or written.
        :raises OSError: naming the folder, when the disk refuses a write; the previous
            ``<name>/`` stays as it was and the half-built one is removed.
        """
        target = self.path / name
        building, old = self.path / f".{name}.building", self.path / f"{name}.old"
        self.check_no_links()
        shutil.rmtree(building, ignore_errors=True)
        try:
            config = read_run_config(self.path)
            entry = learner(config["algo"])
            building.mkdir()
            entry.save(model, building, resumable)
            if isinstance(normalizer, ObservationNormalizer):
                (building / NORMALIZATION).write_text(json.dumps(normalizer.data()))
            elif normalizer is not None:
                (building / NORMALIZATION).write_text(json.dumps(normalization_data(normalizer)))
            spaces = spaces_data(model.observation_space, model.action_space)
            (building / SPACES).write_text(json.dumps(spaces))
            if resumable and entry.replay_buffer:
                save_replay_buffer(model, building / REPLAY_BUFFER)  # type: ignore[arg-type]
            (building / STATE).write_text(json.dumps(state, indent=2))
            write_manifest(building, config, self.metadata())
        except OSError as error:
            shutil.rmtree(building, ignore_errors=True)
            raise OSError(
                error.errno, f"could not save {target} ({error.strerror}); the previous {name}/ is intact"
            ) from None
        if target.exists():  # complete: an older <name>.old is a stale copy
            shutil.rmtree(old, ignore_errors=True)
            os.rename(target, old)
        os.rename(building, target)  # until here, <name>.old (if any) is the complete copy
        shutil.rmtree(old, ignore_errors=True)

    def logger(self, verbose: bool) -> Logger:
        """SB3 logger writing ``progress.csv`` (appended on resume) and TensorBoard events here."""
        formats = [
            AppendingCSVOutputFormat(str(self.path / "progress.csv")),
            TensorBoardOutputFormat(str(self.path)),
        ]
        if verbose:
            formats.append(HumanOutputFormat(sys.stdout))
        return Logger(str(self.path), formats)


class AppendingCSVOutputFormat(CSVOutputFormat):
    """SB3's CSV log, but a resumed run appends to the file instead of truncating it."""

    def __init__(self, filename: str) -> None:
        path = Path(filename)
        refuse_link(path)
        if not path.exists() or path.stat().st_size == 0:
            super().__init__(filename)
            return
        self.file = path.open("r+")
        self.keys = self.file.readline().rstrip("\n").split(",")
        self.separator, self.quotechar = ",", '"'
        self.file.seek(0, os.SEEK_END)


def versions() -> dict[str, str]:
    """Python, the main packages and the project's git commit (``+dirty`` if it has local changes),
    as read the first time this process asked: the code it had imported by then, not what the
    checkout holds later (a long ablation's workers keep running the code they started with)."""
    return dict(_versions_once())


@functools.cache
def _versions_once() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = package_metadata.version(name)
        except package_metadata.PackageNotFoundError:
            found[name] = "not installed"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
        found["git_commit"] = commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        found["git_commit"] = "unknown (not a git checkout)"
    return found


def work_record(command: str, seconds: float, found: dict[str, str], **details: Any) -> dict[str, Any]:
    """What a long job (a study, an ablation) records of itself: command, wall time, machine, versions."""
    return {
        "command": command,
        "seconds": seconds,
        "date": dt.date.today().isoformat(),
        "cores": os.cpu_count(),
        **details,
        "versions": found,
    }


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


WORK_RECORD: dict[str, tuple[bool, str, Callable[[Any], bool]]] = {
    "command": (True, "a string", lambda v: isinstance(v, str)),
    "seconds": (True, "a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool)),
    "date": (True, "a string", lambda v: isinstance(v, str)),
    "cores": (True, "a whole number", lambda v: v is None or _whole(v)),
    "versions": (True, "an object", lambda v: isinstance(v, dict)),
    "commands": (
        False,
        "a list of strings",
        lambda v: isinstance(v, list) and all(isinstance(c, str) for c in v),
    ),
    "workers": (False, "a whole number", _whole),
    "timesteps": (False, "a whole number", _whole),
    "seeds": (False, "a list of whole numbers", lambda v: isinstance(v, list) and all(map(_whole, v))),
    "quick": (False, "true or false", lambda v: isinstance(v, bool)),
}
"""The entries of a work record (:func:`work_record`) reports read: key -> (required,
what it must be, its check)."""


def read_work_record(path: Path) -> dict[str, Any]:
    """The work record at ``path`` (an ablation's or a study's), checked to hold the entries reports read.

    :raises RunFolderError: naming the file, and the entry if one is missing or of the wrong kind.
    """
    record = read_json_object(path, RunFolderError)
    for key, (required, expected, check) in WORK_RECORD.items():
        if key in record and not check(record[key]):
            raise RunFolderError(f"{path}: {key} must be {expected}, got {record[key]!r:.80}")
        if required and key not in record:
            raise RunFolderError(f"{path}: no {key!r} entry; expected the record this command writes")
    return record
