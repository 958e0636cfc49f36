"""The report's figures (matplotlib, saved as PNG in the report folder).

Curves draw each agent group as the mean over its seeds of the plotted quantity, with a band
from its lowest to its highest seed, beside the featured baselines; every figure takes its
colours in the same order. Each function draws one figure into the folder and returns its file name.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cryptofolio.evaluation import diagnostics
from cryptofolio.evaluation.results import AgentGroup, Evaluation
from cryptofolio.evaluation.tables import label

CONTEXT = ("btc_only", "equal_weight")  # baselines drawn beside the agents for scale
RULE_ZORDER = 3  # the baseline the agents are compared with is drawn above their lines (2) and bands (1)
COLORS = (*matplotlib.color_sequences["tab10"], *matplotlib.color_sequences["Dark2"])


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
    """``ppo-moderate (mean of 3 seeds)``, ``ppo-moderate-ensemble (an ensemble of 3 seeds)``."""
    if group.ensemble_of or group.own:
        return f"{group.name} ({group.seeds})"
    return f"{group.name} (mean of {group.seeds})"


def log_value_axis(ax: plt.Axes) -> None:
    """Put the y axis on a log scale labelled in plain numbers, with at least three labels on any
    range: round values evenly spaced within a decade (0.9, 1, 1.1, 1.2), 1-2-5 steps beyond."""
    ax.set_yscale("log")
    low, high = ax.get_ylim()
    if high / low < 10.0:
        ticks = matplotlib.ticker.MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)
        ax.yaxis.set_major_locator(matplotlib.ticker.FixedLocator([t for t in ticks if low <= t <= high]))
    else:
        ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda y, _: f"{y:g}"))


def _lines(ax: plt.Axes, evaluation: Evaluation, series: Callable[[str], np.ndarray]) -> None:
    """Each group's mean over seeds of ``series`` (per policy name) with its seed band, then the
    featured baselines: dashed, the reference dotted black."""
    stamps = next(iter(evaluation.results.values())).timestamps
    colors = _colors()
    for group in evaluation.groups:
        color = next(colors)
        mean, low, high = seed_band([series(run) for run in group.runs])
        ax.fill_between(stamps, low, high, color=color, alpha=0.25, linewidth=0)
        ax.plot(stamps, mean, color=color, lw=1.6, label=_group_label(group))
    profiles = {group.profile for group in evaluation.groups}
    for name in featured_baselines(evaluation):
        if name == evaluation.reference:
            ax.plot(stamps, series(name), lw=1.2, ls=":", color="black", label=name, zorder=RULE_ZORDER)
        elif name in profiles:  # what the agents are compared with: above them, never hidden
            ax.plot(stamps, series(name), lw=1.8, ls="--", color="black", label=name, zorder=RULE_ZORDER)
        else:
            ax.plot(stamps, series(name), lw=1.4, ls="--", color=next(colors), label=name)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
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
    """Weights after trading over time: one panel per agent group (the mean over its seeds), then
    one per baseline the groups are compared with (each once); without agents, the first rule."""
    panels = [(_group_label(group), group.runs) for group in evaluation.groups]
    rules = list(dict.fromkeys(group.profile for group in evaluation.groups)) or evaluation.rules[:1]
    panels += [(label(name), [name]) for name in rules]
    rows = -(-len(panels) // 2)
    figure, axes = plt.subplots(rows, 2, figsize=(12, 2.6 * rows + 0.6), squeeze=False, sharex=True)
    symbols = evaluation.market.symbols
    colors = plt.get_cmap("tab20")(np.linspace(0, 1, len(symbols)))
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
    return _save(figure, out, "weights.png", top=1.0 - 0.5 / (2.6 * rows + 0.6))


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
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"{x:g}"))
        ax.set_xlim(edge, (positive.max() if len(positive) else 1.0) * 8)
        for row, number in enumerate(numbers):
            ax.text(max(number, edge), row, f" {number:.3g}", va="center", fontsize=6)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3, axis="x")
    axes[0].invert_yaxis()
    axes[0].set_xlabel("turnover per year, log scale (1 = the whole value traded once)")
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
