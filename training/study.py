"""The results study (``cryptofolio study``): walk-forward over a span of test half-years, per
profile, learner, seed and fold, a plan of units fed to the experiment engine.

The protocol (:func:`~cryptofolio.training.folds.calendar_folds`): the test span (2021-07-01 to
2024-06-30 by default) is cut into consecutive half-years, one fold each. A fold selects on the
half-year just before its test window and trains on everything before that (an expanding window,
from the data's first bar: crypto history is short, and each fold should see every regime before
it). Each profile trades its own assets (:func:`profile_market`).

The units (profile, learner, seed, fold) are queued in an Optuna study (the engine's queue), and
each trains into ``<root>/<profile>/fold<k>/<algo>-s<seed>/`` by the engine's one rule: a unit
whose run folder is complete is never trained again, one cut short resumes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import optuna
import pandas as pd

from cryptofolio.agents.learners import learner
from cryptofolio.envs import MarketConfig, SplitDates, calibrated_model
from cryptofolio.envs.errors import PlanError, StorageError
from cryptofolio.envs.profiles import profile_assets
from cryptofolio.training.budgets import STUDY_QUICK_OVERRIDES, study_budgets
from cryptofolio.training.engine import Unit, check_units, queue_units
from cryptofolio.training.folds import Fold, calendar_folds
from cryptofolio.training.optuna_studies import open_study, recorded, storage_url

TEST_SPAN = ("2021-07-01", "2024-06-30")


def profile_market(
    source: MarketConfig, profile: str, symbols: Sequence[str], dates: SplitDates
) -> MarketConfig:
    """The market of one profile and fold: ``source`` (its data and options) on the profile's own assets
    among ``symbols``, split at ``dates``."""
    return dataclasses.replace(source, assets=profile_assets(profile, symbols), splits=dates)


def unit_key(profile: str, fold: int, algo: str, seed: int) -> str:
    """``profile/fold<k>/<algo>-s<seed>``: a study unit's name, and its run folder under the study's root."""
    return f"{profile}/fold{fold}/{algo}-s{seed}"


@dataclass(frozen=True)
class StudyPlan:
    """What a study trains: every profile, learner, seed and fold, on one market."""

    source: MarketConfig
    """The market's data and options (gaps, cash, column mapping); each unit sets its assets and splits."""
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
    budgets: tuple[tuple[str, int], ...] = field(default_factory=lambda: tuple(study_budgets().items()))
    """(learner, timesteps) pairs overriding the learners' configs' budgets (:func:`study_budgets`)."""
    quick: bool = False
    """Tiny budgets: a smoke test (``budgets`` unused)."""

    @property
    def synthetic(self) -> bool:
        """Whether the study runs on the synthetic market (its known-parameter reference joins the report)."""
        return self.source.source == "synthetic"

    def profile_market(self, profile: str, dates: SplitDates) -> MarketConfig:
        """The market of one profile and fold (:func:`profile_market` on the plan's source)."""
        return profile_market(self.source, profile, self.symbols, dates)

    @classmethod
    def on_market(
        cls,
        source: MarketConfig | str,
        profiles: Sequence[str],
        algos: Sequence[str],
        seeds: Sequence[int],
        test_span: tuple[str, str],
        budgets: dict[str, int] | None = None,
        quick: bool = False,
    ) -> StudyPlan:
        """The plan of a study on ``source``, whose folds tile ``test_span``; the market is opened to
        learn its assets, first and last day.

        :param source: a market (its assets, dates and splits are the study's to set), or its source
            alone: a folder of daily per-asset CSVs, or ``synthetic`` (every asset of the calibrated
            model, so that each profile trades its own; its known-parameter reference joins the report).
        :raises PlanError: naming ``--test-span`` if it ends after the data's last day.
        """
        market = MarketConfig(source=source) if isinstance(source, str) else source
        market = dataclasses.replace(market, assets=None, start=None, end=None, splits=None)
        assets = calibrated_model().assets if market.source == "synthetic" else None
        data = dataclasses.replace(market, assets=assets).load_market()
        first_day, last_day = (f"{data.timestamps[i]:%Y-%m-%d}" for i in (0, -1))
        if pd.Timestamp(test_span[1]) > pd.Timestamp(last_day):
            raise PlanError(
                f"--test-span {test_span[0]}:{test_span[1]}: ends after the data's last day, {last_day} "
                f"({market.source})"
            )
        return cls(
            source=market,
            symbols=tuple(data.symbols[1:]),
            first_day=first_day,
            profiles=tuple(profiles),
            algos=tuple(algos),
            seeds=tuple(seeds),
            folds=tuple(calendar_folds(test_span, first_day)),
            budgets=tuple((study_budgets() if budgets is None else budgets).items()),
            quick=quick,
        )

    @property
    def units(self) -> list[Unit]:
        """Every unit, fold by fold in time order."""
        return [
            Unit(
                key=unit_key(profile, fold.index, algo, seed),
                algo=algo,
                profile=profile,
                seed=seed,
                market=self.profile_market(profile, fold.dates),
                timesteps=learner(algo).budgets.quick if self.quick else dict(self.budgets).get(algo),
                overrides=STUDY_QUICK_OVERRIDES if self.quick else (),
            )
            for fold in self.folds
            for profile in self.profiles
            for algo in self.algos
            for seed in self.seeds
        ]

    def check(self) -> None:
        """Every unit's market and splits load (assets present, dates inside the data): before any worker."""
        check_units(self.units)

    def fingerprint(self) -> str:
        """The data fingerprint of the study's market (its assets, every bar): what its units train on."""
        market = dataclasses.replace(self.source, assets=self.symbols, splits=None).load_market()
        return market.fingerprint()

    def timesteps(self) -> dict[str, int]:
        """Each learner's timesteps in this study (its first unit's), from its config and ``budgets``."""
        return {
            algo: next(unit for unit in self.units if unit.algo == algo).config().n_timesteps
            for algo in self.algos
        }


def open_units(name: str, storage: str | None, plan: StudyPlan) -> optuna.Study:
    """Open (or join) the study ``name`` and queue every unit not yet queued, once.

    :raises ValueError: if the study holds another plan (other profiles, learners, seeds or folds), was
        trained on other market data (by fingerprint), or with other budgets.
    """
    study = open_study(name, storage_url(storage), retry_stale=True)
    keys = [unit.key for unit in plan.units]
    if (earlier := recorded(study, "units", keys)) != keys:
        raise StorageError(
            f"study {name} holds another plan ({len(earlier)} units); run it with the same options or "
            "choose a new --study"
        )
    market = {"source": str(plan.source.source), "fingerprint": plan.fingerprint()}
    if (earlier_market := recorded(study, "market", market))["fingerprint"] != market["fingerprint"]:
        raise StorageError(
            f"study {name} was trained on other market data ({earlier_market['source']}, fingerprint "
            f"{earlier_market['fingerprint']}; now {market['source']}, {market['fingerprint']}); "
            "choose a new --study (and --root) for this market"
        )
    budgets = plan.timesteps()
    if (earlier_budgets := recorded(study, "timesteps", budgets)) != budgets:
        raise StorageError(
            f"study {name} trains with other budgets ({earlier_budgets}, not {budgets}); run it with the "
            "same --timesteps or choose a new --study"
        )
    queue_units(study, len(keys))
    return study


def study_name(plan: StudyPlan) -> str:
    """A default study name that says what it holds."""
    span = f"{plan.folds[0].test[0]}_{plan.folds[-1].test[1]}"
    market = "synthetic" if plan.synthetic else Path(plan.source.source).name
    name = f"study-{market}-{span}-{'-'.join(plan.algos)}-{len(plan.seeds)}seeds"
    if plan.quick:
        return name + "-quick"
    other = [f"{algo}{steps}" for algo, steps in plan.budgets if study_budgets().get(algo) != steps]
    return "-".join([name, *other])


def describe(plan: StudyPlan) -> dict[str, object]:
    """The plan as plain data, for the study's record."""
    data = dataclasses.asdict(plan)
    data["folds"] = [dataclasses.asdict(fold.dates) for fold in plan.folds]
    return data
