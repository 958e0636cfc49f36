"""The results study (``cryptofolio study``): walk-forward over a span of test half-years, per
profile, learner, seed and fold, its work units handed out to workers through an Optuna storage.

The protocol (:func:`study_folds`): the test span (2021-07-01 to 2024-06-30 by default) is cut
into consecutive half-years, one fold each. A fold selects on the half-year just before its
test window and trains on everything before that (an expanding window, from the data's first
bar: crypto history is short, and each fold should see every regime before it). Each profile
trades its own assets (:func:`profile_market`).

The work (:class:`Unit`: profile, learner, seed, fold) is queued in an Optuna study as waiting
trials, one per unit; a worker pops one (the storage hands each to one worker), trains it into
``<root>/<profile>/fold<k>/<algo>-s<seed>/`` and tells the study it is done. A killed worker
stops sending heartbeats: its trial is failed and queued again by the next worker that looks,
which resumes the unit's run folder from its last checkpoint. A unit whose run folder is complete
is never trained again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import optuna
import pandas as pd
from optuna.trial import TrialState

from cryptofolio.envs import MarketConfig, SplitDates, calibrated_model
from cryptofolio.envs.profiles import profile_assets
from cryptofolio.training.config import TrainConfig, resolve_config
from cryptofolio.training.optuna_studies import open_study, recorded, storage_url
from cryptofolio.training.run_folder import RunFolder
from cryptofolio.training.train import train

TEST_SPAN = ("2021-07-01", "2024-06-30")
BUDGETS = {"ppo": 100_000, "sac": 20_000}
"""Timesteps per unit where the study departs from configs/<algo>.yaml, so that the full study trains
within an hour on two cores. ``benchmarks/study_budgets.py`` (moderate, six folds, two seeds) found
that the model a budget ends with scores no better on validation than the untrained policy, at any
budget up to the configs' (PPO 200,000, SAC 50,000); a longer budget raises only the best of more
checkpoints. ``cryptofolio study --timesteps ppo=200000,sac=50000`` runs the configs' budgets."""
QUICK_BUDGETS = {"ppo": 1_024, "sac": 400, "td3": 400, "a2c": 1_024, "direct": 1_024, "recurrent_ppo": 512}
QUICK_OVERRIDES = ["eval_freq=512", "n_envs=2"]
UNIT = "unit"
"""The trial parameter holding a unit's index in the study's plan."""


@dataclass(frozen=True)
class Fold:
    """One fold of the walk-forward: its index (0 first) and its split dates."""

    index: int
    """0 for the earliest test window."""
    dates: SplitDates
    """Train (expanding, from the data's first day), validation (the half-year before test), test."""


def study_folds(test_span: tuple[str, str], first_day: str, months: int = 6) -> list[Fold]:
    """Folds whose test windows of ``months`` tile ``test_span``, each validated on the window before.

    :param test_span: first and last day (inclusive) of the test windows; the span's length must
        be a whole number of windows.
    :param first_day: the data's first day, where every fold's training starts.
    """
    start, end = (pd.Timestamp(day) for day in test_span)
    folds: list[Fold] = []
    while start <= end:
        stop = start + pd.DateOffset(months=months)
        validation_start = start - pd.DateOffset(months=months)
        if validation_start <= pd.Timestamp(first_day) + pd.DateOffset(months=months):
            raise ValueError(
                f"--test-span {test_span[0]}:{test_span[1]}: the fold testing from {start:%Y-%m-%d} would "
                f"train on less than {months} months after the data's first day, {first_day}"
            )
        day = pd.Timedelta(days=1)
        folds.append(
            Fold(
                len(folds),
                SplitDates(
                    train=(first_day, f"{validation_start - day:%Y-%m-%d}"),
                    validation=(f"{validation_start:%Y-%m-%d}", f"{start - day:%Y-%m-%d}"),
                    test=(f"{start:%Y-%m-%d}", f"{stop - day:%Y-%m-%d}"),
                ),
            )
        )
        start = stop
    if not folds or pd.Timestamp(folds[-1].dates.test[1]) != end:  # type: ignore[index]
        raise ValueError(
            f"--test-span {test_span[0]}:{test_span[1]}: not a whole number of {months}-month test windows"
        )
    return folds


def profile_market(market_path: str, profile: str, symbols: Sequence[str], dates: SplitDates) -> MarketConfig:
    """The market of one profile and fold: the profile's own assets among ``symbols``."""
    return MarketConfig(source=market_path, assets=profile_assets(profile, symbols), splits=dates)


@dataclass(frozen=True)
class Unit:
    """One run of the study: a learner's seed on one profile's fold."""

    profile: str
    """The risk profile: its assets, its baseline, its anchor."""
    algo: str
    """The learner (``ppo``, ``sac``, ``direct``, ...), with its configs/<algo>.yaml defaults."""
    seed: int
    """The run's seed."""
    fold: int
    """The fold's index."""

    @property
    def key(self) -> str:
        """``profile/fold<k>/<algo>-s<seed>``: the unit's name, and its run folder under the study's root."""
        return f"{self.profile}/fold{self.fold}/{self.algo}-s{self.seed}"


@dataclass(frozen=True)
class StudyPlan:
    """What a study trains: every profile, learner, seed and fold, on one market."""

    market: str
    """The folder of daily per-asset CSVs."""
    symbols: tuple[str, ...]
    """The market's risky assets (each profile takes its own among them)."""
    first_day: str
    """The data's first day, where every fold's training starts."""
    profiles: tuple[str, ...]
    """The risk profiles studied."""
    algos: tuple[str, ...]
    """The learners, each with its own defaults."""
    seeds: tuple[int, ...]
    """The seeds of every learner."""
    folds: tuple[Fold, ...]
    """The walk-forward's folds."""
    budgets: tuple[tuple[str, int], ...] = tuple(BUDGETS.items())
    """(learner, timesteps) pairs overriding the learners' configs' budgets."""
    quick: bool = False
    """Tiny budgets: a smoke test (``budgets`` unused)."""

    @classmethod
    def on_market(
        cls,
        market: str,
        profiles: Sequence[str],
        algos: Sequence[str],
        seeds: Sequence[int],
        test_span: tuple[str, str],
        budgets: dict[str, int] = BUDGETS,
        quick: bool = False,
    ) -> StudyPlan:
        """The plan of a study on ``market``, whose folds tile ``test_span``; the market is opened to
        learn its assets and first day.

        :param market: a folder of daily per-asset CSVs, or ``synthetic`` (every asset of the
            calibrated model, so that each profile trades its own; its known-parameter reference
            joins the report).
        """
        assets = calibrated_model().assets if market == "synthetic" else None
        data = MarketConfig(source=market, assets=assets).load_market()
        first_day = f"{data.timestamps[0]:%Y-%m-%d}"
        return cls(
            market=market,
            symbols=tuple(data.symbols[1:]),
            first_day=first_day,
            profiles=tuple(profiles),
            algos=tuple(algos),
            seeds=tuple(seeds),
            folds=tuple(study_folds(test_span, first_day)),
            budgets=tuple(budgets.items()),
            quick=quick,
        )

    @property
    def units(self) -> list[Unit]:
        """Every unit, fold by fold in time order."""
        return [
            Unit(profile, algo, seed, fold.index)
            for fold in self.folds
            for profile in self.profiles
            for algo in self.algos
            for seed in self.seeds
        ]

    def config(self, unit: Unit) -> TrainConfig:
        """The unit's training config: its learner's defaults on its profile's fold."""
        market = profile_market(self.market, unit.profile, self.symbols, self.folds[unit.fold].dates)
        return resolve_config(
            unit.algo,
            unit.profile,
            overrides=QUICK_OVERRIDES if self.quick else [],
            market=market,
            n_timesteps=QUICK_BUDGETS[unit.algo] if self.quick else dict(self.budgets).get(unit.algo),
            seed=unit.seed,
        )

    def timesteps(self) -> dict[str, int]:
        """Each learner's timesteps in this study (its first unit's), from its config and ``budgets``."""
        return {
            algo: self.config(next(unit for unit in self.units if unit.algo == algo)).n_timesteps
            for algo in self.algos
        }


def train_unit(plan: StudyPlan, unit: Unit, root: Path, command: Sequence[str] = ()) -> Path:
    """Train ``unit`` into ``root/<unit.key>`` unless it is complete there; resume it if it was cut short.

    A folder left by a worker killed before its first checkpoint is moved aside (``.abandoned-<time>``).
    :return: the run folder.
    """
    config = plan.config(unit)
    path = root / unit.key
    if path.exists():
        run = RunFolder(path)
        if run.read_config() != config:
            raise ValueError(f"{path}: trained with another config than this study's; use a new --study")
        progress = run.progress()
        if progress == "complete":
            return path
        if progress == "resumable":
            train(config, run, resume=True, command=command)
            return path
        path.rename(path.with_name(f"{path.name}.abandoned-{dt.datetime.now():%Y%m%d-%H%M%S}"))
    train(config, RunFolder.create(path.parent, config, name=path.name), command=command)
    return path


def plan_names(plan: StudyPlan) -> list[str]:
    """The units' keys, in queue order: what a study records so that workers agree on the plan."""
    return [unit.key for unit in plan.units]


def open_units(name: str, storage: str | None, plan: StudyPlan) -> optuna.Study:
    """Open (or join) the study ``name`` and queue every unit not yet queued, once.

    :raises ValueError: if the study holds another plan (other profiles, learners, seeds or folds).
    """
    study = open_study(name, storage_url(storage), retry_stale=True)
    keys = plan_names(plan)
    if (earlier := recorded(study, "units", keys)) != keys:
        raise ValueError(
            f"study {name} holds another plan ({len(earlier)} units); run it with the same options or "
            "choose a new --study"
        )
    budgets = plan.timesteps()
    if (earlier_budgets := recorded(study, "timesteps", budgets)) != budgets:
        raise ValueError(
            f"study {name} trains with other budgets ({earlier_budgets}, not {budgets}); run it with the "
            "same --timesteps or choose a new --study"
        )
    live = (TrialState.WAITING, TrialState.RUNNING, TrialState.COMPLETE)
    queued = {_unit_of(trial) for trial in study.get_trials(deepcopy=False, states=live)}
    for index in range(len(keys)):
        if index not in queued:  # never queued, or failed: (again) in the queue
            study.enqueue_trial({UNIT: index})
    return study


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
    study: optuna.Study, plan: StudyPlan, root: Path, command: Sequence[str] = (), poll: float = 5.0
) -> int:
    """Train queued units until none is left (this worker's and others'); the trials this worker ran.

    When nothing waits but units still run elsewhere, it waits for them, so that a worker killed
    mid-unit has its unit queued again (after the storage's grace period) and done here.
    """
    units = plan.units
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
        train_unit(plan, units[index], root, command)
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


def study_name(plan: StudyPlan) -> str:
    """A default study name that says what it holds."""
    span = f"{plan.folds[0].dates.test[0]}_{plan.folds[-1].dates.test[1]}"  # type: ignore[index]
    name = f"study-{span}-{'-'.join(plan.algos)}-{len(plan.seeds)}seeds"
    if plan.quick:
        return name + "-quick"
    other = [f"{algo}{steps}" for algo, steps in plan.budgets if BUDGETS.get(algo) != steps]
    return "-".join([name, *other])


def describe(plan: StudyPlan) -> dict[str, object]:
    """The plan as plain data, for the study's record."""
    data = dataclasses.asdict(plan)
    data["folds"] = [dataclasses.asdict(fold.dates) for fold in plan.folds]
    return data
