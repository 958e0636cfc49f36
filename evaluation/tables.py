"""The report's tables: DataFrames of an evaluation's numbers, and their formatting as text.

Monthly returns, the worst drawdowns and tail risk of each policy and agent group; and the
formatting every report shares: fractions in percent, intervals folded into one cell, run names
without their start time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from cryptofolio.evaluation import metrics
from cryptofolio.evaluation.results import Evaluation

PERCENT_WORDS = (
    "return",
    "cagr",
    "volatility",
    "drawdown",
    "fees",
    "invested",
    "share",
    "reduction",
    "var_",
    "cdar",
    "tolerance",
    "excess_points",
)
COUNT_WORDS = ("seeds", "steps", "step", "positions")  # columns of whole numbers
VAR_LEVEL = 0.95


def label(name: str) -> str:
    """A run's name without its start time, for legends: ``ppo-moderate-synthetic-s0``."""
    return re.sub(r"-\d{8}-\d{6}(-\d+)?$", "", name)


def monthly_table(evaluation: Evaluation) -> pd.DataFrame:
    """Monthly returns (:func:`~cryptofolio.evaluation.metrics.monthly_returns`) of every policy, then
    of each agent group (the mean over its seeds of each cell), as fractions.

    :return: one row per policy and year; columns policy, year, Jan to Dec, Total.
    """
    tables = {
        name: metrics.monthly_returns(result.values, result.timestamps)
        for name, result in evaluation.results.items()
    }
    for group in evaluation.groups:
        tables[group.name] = pd.concat([tables[run] for run in group.runs]).groupby(level="year").mean()
    return pd.concat(tables, names=["policy"]).reset_index()


def drawdown_table(evaluation: Evaluation, names: Sequence[str], count: int) -> pd.DataFrame:
    """The ``count`` worst drawdowns (:func:`~cryptofolio.evaluation.metrics.worst_drawdowns`) of each
    named policy, in the order given.

    :return: columns policy, drawdown (a fraction), peak, trough, recovery (NaT: not recovered), days.
    """
    tables = []
    for name in names:
        result = evaluation.results[name]
        tables.append(metrics.worst_drawdowns(result.values, result.timestamps, count).assign(policy=name))
    return pd.concat(tables, ignore_index=True)[["policy", "drawdown", "peak", "trough", "recovery", "days"]]


def dated(table: pd.DataFrame, hourly: bool) -> pd.DataFrame:
    """:func:`drawdown_table` with its dates as text, ``not recovered`` for none."""
    shown = table.copy()
    for column in ("peak", "trough", "recovery"):
        shown[column] = [
            "not recovered" if pd.isna(t) else f"{t:%Y-%m-%d %H:%M}" if hourly else f"{t:%Y-%m-%d}"
            for t in table[column]
        ]
    return shown


def tail_table(evaluation: Evaluation) -> pd.DataFrame:
    """Per-bar historical VaR and CVaR at :data:`VAR_LEVEL`, as losses: each agent group (mean over its
    seeds), then every policy.

    :return: indexed by group or policy; columns var_95 and cvar_95, fractions of the value.
    """
    table = pd.DataFrame(
        {
            name: {
                "var_95": metrics.historical_var(result.values, VAR_LEVEL),
                "cvar_95": metrics.historical_cvar(result.values, VAR_LEVEL),
            }
            for name, result in evaluation.results.items()
        }
    ).T
    groups = pd.DataFrame({group.name: table.loc[group.runs].mean() for group in evaluation.groups}).T
    return pd.concat([groups, table])


def monthly_rows(months: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """The rows of :func:`monthly_table` of ``names``, in that order, indexed ``<policy> <year>``."""
    shown = pd.concat([months[months["policy"] == name] for name in names])
    index = [f"{label(name)} {year}" for name, year in zip(shown["policy"], shown["year"], strict=True)]
    return shown.drop(columns=["policy", "year"]).set_axis(index, axis=0)


def percent(table: pd.DataFrame) -> pd.DataFrame:
    """Fractions as text in percent with one decimal; empty for a missing value."""
    return table.map(lambda v: "" if pd.isna(v) else f"{v:.1%}")


def with_intervals(table: pd.DataFrame, columns: Sequence[str] | pd.Index) -> pd.DataFrame:
    """Fold ``x_std``, ``x_low`` and ``x_high`` columns into ``x`` as text: ``value ± std [low, high]``."""
    out = pd.DataFrame(index=table.index)
    for column in columns:
        if column.endswith(("_low", "_high", "_std")):
            continue
        if f"{column}_low" not in table.columns:
            out[column] = table[column]
            continue
        fmt = _formatter(column)
        cells = []
        for name in table.index:
            spread = f" ± {fmt(table.at[name, f'{column}_std'])}" if f"{column}_std" in table.columns else ""
            bounds = f"[{fmt(table.at[name, f'{column}_low'])}, {fmt(table.at[name, f'{column}_high'])}]"
            cells.append(f"{fmt(table.at[name, column])}{spread} {bounds}")
        out[column] = cells
    return out


def _formatter(column: str):
    days = "days" in column or column.endswith(COUNT_WORDS)
    percent = any(word in column for word in PERCENT_WORDS) and not days

    def fmt(value: object) -> str:
        if isinstance(value, bool | np.bool_):
            return "yes" if value else "NO"
        if isinstance(value, int | np.integer):
            return str(value)
        if isinstance(value, float | np.floating):
            if not np.isfinite(value):
                return "n/a"
            return f"{value:.1%}" if percent else f"{value:.0f}" if days else f"{value:.2f}"
        return str(value)

    return fmt


def formatted(table: pd.DataFrame) -> pd.DataFrame:
    """Numbers as text: fractions in percent, ratios with two decimals."""
    out = pd.DataFrame(index=table.index)
    for column in table.columns:
        out[column] = [v if isinstance(v, str) else _formatter(column)(v) for v in table[column]]
    return out
