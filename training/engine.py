"""The experiment engine: what to train (:class:`Unit`), the one rule that trains it
(:func:`ensure_trained`), and the worker queue on an Optuna storage that shares units out.

A plan (the results study, the ablation, the walk-forward) is a list of units and a way to
evaluate them. Each unit names its run folder (``<root>/<unit.key>``); :func:`ensure_trained`
skips it when complete, resumes it when cut short after a checkpoint, moves a folder abandoned
before its first checkpoint aside (``.abandoned-<time>``) and trains it anew, and refuses, in one
line, a folder trained with another config.

The queue: every unit is a waiting trial of an Optuna study (parameter ``unit``: its index in the
plan), in an SQLite file or a PostgreSQL database (``optuna_studies.QueueStorage`` hands each to one
process). Workers pop units until none is left; a killed worker stops sending heartbeats, its trial
is failed and queued again by the next worker that looks, which resumes the unit's run folder.
:func:`run_workers` starts N local spawned processes, each with its share of the cores' threads.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import multiprocessing.connection
import os
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.trial import TrialState
from tqdm import tqdm

from cryptofolio.envs import MarketConfig
from cryptofolio.envs.errors import PlanError, RunFolderError, UserError
from cryptofolio.training.config import TrainConfig, resolve_config
from cryptofolio.training.optuna_studies import open_study, storage_url
from cryptofolio.training.run_folder import RunFolder
from cryptofolio.training.train import train

UNIT = "unit"
"""The trial parameter holding a unit's index in its plan."""
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
"""The thread pools a worker process sizes, through its environment, before numpy or torch import."""
POLL_SECONDS = 1.0
"""How often an idle worker looks for units queued again (a dead worker's) or for the others' end: a
read of the study, cheap beside the seconds a worker would otherwise idle after the last unit."""


@dataclass(frozen=True)
class Unit:
    """One run to train: a learner's seed on a profile, a market and its splits, with a budget."""

    key: str
    """The unit's name, and its run folder under the plan's root (``moderate/fold0/ppo-s0``)."""
    algo: str
    """The learner, with its configs/<algo>.yaml defaults."""
    profile: str
    """The risk profile: its entry of the learner's config, its baseline, its anchor."""
    seed: int
    """The run's seed."""
    market: MarketConfig
    """The market, its assets and its splits."""
    timesteps: int | None = None
    """The budget (None: the learner's config's)."""
    overrides: tuple[str, ...] = ()
    """``key=value`` settings over the learner's config (a variant's levers, ``--set``, ...)."""
    note: str = ""
    """The unit's name in what is printed when it is skipped, resumed or trained (``free: training ppo
    seed 0``; empty: print nothing)."""

    def config(self) -> TrainConfig:
        """The unit's training config."""
        return resolve_config(
            self.algo,
            self.profile,
            overrides=list(self.overrides),
            market=self.market,
            n_timesteps=self.timesteps,
            seed=self.seed,
        )


def ensure_trained(unit: Unit, root: Path, command: Sequence[str] = (), progress_bar: bool = False) -> Path:
    """Train ``unit`` into ``root/<unit.key>`` unless it is complete there; resume it if it was cut short.

    A folder left before its first checkpoint is moved aside (``<name>.abandoned-<time>``).
    :raises RunFolderError: if the folder holds a run of another config.
    :return: the run folder.
    """
    config = unit.config()
    path = root / unit.key
    if path.exists():
        run = RunFolder(path)
        if run.read_config() != config:
            raise RunFolderError(
                f"{path}: trained with another config than this plan's; train it into another folder"
            )
        progress = run.progress()
        if progress == "complete":
            _say(unit, f"seed {unit.seed} is complete, skipped")
            return path
        if progress == "resumable":
            _say(unit, f"resuming {unit.algo} seed {unit.seed}")
            train(config, run, resume=True, progress_bar=progress_bar, command=command)
            return path
        path.rename(path.with_name(f"{path.name}.abandoned-{dt.datetime.now():%Y%m%d-%H%M%S}"))
    _say(unit, f"training {unit.algo} seed {unit.seed}")
    train(
        config,
        RunFolder.create(path.parent, config, name=path.name),
        progress_bar=progress_bar,
        command=command,
    )
    return path


def _say(unit: Unit, what: str) -> None:
    if unit.note:
        print(f"{unit.note}: {what}", flush=True)


def check_units(units: Sequence[Unit]) -> None:
    """Resolve every unit's config and load every market and splits once, before any worker starts:
    settings known, assets present, every split inside the data.

    :raises PlanError: naming the first unit at fault, and why.
    """
    seen: set[MarketConfig] = set()
    for unit in units:
        try:
            unit.config()
            if unit.market not in seen:
                unit.market.load()
                seen.add(unit.market)
        except UserError as error:
            raise PlanError(f"unit {unit.key}: {error}") from None


# --- the queue ----------------------------------------------------------------------------------


def queue_units(study: optuna.Study, count: int) -> None:
    """Queue every unit of a plan of ``count`` that is not waiting, running or complete (once)."""
    live = (TrialState.WAITING, TrialState.RUNNING, TrialState.COMPLETE)
    queued = {_unit_of(trial) for trial in study.get_trials(deepcopy=False, states=live)}
    for index in range(count):
        if index not in queued:  # never queued, or failed: (again) in the queue
            study.enqueue_trial({UNIT: index})


def _unit_of(trial: optuna.trial.FrozenTrial) -> int | None:
    """The unit a trial does (its queued parameter, or the one it suggested); None for a surplus trial."""
    if trial.user_attrs.get("surplus"):
        return None
    unit = trial.system_attrs.get("fixed_params", {}).get(UNIT, trial.params.get(UNIT))
    return None if unit is None else int(unit)


def unit_states(study: optuna.Study) -> dict[str, int]:
    """How many units are complete, running, waiting, and failed without a retry queued."""
    by_state: dict[TrialState, set[int]] = {state: set() for state in TrialState}
    for trial in study.get_trials(deepcopy=False):
        unit = _unit_of(trial)
        if unit is not None:
            by_state[trial.state].add(unit)
    complete = by_state[TrialState.COMPLETE]
    running = by_state[TrialState.RUNNING] - complete
    waiting = by_state[TrialState.WAITING] - complete - running
    failed = by_state[TrialState.FAIL] - complete - running - waiting
    return {
        "complete": len(complete),
        "running": len(running),
        "waiting": len(waiting),
        "failed": len(failed),
    }


def work(
    study: optuna.Study,
    units: Sequence[Unit],
    root: Path,
    command: Sequence[str] = (),
    poll: float = POLL_SECONDS,
    progress_bar: bool = False,
) -> int:
    """Train queued units until none is left (this worker's and others'); the trials this worker ran.

    When nothing waits but units still run elsewhere, it waits for them, so that a worker killed
    mid-unit has its unit queued again (after the storage's grace period) and done here.
    """
    ran = 0

    def objective(trial: optuna.Trial) -> float:
        frozen = next(t for t in study.get_trials(deepcopy=False) if t.number == trial.number)
        if UNIT not in frozen.system_attrs.get("fixed_params", {}):  # another worker emptied the queue first
            trial.set_user_attr("surplus", True)
            raise optuna.TrialPruned("no unit was waiting")
        index = trial.suggest_int(UNIT, 0, len(units) - 1)
        others = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING))
        if any(_unit_of(t) == index and t.number < trial.number for t in others):
            trial.set_user_attr("surplus", True)  # queued twice by workers that started together
            raise optuna.TrialPruned(f"unit {units[index].key} is another worker's")
        trial.set_user_attr("key", units[index].key)
        ensure_trained(units[index], root, command, progress_bar)
        return 0.0

    while True:
        if any(t.state == TrialState.WAITING for t in study.get_trials(deepcopy=False)):
            study.optimize(objective, n_trials=1)  # (a unit queued twice is popped too, and found surplus)
            ran += 1
        elif unit_states(study)["running"]:
            time.sleep(
                poll
            )  # units run elsewhere; a dead worker's is failed and queued after the grace period
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(study)
        else:
            return ran


# --- worker processes -----------------------------------------------------------------------------


def threads_per_worker(workers: int, cores: int | None = None) -> int | None:
    """Each worker's share of the cores (at least 1); None for one worker, which keeps the defaults."""
    if workers <= 1:
        return None
    return max(1, (cores or os.cpu_count() or 1) // workers)


@contextlib.contextmanager
def thread_environment(threads: int | None) -> Iterator[None]:
    """Within: ``THREAD_VARIABLES`` set to ``threads`` in this process's environment (which a spawned
    child starts with, before it imports numpy or torch); restored after. None: unchanged."""
    if threads is None:
        yield
        return
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update(dict.fromkeys(THREAD_VARIABLES, str(threads)))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _worker(
    name: str, url: str, units: Sequence[Unit], root: Path, command: Sequence[str], threads: int | None
) -> None:
    """One worker process: size torch's threads to its share, join the queue, train until none is left."""
    if threads is not None:
        import torch  # (after the environment sized OpenMP, OpenBLAS, MKL and numba)

        torch.set_num_threads(threads)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    work(open_study(name, url, retry_stale=True), units, root, command)


def run_workers(
    name: str,
    url: str,
    units: Sequence[Unit],
    root: Path,
    workers: int,
    command: Sequence[str] = (),
    progress: bool = False,
) -> None:
    """Start ``workers`` spawned processes on the queue ``name`` and show the units done, until they stop.

    No more processes start than the plan has units; each sizes its thread pools to ``cores // workers``
    (one worker keeps the defaults).
    :raises RuntimeError: if a worker stopped with an error (its traceback printed above).
    """
    workers = max(1, min(workers, len(units)))  # a process without a unit would only take threads
    context = multiprocessing.get_context("spawn")  # a forked child would inherit torch's threads mid-state
    threads = threads_per_worker(workers)
    processes = [
        context.Process(target=_worker, args=(name, url, units, root, command, threads), daemon=False)
        for _ in range(workers)
    ]
    with thread_environment(threads):
        for process in processes:
            process.start()
    study = open_study(name, url, retry_stale=True)
    with tqdm(total=len(units), desc="units", unit="unit", disable=not progress) as bar:
        while any(p.is_alive() for p in processes):
            bar.update(unit_states(study)["complete"] - bar.n)
            multiprocessing.connection.wait([p.sentinel for p in processes if p.is_alive()], timeout=2.0)
        bar.update(unit_states(study)["complete"] - bar.n)
    failed = [p.exitcode for p in processes if p.exitcode]
    if failed:
        raise RuntimeError(f"{len(failed)} worker(s) stopped with an error (exit codes {failed}); see above")


def train_units(
    units: Sequence[Unit],
    root: Path,
    workers: int = 1,
    command: Sequence[str] = (),
    progress_bar: bool = False,
) -> None:
    """Ensure every unit is trained under ``root``: one after another here (``workers`` 1), or through a
    queue in a temporary SQLite file, by ``workers`` processes."""
    if workers == 1:
        for unit in units:
            ensure_trained(unit, root, command, progress_bar)
        return
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the queue's bookkeeping is not the user's news
    with tempfile.TemporaryDirectory(prefix="cryptofolio-queue-") as folder:
        url = storage_url(f"sqlite:///{Path(folder) / 'queue.db'}")
        queue_units(open_study("units", url, retry_stale=True), len(units))
        run_workers("units", url, units, root, workers, command)
