"""Folds of a walk-forward and the chaining of their test windows: one ``Fold`` for every plan.

Two shapes: :func:`calendar_folds` (the results study's: test windows of whole months tiling a
span, each selected on the window before and trained on an expanding window from the data's first
day) and :func:`rolling_folds` (``cryptofolio walkforward``'s: a rolling window of days for
training, then validation and test, stepped forward). Both give a fold's splits as dates, which is
what a market config takes; :func:`chains` joins each policy's test windows into one path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cryptofolio.envs import MarketData, SplitDates, Splits
from cryptofolio.envs.errors import PlanError
from cryptofolio.evaluation.results import Evaluation
from cryptofolio.evaluation.statistics import returns_of, values_of


@dataclass(frozen=True)
class Fold:
    """One fold of a walk-forward: its index (0 first) and its split dates."""

    index: int
    """0 for the earliest test window."""
    dates: SplitDates
    """Train, validation (model selection) and test, inclusive first and last days."""

    @property
    def test(self) -> tuple[str, str]:
        """The test window's first and last day."""
        assert self.dates.test is not None  # every fold has a test window
        return self.dates.test


def calendar_folds(test_span: tuple[str, str], first_day: str, months: int = 6) -> list[Fold]:
    """Folds whose test windows of ``months`` tile ``test_span``, each validated on the window before
    and trained on every day from ``first_day`` to the validation window (expanding).

    :param test_span: first and last day (inclusive) of the test windows; the span's length must
        be a whole number of windows.
    :param first_day: the data's first day, where every fold's training starts.
    :raises ValueError: naming ``--test-span`` when the span does not fit.
    """
    start, end = (pd.Timestamp(day) for day in test_span)
    folds: list[Fold] = []
    while start <= end:
        stop = start + pd.DateOffset(months=months)
        validation_start = start - pd.DateOffset(months=months)
        if validation_start <= pd.Timestamp(first_day) + pd.DateOffset(months=months):
            raise PlanError(
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
    if not folds or pd.Timestamp(folds[-1].test[1]) != end:
        raise PlanError(
            f"--test-span {test_span[0]}:{test_span[1]}: not a whole number of {months}-month test windows"
        )
    return folds


def rolling_folds(
    market: MarketData, train_days: int, val_days: int, test_days: int, step_days: int | None = None
) -> list[Fold]:
    """Rolling folds over the whole market, in time order: ``train_days`` of bars, then ``val_days``,
    then ``test_days``; the next fold starts ``step_days`` later (default: ``test_days``, so that
    the test windows tile the period)."""
    per_day = pd.Timedelta(days=1) / market.freq
    train, val, test = (max(2, round(d * per_day)) for d in (train_days, val_days, test_days))
    step = max(1, round((step_days or test_days) * per_day))
    folds: list[Fold] = []
    start = 0
    while start + train + val + test <= market.n_bars:
        t, v = start + train, start + train + val
        splits = Splits(range(start, t), range(t, v), range(v, v + test))
        dates = {name: span for name, span in splits.dates(market).items() if span is not None}
        folds.append(Fold(len(folds), SplitDates(**{n: (a[:10], b[:10]) for n, (a, b) in dates.items()})))
        start += step
    if not folds:
        raise PlanError(
            f"{market.n_bars} bars of {market.source} hold no fold of {train_days} + {val_days} + "
            f"{test_days} days"
        )
    return folds


def chained(evaluations: Sequence[Evaluation], names: Sequence[str]) -> np.ndarray:
    """(n+1,) value path from 1: the test windows' returns of ``names[k]`` in ``evaluations[k]``, joined."""
    returns = [returns_of(e.results[name].values) for e, name in zip(evaluations, names, strict=True)]
    return values_of(np.concatenate(returns))


def chains(evaluations: Sequence[Evaluation]) -> dict[str, list[np.ndarray]]:
    """Each policy's test windows joined into one path from 1: every rule (and the known-parameter
    reference) one path, every agent group one path per seed, in seed order."""
    first = evaluations[0]
    rules = [*first.rules, *([first.reference] if first.reference else [])]
    names: dict[str, list[list[str]]] = {rule: [[rule] * len(evaluations)] for rule in rules}
    for g, group in enumerate(first.groups):
        per_fold = [e.groups[g].runs for e in evaluations]
        names[group.name] = [[runs[s] for runs in per_fold] for s in range(len(group.runs))]
    return {policy: [chained(evaluations, seq) for seq in sequences] for policy, sequences in names.items()}
