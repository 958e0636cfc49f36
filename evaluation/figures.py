"""The report's figures (matplotlib, saved as PNG in the report folder).

Curves draw each agent group as the mean over its seeds of the plotted quantity, with a band
from its lowest to its highest seed, and the featured baselines dashed above them: the ones the
groups are compared with in black, on top. Every figure takes its colours in the same order.
Each function draws one figure into the folder and returns its file name.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.axis
import matplotlib.dates
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd

from cryptofolio.evaluation import diagnostics
from cryptofolio.evaluation.results import AgentGroup, Evaluation
from cryptofolio.evaluation.tables import label

CONTEXT = ("btc_only", "equal_weight")  # baselines drawn beside the agents for scale
BASELINE_ZORDER = 3  # baselines are drawn above the agents' lines (2) and seed bands (1)
RULE_ZORDER = 4  # and the baselines the agents are compared with above every other line
RULE_STYLES = ("--", "-.", (0, (6, 1.5, 1, 1.5, 1, 1.5)))  # those baselines, all black, told apart
COLORS = (*matplotlib.color_sequences["tab10"], *matplotlib.color_sequences["Dark2"])
LOG_STEPS = ((1.0, 1.5, 2.0, 3.0, 5.0, 7.0), (1.0, 2.0, 3.0, 5.0), (1.0, 2.0, 5.0), (1.0, 3.0), (1.0,))
"""Labels per decade of a log axis, densest first: :func:`log_ticks` takes the densest that fits."""
MIN_LOG_LABELS, MAX_LOG_LABELS = 4, 10  # labels on a log axis: fewer say little, more crowd it


def featured_baselines(evaluation: Evaluation) -> list[str]:
    """Baselines drawn beside the agents: their profiles, the reference, BTC and equal weight.

    Without agents, every evaluated baseline and the reference.
    """
    if evaluation.groups:
        names = list(dict.fromkeys(group.profile for group in evaluation.groups))
        names += [evaluation.reference] if evaluation.reference else []
        names += list(CONTEXT)
    else:
        names = [*evaluation.rules, *([evaluation.reference] if evaluation.reference else [])]
    return list(dict.fromkeys(n for n in names if n in evaluation.results))


def seed_band(series: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, lowest and highest over seeds, bar by bar, of k (n,) series: three (n,) arrays."""
    stack = np.vstack(series)
    return stack.mean(axis=0), stack.min(axis=0), stack.max(axis=0)


def _dates(ax: plt.Axes) -> None:
    locator = matplotlib.dates.AutoDateLocator(maxticks=7)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(matplotlib.dates.ConciseDateFormatter(locator))


def _save(figure: plt.Figure, out: Path, name: str, top: float = 1.0) -> str:
    """Save as PNG and close; ``top``: the fraction of the height the axes may use (a legend above)."""
    for ax in figure.axes:
        if ax.get_label() != "<colorbar>" and isinstance(
            ax.xaxis.get_major_formatter(), matplotlib.dates.AutoDateFormatter
        ):
            _dates(ax)
    figure.tight_layout(rect=(0.0, 0.0, 1.0, top))
    figure.savefig(out / name, dpi=110)
    plt.close(figure)
    return name


def _colors() -> Iterator[Any]:
    """Colors in a fixed order: groups first, then baselines, the same in every figure."""
    return itertools.cycle(COLORS)


def _group_label(group: AgentGroup) -> str:
    """``ppo-moderate (mean of 3 seeds)``, ``ppo-moderate (1 seed)``, ``ppo-moderate-ensemble (an
    ensemble of 3 seeds)``, ``momentum (your policy)``."""
    if len(group.runs) > 1:
        return f"{group.name} (mean of {group.seeds})"
    return f"{group.name} ({group.seeds})"


def log_ticks(low: float, high: float) -> list[float]:
    """Round values from ``low`` to ``high`` (both > 0) to label a log axis with: the densest steps of
    :data:`LOG_STEPS` that give at most :data:`MAX_LOG_LABELS` (0.5, 0.7, 1, 1.5, 2, 3), and where even
    the densest give fewer than :data:`MIN_LOG_LABELS`, evenly spaced round values (0.9, 0.95, 1, 1.05)."""
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    for steps in LOG_STEPS:
        ticks = [step * 10.0**decade for decade in decades for step in steps]
        ticks = [t for t in ticks if low <= t <= high]
        if len(ticks) <= MAX_LOG_LABELS:
            break
    else:  # more than MAX_LOG_LABELS decades: every k-th decade
        ticks = ticks[:: -(-len(ticks) // MAX_LOG_LABELS)]
    if len(ticks) < MIN_LOG_LABELS:
        evenly = matplotlib.ticker.MaxNLocator(nbins=7, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)
        ticks = [float(t) for t in evenly if low <= t <= high]
    return ticks


def label_log_axis(axis: matplotlib.axis.Axis) -> None:
    """Label an axis already on a log scale at :func:`log_ticks` of its range, in plain numbers (0.9,
    not 9x10^-1); no minor ticks. Call it once the axis's range is set."""
    low, high = sorted(axis.get_view_interval())
    axis.set_major_locator(matplotlib.ticker.FixedLocator(log_ticks(low, high)))
    axis.set_minor_locator(matplotlib.ticker.NullLocator())
    axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}"))


def log_value_axis(ax: plt.Axes) -> None:
    """Put the y axis of values on a log scale, labelled by :func:`label_log_axis`."""
    ax.set_yscale("log")
    label_log_axis(ax.yaxis)


def _lines(ax: plt.Axes, evaluation: Evaluation, series: Callable[[str], np.ndarray]) -> None:
    """Each group's mean over seeds of ``series`` (per policy name) with its seed band, then above them
    the featured baselines, dashed: the ones the groups are compared with black and on top, each in its
    own dashes; the reference dotted black."""
    stamps = next(iter(evaluation.results.values())).timestamps
    colors = _colors()
    for group in evaluation.groups:
        color = next(colors)
        mean, low, high = seed_band([series(run) for run in group.runs])
        ax.fill_between(stamps, low, high, color=color, alpha=0.25, linewidth=0)
        ax.plot(stamps, mean, color=color, lw=1.6, label=_group_label(group))
    compared = list(dict.fromkeys(group.profile for group in evaluation.groups))
    for name in featured_baselines(evaluation):
        if name in compared:  # what the agents are compared with: above them, never hidden
            style = RULE_STYLES[compared.index(name) % len(RULE_STYLES)]
            ax.plot(stamps, series(name), lw=1.8, ls=style, color="black", label=name, zorder=RULE_ZORDER)
        elif name == evaluation.reference:
            ax.plot(stamps, series(name), lw=1.2, ls=":", color="black", label=name, zorder=BASELINE_ZORDER)
        else:
            color = next(colors)
            ax.plot(stamps, series(name), lw=1.4, ls="--", color=color, label=name, zorder=BASELINE_ZORDER)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), handlelength=3.5)
    ax.grid(alpha=0.3)


def _growth(evaluation: Evaluation, name: str) -> np.ndarray:
    values = evaluation.results[name].values
    return values / values[0]


def equity(evaluation: Evaluation, out: Path) -> str:
    figure, ax = plt.subplots(figsize=(10, 4.5))
    _lines(ax, evaluation, lambda name: _growth(evaluation, name))
    log_value_axis(ax)
    ax.set_ylabel("value, from 1 (log scale)")
    return _save(figure, out, "equity.png")


def drawdowns(evaluation: Evaluation, out: Path) -> str:
    figure, ax = plt.subplots(figsize=(10, 3.5))
    _lines(ax, evaluation, lambda name: -evaluation.results[name].drawdowns)
    ax.set_ylabel("drawdown")
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    return _save(figure, out, "drawdowns.png")


def excess(evaluation: Evaluation, out: Path) -> str:
    figure, ax = plt.subplots(figsize=(10, 3.5))
    stamps = next(iter(evaluation.results.values())).timestamps
    for group, color in zip(evaluation.groups, _colors(), strict=False):
        baseline = _growth(evaluation, group.profile)
        mean, low, high = seed_band([_growth(evaluation, run) / baseline - 1.0 for run in group.runs])
        ax.fill_between(stamps, low, high, color=color, alpha=0.25, linewidth=0)
        ax.plot(stamps, mean, color=color, lw=1.6, label=f"{_group_label(group)} vs {group.profile}")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_ylabel("agent / baseline value - 1")
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.grid(alpha=0.3)
    return _save(figure, out, "excess.png")


def weights(evaluation: Evaluation, out: Path) -> str:
    """Weights after trading over time, stacked: one panel per agent group (the mean over its seeds),
    then one per baseline the groups are compared with, each once; without agents, the first rule.
    Two panels a row, 2.6 inches a row."""
    panels = [(_group_label(group), group.runs) for group in evaluation.groups]
    rules = list(dict.fromkeys(group.profile for group in evaluation.groups)) or evaluation.rules[:1]
    panels += [(label(name), [name]) for name in rules]
    rows = -(-len(panels) // 2)
    height = 2.6 * rows + 0.4  # and 0.4 inches for the legend above
    figure, axes = plt.subplots(rows, 2, figsize=(12, height), squeeze=False, sharex=True)
    symbols = evaluation.market.symbols
    colors = [COLORS[k % len(COLORS)] for k in range(len(symbols))]  # none so light it looks blank
    stamps = next(iter(evaluation.results.values())).timestamps
    for k, ax in enumerate(axes.flat):
        if k >= len(panels):
            ax.axis("off")
            continue
        title, names = panels[k]
        mean = np.mean([evaluation.results[name].weights_after for name in names], axis=0)
        ax.stackplot(stamps, mean.T, labels=symbols, colors=colors, linewidth=0)
        ax.set_title(title, fontsize=9)
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.tick_params(labelsize=7)
    handles, names = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, names, fontsize=7, loc="upper center", ncol=min(len(symbols), 10))
    return _save(figure, out, "weights.png", top=1.0 - 0.4 / height)


def rolling_sharpe(evaluation: Evaluation, out: Path) -> str:
    def rolling(name: str) -> np.ndarray:
        result = evaluation.results[name]
        returns = pd.Series(result.values).pct_change()
        window = max(2, round(60 * result.periods_per_year / 365))
        mean, spread = returns.rolling(window).mean(), returns.rolling(window).std()
        return (mean / spread * np.sqrt(result.periods_per_year)).to_numpy()

    figure, ax = plt.subplots(figsize=(10, 3.5))
    _lines(ax, evaluation, rolling)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_ylabel("60-day Sharpe")
    return _save(figure, out, "rolling_sharpe.png")


def turnover_fees(evaluation: Evaluation, out: Path) -> str:
    table = evaluation.metrics.rename(index=label)
    figure, axes = plt.subplots(1, 2, figsize=(11, 0.3 * len(table) + 1.5), sharey=True)
    columns = (("turnover", 1.0, "tab:blue"), ("fees", 100.0, "tab:red"))
    for ax, (column, scale, color) in zip(axes, columns, strict=True):
        numbers = table[column].to_numpy(dtype=np.float64) * scale
        positive = numbers[numbers > 0]
        edge = positive.min() / 3 if len(positive) else 0.01
        ax.barh(table.index, np.where(numbers > 0, numbers - edge, np.nan), left=edge, color=color)
        ax.set_xscale("log")
        ax.set_xlim(edge, (positive.max() if len(positive) else 1.0) * 8)
        label_log_axis(ax.xaxis)
        for row, number in enumerate(numbers):
            ax.text(max(number, edge), row, f" {number:.3g}", va="center", fontsize=6)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3, axis="x")
    axes[0].invert_yaxis()
    axes[0].set_xlabel("turnover per year: value bought plus sold / value, log scale")
    axes[1].set_xlabel("fees, % of the initial value, log scale")
    return _save(figure, out, "turnover_fees.png")


def text_color(rgba: Sequence[float] | np.ndarray) -> str:
    """``white`` on a dark cell, ``black`` on a light one, by the cell's relative luminance (Rec. 709)."""
    red, green, blue = rgba[:3]
    return "white" if 0.2126 * red + 0.7152 * green + 0.0722 * blue < 0.5 else "black"


def correlations(evaluation: Evaluation, out: Path) -> str:
    matrix = diagnostics.correlation(evaluation.market, evaluation.bars)
    figure, ax = plt.subplots(figsize=(1 + 0.55 * len(matrix), 0.5 + 0.5 * len(matrix)))
    image = ax.imshow(matrix.to_numpy(), vmin=-1, vmax=1, cmap="RdBu_r")
    cells = image.to_rgba(matrix.to_numpy())  # (N, N, 4) the colour of each cell
    ax.set_xticks(range(len(matrix)), matrix.columns, rotation=90, fontsize=7)
    ax.set_yticks(range(len(matrix)), matrix.index, fontsize=7)
    for i in range(len(matrix)):
        for j in range(len(matrix)):
            value = float(matrix.to_numpy()[i, j])
            if np.isfinite(value):
                ax.text(
                    j, i, f"{value:.2f}", ha="center", va="center", fontsize=6, color=text_color(cells[i, j])
                )
    figure.colorbar(image, ax=ax, fraction=0.046)
    return _save(figure, out, "correlation.png")
