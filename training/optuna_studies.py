"""Optuna studies that workers on one or many machines share: the plumbing of tune and sweep.

A study lives in a relational storage: a SQLite file by default (nothing to install; one
machine), or PostgreSQL (``postgresql://user:password@host/db``) for workers on many
machines. Every worker runs the same command; each runs one trial at a time until the study
holds its requested number of trials. Trial numbers, handed out by the storage, say which
piece of work a trial is (the n-th seed of a sweep), so no work is done twice. If two workers
ask for the last trial at once, the one numbered beyond the budget is recorded as pruned,
with user attribute ``surplus``, and trains nothing. A worker that dies stops sending
heartbeats; its trial is marked failed by the next worker that starts one, not left running.
"""

from __future__ import annotations

import fcntl
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, IntegrityError, NoSuchModuleError, OperationalError

from cryptofolio.agents.sb3 import snapshot_folder
from cryptofolio.agents.snapshots import STATE, read_json
from cryptofolio.envs.errors import ConfigError, StorageError
from cryptofolio.evaluation.databases import database_url, masked, reason
from cryptofolio.training.config import TrainConfig
from cryptofolio.training.run_folder import RunFolder
from cryptofolio.training.train import train

DEFAULT_STORAGE = Path("checkpoints") / "optuna.db"
HEARTBEAT_SECONDS, GRACE_SECONDS = 30, 120
CREATE_ATTEMPTS = 5
CAUGHT = (ValueError, RuntimeError, FloatingPointError, ZeroDivisionError)
"""Errors that fail one trial (diverging hyperparameters: NaN losses, NaN actions) but not the study."""

Objective = Callable[[optuna.Trial], float]


class Interrupted(Exception):
    """A signal stopped a trial's training: the trial is recorded as failed and the worker stops.

    The trial's run folder holds a resumable checkpoint (``cryptofolio train --resume``).
    """

    def __init__(self, signal: int, run: str) -> None:
        super().__init__(
            f"interrupted by signal {signal}; the run can be resumed: cryptofolio train --resume {run}"
        )
        self.signal = signal


def storage_url(url: str | None) -> str:
    """``url`` checked (an SQLite file's folder created; ``postgresql://`` given the installed driver),
    or the default SQLite file, as an absolute URL.

    :raises StorageError: for a URL that names no database cryptofolio can share a study in.
    """
    if not url:
        DEFAULT_STORAGE.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{DEFAULT_STORAGE.resolve()}"
    parsed = database_url(url, "--storage")
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise StorageError(f"--storage {url!r}: name the SQLite file workers share: sqlite:///FILE")
        Path(parsed.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    return parsed.render_as_string(hide_password=False)


class QueueStorage(RDBStorage):
    """Optuna's RDB storage, whose waiting trials each go to one process on SQLite too.

    Optuna pops a waiting trial by reading that it waits and then marking it running. PostgreSQL
    and MySQL lock the row between the two (``SELECT ... FOR UPDATE``); SQLite ignores that, and
    processes popping at once ran one trial twice (3 processes popping 120 trials: 8-13 popped
    twice). Here marking a trial running holds an exclusive lock on ``<database>.pop-lock`` beside
    an SQLite file, so that the read and the write happen in one process at a time.
    """

    def __init__(self, url: str, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        database = make_url(url).database if url.startswith("sqlite") else None
        self.pop_lock = Path(f"{database}.pop-lock") if database and database != ":memory:" else None
        """The lock file of an SQLite database (None: the database locks rows itself)."""

    def set_trial_state_values(
        self, trial_id: int, state: TrialState, values: Sequence[float] | None = None
    ) -> bool:
        if state != TrialState.RUNNING or self.pop_lock is None:
            return super().set_trial_state_values(trial_id, state, values)
        with self.pop_lock.open("a") as handle:  # closing the file releases the lock
            fcntl.flock(handle, fcntl.LOCK_EX)
            return super().set_trial_state_values(trial_id, state, values)


def open_study(
    name: str,
    url: str,
    *,
    sampler: optuna.samplers.BaseSampler | None = None,
    pruner: optuna.pruners.BasePruner | None = None,
    retry_stale: bool = False,
) -> optuna.Study:
    """Create the study, or join it if another worker already has (maximizing the objective).

    :param retry_stale: queue a dead worker's trial again, with its parameters, once it is failed.

    Workers that start at once on an empty database race to create its tables; the loser
    retries, and then finds them.
    """
    engine: dict[str, Any] = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    for attempt in range(CREATE_ATTEMPTS):
        try:
            with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna, and what we need
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                storage = QueueStorage(
                    url,
                    engine_kwargs=engine,
                    heartbeat_interval=HEARTBEAT_SECONDS,
                    grace_period=GRACE_SECONDS,
                    heartbeat_stale_trial_callback=(
                        RetryHeartbeatStaleTrialCallback(max_retry=3) if retry_stale else None
                    ),
                )
            return optuna.create_study(
                study_name=name,
                storage=storage,
                sampler=sampler,
                pruner=pruner,
                direction="maximize",
                load_if_exists=True,
            )
        except (IntegrityError, OperationalError) as error:
            if attempt == CREATE_ATTEMPTS - 1:
                raise StorageError(
                    f"--storage {masked(url)}: cannot open the study ({reason(error)})"
                ) from None
            time.sleep(0.5 * (attempt + 1))
        except (ArgumentError, NoSuchModuleError, ImportError, DatabaseError) as error:  # e.g. not a database
            raise StorageError(f"--storage {masked(url)}: cannot open the study ({reason(error)})") from None
    raise AssertionError("unreachable")


def run_worker(study: optuna.Study, n_trials: int, objective: Objective) -> int:
    """Run trials of ``objective`` until the study holds ``n_trials`` (this worker's and others').

    :return: the number of trials this worker ran.
    """

    def budgeted(trial: optuna.Trial) -> float:
        if trial.number >= n_trials:
            trial.set_user_attr("surplus", True)
            raise optuna.TrialPruned(f"the study already has its {n_trials} trials")
        return objective(trial)

    ran = 0
    while len(study.get_trials(deepcopy=False)) < n_trials:
        study.optimize(budgeted, n_trials=1, catch=CAUGHT)
        ran += 1
    return ran


def train_trial(
    trial: optuna.Trial,
    config: TrainConfig,
    out: Path,
    *,
    prune: bool = False,
    progress_bar: bool = False,
    command: Sequence[str] = (),
) -> float:
    """Train ``config`` as ``trial`` into a run folder under ``out``; its best validation score.

    :param prune: report each periodic validation score to the study's pruner, and stop
        (``optuna.TrialPruned``) when it says so.
    :raises Interrupted: when a signal stopped training.
    """
    run = RunFolder.create(out, config)
    trial.set_user_attr("run", str(run.path))

    def report(step: int, score: float) -> bool:
        trial.report(score, step)
        return not trial.should_prune()

    outcome = train(
        config, run, progress_bar=progress_bar, on_evaluation=report if prune else None, command=command
    )
    if outcome.stopped_by is not None:
        raise Interrupted(outcome.stopped_by, str(run.path))
    if outcome.pruned:
        print(f"trial {trial.number}: pruned at step {outcome.timesteps:,} ({run.path})")
        raise optuna.TrialPruned(f"pruned at step {outcome.timesteps}")
    selected = int(read_json(snapshot_folder(run.path, "best") / STATE).get("timesteps", 0))
    trial.set_user_attr("selected_step", selected)
    untrained = " (the untrained policy: training did not beat it)" if selected == 0 else ""
    print(
        f"trial {trial.number}: validation {config.selection_metric} {outcome.best:.3f}, "
        f"selected at step {selected:,}{untrained} ({run.path})"
    )
    return outcome.best


def recorded(study: optuna.Study, key: str, value: Any) -> Any:
    """The study's user attribute ``key``, which ``value`` becomes if the study has none yet."""
    if key not in study.user_attrs:
        study.set_user_attr(key, value)
        return value
    return study.user_attrs[key]


def record_identity(study: optuna.Study, identity: dict[str, Any]) -> None:
    """Record what a study's trials are scored on; refuse another, naming what differs.

    :raises StorageError: when the study was started on another market, splits or budget.
    """
    earlier = recorded(study, "identity", identity)
    changed = [key for key in identity if earlier.get(key) != identity[key]]
    if changed:
        said = "; ".join(f"{key} {earlier.get(key)!r}, now {identity[key]!r}" for key in changed)
        raise StorageError(
            f"study {study.study_name} was started on other data or settings ({said}): its trials "
            "cannot be compared with these; give --study a new name"
        )


def untrained_warning(study: optuna.Study) -> str | None:
    """A warning when the best complete trial's validation kept its untrained policy, else None."""
    try:
        best = study.best_trial
    except ValueError:
        return None
    if best.user_attrs.get("selected_step") != 0:
        return None
    return (
        f"Warning: the best trial, {best.number}, kept its untrained policy on validation (step 0): "
        "no setting it sampled was shown to help; more steps or another space may"
    )


def record_seeds(study: optuna.Study, seeds: list[int]) -> None:
    """Record the seeds a sweep trains (trial n trains the n-th); refuse others for a study that has some."""
    if (earlier := recorded(study, "seeds", seeds)) != seeds:
        raise StorageError(
            f"study {study.study_name} sweeps seeds {earlier}; run it with the same --seeds or a new --study"
        )


def work_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The study's trials that did work (surplus ones excluded), in number order."""
    return [t for t in study.get_trials(deepcopy=False) if not t.user_attrs.get("surplus")]


def summary(study: optuna.Study) -> str:
    """One line: trials by state, and the best value so far."""
    trials = work_trials(study)
    counts = {state.name.lower(): sum(t.state == state for t in trials) for state in TrialState}
    shown = ", ".join(f"{n} {state}" for state, n in counts.items() if n)
    complete = any(t.state == TrialState.COMPLETE for t in trials)
    best_text = f"; best: trial {study.best_trial.number}, {study.best_trial.value:.3f}" if complete else ""
    return f"study {study.study_name}: {len(trials)} trials ({shown or 'none'}){best_text}"


def parse_seeds(text: str) -> list[int]:
    """``0-9`` or ``0,3,5`` (or both: ``0-4,10``) as a list of seeds."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        first, sep, last = part.partition("-")
        try:
            seeds += list(range(int(first), int(last) + 1)) if sep else [int(first)]
        except ValueError:
            raise ConfigError(f"--seeds {text!r}: expected numbers and ranges such as 0-9 or 0,3,5") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds {text!r}: give at least one seed, each once")
    return seeds
